"""server-side sessions: the cookie carries a random token, this table the session (keyed by the token's SHA-256)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_web_sessions_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade():
    op.drop_table('web_sessions')
