"""service definitions: what a licence carries, renewal-only materials, written supplement answers, a sent draft's
case, registered enterprises' addresses, agencies' credit codes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('uscc', sa.String(length=18), nullable=True))
    with op.batch_alter_table('material_items') as batch:
        batch.add_column(sa.Column('renewal_only', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('matters') as batch:
        batch.add_column(sa.Column('legal_basis_zh_hant', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('licences') as batch:
        # The licence's lines (label and value in three languages) and its scope in three languages, as issued.
        batch.add_column(sa.Column('details', sa.JSON(), nullable=True))
        # The approving clerk's conditions (附加条件), printed only when there are any.
        batch.add_column(sa.Column('conditions', sa.Text(), nullable=True))
        # What makes two licences of a type the same thing for one holder (the premises' address), so that a second
        # one supersedes the first instead of both being valid.
        batch.add_column(sa.Column('subject_key', sa.String(length=200), nullable=True))
        batch.create_index('ix_licences_licence_type_id_subject_key', ['licence_type_id', 'subject_key'])
    with op.batch_alter_table('applications') as batch:
        # The draft this case was sent from: the draft row is deleted, and its old addresses lead to the case.
        batch.add_column(sa.Column('source_draft_id', sa.Integer(), nullable=True))
        batch.create_index('ix_applications_source_draft_id', ['source_draft_id'])
        # The enterprise the case founded (start a business); the case itself stays the founder's.
        batch.add_column(sa.Column('registered_enterprise_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_applications_registered_enterprise_id_enterprises', 'enterprises',
                                 ['registered_enterprise_id'], ['id'])
    with op.batch_alter_table('wf_requests') as batch:
        # The applicant's written answers to the items of a supplement notice that ask a question.
        batch.add_column(sa.Column('response', sa.JSON(), nullable=True))
    with op.batch_alter_table('enterprises') as batch:
        batch.add_column(sa.Column('address', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('enterprises') as batch:
        batch.drop_column('address')
    with op.batch_alter_table('wf_requests') as batch:
        batch.drop_column('response')
    with op.batch_alter_table('applications') as batch:
        batch.drop_constraint('fk_applications_registered_enterprise_id_enterprises', type_='foreignkey')
        batch.drop_column('registered_enterprise_id')
        batch.drop_index('ix_applications_source_draft_id')
        batch.drop_column('source_draft_id')
    with op.batch_alter_table('licences') as batch:
        batch.drop_index('ix_licences_licence_type_id_subject_key')
        batch.drop_column('subject_key')
        batch.drop_column('conditions')
        batch.drop_column('details')
    with op.batch_alter_table('matters') as batch:
        batch.drop_column('legal_basis_zh_hant')
    with op.batch_alter_table('material_items') as batch:
        batch.drop_column('renewal_only')
    with op.batch_alter_table('agencies') as batch:
        batch.drop_column('uscc')
