"""applying online: drafts, several files per material, e-licences as materials

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 16:50:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'eligibility_questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bundle_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('question_zh', sa.String(length=300), nullable=False),
        sa.Column('question_zh_hant', sa.String(length=300), nullable=False),
        sa.Column('question_en', sa.String(length=400), nullable=False),
        sa.Column('hint_zh', sa.Text(), nullable=False),
        sa.Column('hint_zh_hant', sa.Text(), nullable=False),
        sa.Column('hint_en', sa.Text(), nullable=False),
        sa.Column('eligible_answer', sa.String(length=3), nullable=False),
        sa.Column('reason_zh', sa.Text(), nullable=False),
        sa.Column('reason_zh_hant', sa.Text(), nullable=False),
        sa.Column('reason_en', sa.Text(), nullable=False),
        sa.Column('advice_zh', sa.Text(), nullable=False),
        sa.Column('advice_zh_hant', sa.Text(), nullable=False),
        sa.Column('advice_en', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_eligibility_questions_bundle_id_bundles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_questions')),
        sa.UniqueConstraint('bundle_id', 'code', name=op.f('uq_eligibility_questions_bundle_id_code')),
    )
    op.create_table(
        'material_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bundle_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('title_zh', sa.String(length=200), nullable=False),
        sa.Column('title_zh_hant', sa.String(length=200), nullable=False),
        sa.Column('title_en', sa.String(length=250), nullable=False),
        sa.Column('hint_zh', sa.Text(), nullable=False),
        sa.Column('hint_zh_hant', sa.Text(), nullable=False),
        sa.Column('hint_en', sa.Text(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('max_files', sa.Integer(), nullable=False),
        sa.Column('accepts_licence_type_id', sa.Integer(), nullable=True),
        sa.Column('applies_when', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['accepts_licence_type_id'], ['licence_types.id'],
                                name=op.f('fk_material_items_accepts_licence_type_id_licence_types')),
        sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_material_items_bundle_id_bundles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_material_items')),
        sa.UniqueConstraint('bundle_id', 'code', name=op.f('uq_material_items_bundle_id_code')),
    )
    op.create_table(
        'application_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('applicant_id', sa.Integer(), nullable=False),
        sa.Column('bundle_id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=True),
        sa.Column('renews_licence_id', sa.Integer(), nullable=True),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('completed', sa.JSON(), nullable=False),
        sa.Column('submission_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', services.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['applicant_id'], ['accounts.id'],
                                name=op.f('fk_application_drafts_applicant_id_accounts')),
        sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_application_drafts_bundle_id_bundles')),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'],
                                name=op.f('fk_application_drafts_enterprise_id_enterprises')),
        sa.ForeignKeyConstraint(['renews_licence_id'], ['licences.id'],
                                name=op.f('fk_application_drafts_renews_licence_id_licences')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_application_drafts')),
        sa.UniqueConstraint('applicant_id', 'bundle_id', name=op.f('uq_application_drafts_applicant_id_bundle_id')),
        sa.UniqueConstraint('submission_token', name=op.f('uq_application_drafts_submission_token')),
    )
    with op.batch_alter_table('application_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_drafts_bundle_id'), ['bundle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_drafts_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_drafts_renews_licence_id'), ['renews_licence_id'],
                              unique=False)

    # Existing materials are all uploaded files of submitted cases, so both checks hold for every row. On
    # PostgreSQL the new columns are nullable without a default and dropping NOT NULL is a catalogue change: no
    # table rewrite, however many materials there are; only the two indexes and the checks read the table.
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('licence_id', sa.Integer(), nullable=True))
        batch_op.alter_column('application_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('filename', existing_type=sa.String(length=255), nullable=True)
        batch_op.alter_column('content_type', existing_type=sa.String(length=60), nullable=True)
        batch_op.alter_column('size', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('storage_key', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_index(batch_op.f('ix_materials_draft_id'), ['draft_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_licence_id'), ['licence_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_materials_draft_id_application_drafts'), 'application_drafts',
                                    ['draft_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_materials_licence_id_licences'), 'licences', ['licence_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_materials_file_or_licence'),
                                         'storage_key IS NOT NULL OR licence_id IS NOT NULL')
        batch_op.create_check_constraint(op.f('ck_materials_case_or_draft'),
                                         'application_id IS NOT NULL OR draft_id IS NOT NULL')


def downgrade():
    # Drafts and e-licence materials have no place in the old schema: they go before the columns do.
    op.execute("DELETE FROM materials WHERE application_id IS NULL OR storage_key IS NULL")
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_materials_case_or_draft'), type_='check')
        batch_op.drop_constraint(op.f('ck_materials_file_or_licence'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_materials_licence_id_licences'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_materials_draft_id_application_drafts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_materials_licence_id'))
        batch_op.drop_index(batch_op.f('ix_materials_draft_id'))
        batch_op.alter_column('storage_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('size', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('content_type', existing_type=sa.String(length=60), nullable=False)
        batch_op.alter_column('filename', existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column('application_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('licence_id')
        batch_op.drop_column('draft_id')
    with op.batch_alter_table('application_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_drafts_renews_licence_id'))
        batch_op.drop_index(batch_op.f('ix_application_drafts_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_application_drafts_bundle_id'))
    op.drop_table('application_drafts')
    op.drop_table('material_items')
    op.drop_table('eligibility_questions')
