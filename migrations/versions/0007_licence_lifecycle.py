"""licence lifecycle: status history, share links, renewals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 16:50:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATUS = sa.Enum('valid', 'suspended', 'revoked', 'expired', 'superseded', name='licencestatus', native_enum=False,
                 length=20)


def upgrade():
    # Every new column is nullable with no default: adding them rewrites nothing on a large PostgreSQL table.
    # (On SQLite the batch recreates the licences table, which nothing referenced before this revision.)
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.alter_column('branch_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('supersedes_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('renewal_reminder_sent_at', services.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_licences_supersedes_id'), ['supersedes_id'])
        batch_op.create_foreign_key(batch_op.f('fk_licences_supersedes_id_licences'), 'licences',
                                    ['supersedes_id'], ['id'])
        batch_op.create_index('ix_licences_status_valid_until', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_licences_agency_id_issued_at', ['agency_id', 'issued_at'], unique=False)

    op.create_table(
        'licence_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('licence_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.Enum('issue', 'suspend', 'reinstate', 'revoke', 'expire', 'supersede', 'amend',
                                    name='licenceaction', native_enum=False, length=20), nullable=False),
        sa.Column('from_status', STATUS, nullable=True),
        sa.Column('to_status', STATUS, nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('command_id', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], name=op.f('fk_licence_events_actor_id_accounts')),
        sa.ForeignKeyConstraint(['licence_id'], ['licences.id'], name=op.f('fk_licence_events_licence_id_licences')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_events')),
        sa.UniqueConstraint('command_id', name=op.f('uq_licence_events_command_id')),
    )
    op.create_index(op.f('ix_licence_events_licence_id'), 'licence_events', ['licence_id'], unique=False)

    op.create_table(
        'licence_share_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('licence_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('command_id', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=100), nullable=False),
        sa.Column('created_at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', services.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['accounts.id'],
                                name=op.f('fk_licence_share_links_created_by_id_accounts')),
        sa.ForeignKeyConstraint(['licence_id'], ['licences.id'],
                                name=op.f('fk_licence_share_links_licence_id_licences')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_share_links')),
        sa.UniqueConstraint('command_id', name=op.f('uq_licence_share_links_command_id')),
        sa.UniqueConstraint('token_sha256', name=op.f('uq_licence_share_links_token_sha256')),
    )
    op.create_index(op.f('ix_licence_share_links_created_by_id'), 'licence_share_links', ['created_by_id'],
                    unique=False)
    op.create_index(op.f('ix_licence_share_links_licence_id'), 'licence_share_links', ['licence_id'], unique=False)

    op.create_table(
        'licence_share_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('client', sa.String(length=80), nullable=False),
        sa.Column('network', sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(['link_id'], ['licence_share_links.id'],
                                name=op.f('fk_licence_share_uses_link_id_licence_share_links')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_share_uses')),
    )
    op.create_index(op.f('ix_licence_share_uses_link_id'), 'licence_share_uses', ['link_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its REFERENCES clause in place; recreating `applications` (which other tables
        # reference) is what a batch would otherwise do.
        op.execute('ALTER TABLE applications ADD COLUMN renews_licence_id INTEGER '
                   'CONSTRAINT fk_applications_renews_licence_id_licences REFERENCES licences (id)')
    else:
        op.add_column('applications', sa.Column('renews_licence_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_applications_renews_licence_id_licences'), 'applications', 'licences',
                              ['renews_licence_id'], ['id'])
    op.create_index(op.f('ix_applications_renews_licence_id'), 'applications', ['renews_licence_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_applications_renews_licence_id'), table_name='applications')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE applications DROP COLUMN renews_licence_id')
    else:
        op.drop_constraint(op.f('fk_applications_renews_licence_id_licences'), 'applications', type_='foreignkey')
        op.drop_column('applications', 'renews_licence_id')
    op.drop_index(op.f('ix_licence_share_uses_link_id'), table_name='licence_share_uses')
    op.drop_table('licence_share_uses')
    op.drop_index(op.f('ix_licence_share_links_licence_id'), table_name='licence_share_links')
    op.drop_index(op.f('ix_licence_share_links_created_by_id'), table_name='licence_share_links')
    op.drop_table('licence_share_links')
    op.drop_index(op.f('ix_licence_events_licence_id'), table_name='licence_events')
    op.drop_table('licence_events')
    # Amended versions have no branch: they go with the column's NOT NULL.
    op.execute('UPDATE licences SET supersedes_id = NULL')
    op.execute('DELETE FROM licences WHERE branch_id IS NULL')
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.drop_index('ix_licences_agency_id_issued_at')
        batch_op.drop_index('ix_licences_status_valid_until')
        batch_op.drop_constraint(batch_op.f('fk_licences_supersedes_id_licences'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_licences_supersedes_id'), type_='unique')
        batch_op.drop_column('renewal_reminder_sent_at')
        batch_op.drop_column('key_id')
        batch_op.drop_column('supersedes_id')
        batch_op.alter_column('branch_id', existing_type=sa.Integer(), nullable=False)
