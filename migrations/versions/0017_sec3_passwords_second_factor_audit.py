"""passwords set and reset by e-mailed link, staff second factor (TOTP and recovery codes), and the audit trail
(hash-chained rows, its head, the hub's signed daily roots)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:00:00
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('at', services.db.UTCDateTime(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('application_id', sa.Integer(), nullable=True),
        sa.Column('licence_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('row_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
        sa.UniqueConstraint('seq', name=op.f('uq_audit_entries_seq')),
    )
    op.create_index('ix_audit_entries_subject_seq', 'audit_entries', ['subject_id', 'seq'])
    op.create_index('ix_audit_entries_day_seq', 'audit_entries', ['day', 'seq'])
    head = op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head')),
    )
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table(
        'audit_roots',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('first_seq', sa.Integer(), nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('merkle_root', sa.String(length=64), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.Text(), nullable=False),
        sa.Column('signed_at', services.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_audit_roots')),
    )
    op.create_table(
        'password_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('salt', sa.String(length=32), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('expires_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('used_at', services.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_password_tokens_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_password_tokens_token_hash')),
    )
    op.create_index('ix_password_tokens_account_id', 'password_tokens', ['account_id'])
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', services.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_recovery_codes_account_id_accounts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    )
    op.create_index('ix_recovery_codes_account_id', 'recovery_codes', ['account_id'])
    with op.batch_alter_table('accounts') as batch:
        # The TOTP secret (base32) once enrolment is confirmed; the pending one lives in the enrolment form only.
        batch.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        # The last time step accepted, so that one code cannot be used twice.
        batch.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.create_table(
        'mail_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        # A password link is not stored: the body holds {link}, which the sending job rebuilds from this token's
        # salt and the app's secret key (services.identity.passwords.link_token).
        sa.Column('password_token_id', sa.Integer(), nullable=True),
        sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
        sa.Column('sent_at', services.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_messages')),
    )


def downgrade():
    op.drop_table('mail_messages')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_secret')
    op.drop_index('ix_recovery_codes_account_id', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index('ix_password_tokens_account_id', table_name='password_tokens')
    op.drop_table('password_tokens')
    op.drop_table('audit_roots')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_entries_day_seq', table_name='audit_entries')
    op.drop_index('ix_audit_entries_subject_seq', table_name='audit_entries')
    op.drop_table('audit_entries')
