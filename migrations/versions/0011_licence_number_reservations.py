"""licence number reservations: a branch's licence number taken before the job renders it

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 18:20:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'licence_number_reservations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('reserved_at', services.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['branch_id'], ['wf_branches.id'], name=op.f('fk_licence_number_reservations_branch_id_wf_branches'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_number_reservations')),
        sa.UniqueConstraint('branch_id', name=op.f('uq_licence_number_reservations_branch_id')),
        sa.UniqueConstraint('number', name=op.f('uq_licence_number_reservations_number')),
    )


def downgrade():
    op.drop_table('licence_number_reservations')
