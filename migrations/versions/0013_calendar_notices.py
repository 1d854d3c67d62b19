"""calendar notices: the State Council holiday notices loaded, and the one the deadlines were recounted for

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 02:00:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'wf_calendar_notices',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('holidays', sa.JSON(), nullable=False),
        sa.Column('workdays', sa.JSON(), nullable=False),
        sa.Column('loaded_at', services.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_wf_calendar_notices')),
    )


def downgrade():
    op.drop_table('wf_calendar_notices')
