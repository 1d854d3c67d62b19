"""engine write footprint: indexes and a table that every task completion wrote and no page read

- wf_handling_tallies: superseded by branch_tallies (0008), which the supervision figures read; it was still
  upserted on every decision.
- ix_wf_branches_agency_state_due, ix_wf_branches_agency_handling: the figures they served come from the tallies;
  the queue's partial indexes (0008) serve the pages.
- ix_wf_timers_pending: only pending timers, by (due_on, id), the sweep's order.
- ix_wf_tasks_open_assignee: only claimed open tasks ("mine" always names the clerk); ix_wf_tasks_assignee_id,
  over every task, had no reader.
- ix_wf_timers_branch_id: a branch's timers are found through their instance (instance and branch in the UPDATE).
- wf_instances.revision: bumped by every command, read by nothing (the event log counts the commands; the instance
  row lock, not this column, serialises commands).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 20:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PENDING = "fired_at IS NULL AND cancelled_at IS NULL"
CLAIMED_OPEN = "state = 'OPEN' AND assignee_id IS NOT NULL"


def _partial(name, table, columns, where):
    op.create_index(name, table, columns, unique=False,
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade():
    op.drop_table('wf_handling_tallies')
    op.drop_index('ix_wf_branches_agency_state_due', table_name='wf_branches')
    op.drop_index('ix_wf_branches_agency_handling', table_name='wf_branches')
    op.drop_index('ix_wf_timers_pending', table_name='wf_timers')
    _partial('ix_wf_timers_pending', 'wf_timers', ['due_on', 'id'], PENDING)
    op.drop_index('ix_wf_tasks_open_assignee', table_name='wf_tasks')
    _partial('ix_wf_tasks_open_assignee', 'wf_tasks', ['assignee_id', 'agency_code', 'due_on', 'id'], CLAIMED_OPEN)
    op.drop_index('ix_wf_tasks_assignee_id', table_name='wf_tasks')
    op.drop_index('ix_wf_timers_branch_id', table_name='wf_timers')
    with op.batch_alter_table('wf_instances', schema=None) as batch_op:
        batch_op.drop_column('revision')


def downgrade():
    with op.batch_alter_table('wf_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_wf_timers_branch_id', 'wf_timers', ['branch_id'], unique=False)
    op.create_index('ix_wf_tasks_assignee_id', 'wf_tasks', ['assignee_id'], unique=False)
    op.drop_index('ix_wf_tasks_open_assignee', table_name='wf_tasks')
    _partial('ix_wf_tasks_open_assignee', 'wf_tasks', ['assignee_id', 'agency_code', 'due_on', 'id'],
             "state = 'OPEN'")
    op.drop_index('ix_wf_timers_pending', table_name='wf_timers')
    op.create_index('ix_wf_timers_pending', 'wf_timers', ['fired_at', 'cancelled_at', 'due_on'], unique=False)
    op.create_index('ix_wf_branches_agency_handling', 'wf_branches', ['agency_code', 'handling_days'], unique=False)
    op.create_index('ix_wf_branches_agency_state_due', 'wf_branches', ['agency_code', 'state', 'due_on'],
                    unique=False)
    op.create_table('wf_handling_tallies',
                    sa.Column('agency_code', sa.String(length=20), nullable=False),
                    sa.Column('handling_days', sa.Integer(), nullable=False),
                    sa.Column('decided', sa.Integer(), nullable=False),
                    sa.Column('on_time', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('agency_code', 'handling_days', name=op.f('pk_wf_handling_tallies')))
    op.execute("INSERT INTO wf_handling_tallies (agency_code, handling_days, decided, on_time) "
               "SELECT agency_code, handling_days, count(*), sum(CASE WHEN on_time THEN 1 ELSE 0 END) "
               "FROM wf_branches WHERE handling_days IS NOT NULL GROUP BY agency_code, handling_days")
