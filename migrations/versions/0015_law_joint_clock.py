"""law: the joint limit's own clock (stopped while any branch waits for the applicant or an expert)

Art. 45 of the Administrative Licensing Law keeps expert review, hearings, testing and inspection out of the time
limits, and the hub keeps the applicant's supplement time out too. The joint limit of a parallel approval (art. 42(2))
is stopped while at least one branch's clock is stopped: ``joint_paused_on`` is the day the first of them stopped,
so overlapping waits move the joint limit by their union, not their sum.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('wf_instances') as batch:
        batch.add_column(sa.Column('joint_paused_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('wf_instances') as batch:
        batch.drop_column('joint_paused_on')
