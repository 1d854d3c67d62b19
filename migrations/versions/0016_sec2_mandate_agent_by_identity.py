"""mandates name their agent by name and identity number: a mandate to someone without an account (yet) is kept,
so the form never tells whether an account exists

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mandates') as batch:
        batch.add_column(sa.Column('agent_id_number', sa.String(length=18), nullable=True))
        batch.add_column(sa.Column('agent_name', sa.String(length=100), nullable=True))
        batch.alter_column('agent_id', existing_type=sa.Integer(), nullable=True)
        batch.create_index('ix_mandates_agent_id_number', ['agent_id_number'])
    # Mandates granted before name the agent's account: copy its name and number.
    op.execute("UPDATE mandates SET agent_id_number = (SELECT id_number FROM accounts WHERE accounts.id = "
               "mandates.agent_id), agent_name = (SELECT name FROM accounts WHERE accounts.id = mandates.agent_id) "
               "WHERE agent_id IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM mandates WHERE agent_id IS NULL")
    with op.batch_alter_table('mandates') as batch:
        batch.drop_index('ix_mandates_agent_id_number')
        batch.alter_column('agent_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('agent_name')
        batch.drop_column('agent_id_number')
