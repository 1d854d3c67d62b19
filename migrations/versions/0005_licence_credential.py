"""licence credential and status reason

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Both nullable: licences issued before this migration have no credential and no reason; nothing to backfill.
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_jws', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.drop_column('status_reason')
        batch_op.drop_column('credential_jws')
