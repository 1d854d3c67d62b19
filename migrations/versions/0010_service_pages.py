"""service pages: mandates, ratings and follow-ups, page indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 16:50:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mandates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=False),
    sa.Column('all_services', sa.Boolean(), nullable=False),
    sa.Column('bundle_codes', sa.JSON(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('granted_at', services.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', services.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['accounts.id'], name=op.f('fk_mandates_agent_id_accounts')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_mandates_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['granted_by'], ['accounts.id'], name=op.f('fk_mandates_granted_by_accounts')),
    sa.ForeignKeyConstraint(['revoked_by'], ['accounts.id'], name=op.f('fk_mandates_revoked_by_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates'))
    )
    with op.batch_alter_table('mandates', schema=None) as batch_op:
        batch_op.create_index('ix_mandates_agent_enterprise', ['agent_id', 'enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mandates_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_ratings_score_range')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_ratings_account_id_accounts')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                            name=op.f('fk_ratings_application_id_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('application_id', name=op.f('uq_ratings_application_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratings_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_ratings_score_at', ['score', 'created_at'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Enum('OPEN', 'CLOSED', name='followupstate', native_enum=False, length=20),
              nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', services.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by'], ['accounts.id'], name=op.f('fk_follow_ups_closed_by_accounts')),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_follow_ups_rating_id_ratings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_agency_state', ['agency_code', 'state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_rating_id'), ['rating_id'], unique=False)
        batch_op.create_index('ix_follow_ups_state', ['state', 'id'], unique=False)

    op.create_table('follow_up_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_up_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=True),
    sa.Column('at', services.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['accounts.id'], name=op.f('fk_follow_up_actions_author_id_accounts')),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'],
                            name=op.f('fk_follow_up_actions_follow_up_id_follow_ups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_actions')),
    sa.UniqueConstraint('command_id', name=op.f('uq_follow_up_actions_command_id'))
    )
    with op.batch_alter_table('follow_up_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_actions_follow_up_id'), ['follow_up_id'], unique=False)

    op.create_table('next_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('licence_type_code', sa.String(length=40), nullable=False),
    sa.Column('bundle_code', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_next_steps_bundle_id_bundles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_next_steps')),
    sa.UniqueConstraint('licence_type_code', 'bundle_code', name=op.f('uq_next_steps_licence_type_code_bundle_code'))
    )
    with op.batch_alter_table('next_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_next_steps_licence_type_code'), ['licence_type_code'], unique=False)


def downgrade():
    op.drop_table('next_steps')
    op.drop_table('follow_up_actions')
    op.drop_table('follow_ups')
    op.drop_table('ratings')
    op.drop_table('mandates')
