"""service pages: mandates, ratings and follow-ups, page indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 16:50:00
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import services.db  # noqa: F401

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
