"""clerk workbench: leads, comments between agencies, queue and dashboard indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:50:00

The queue tabs and the supervision figures are kept by triggers as +1/-1 rows (see services/applications/tallies.py
for why); the triggers are created before the tallies are filled, in the same transaction, so no change is missed.
The page indexes are built last, on PostgreSQL with CREATE INDEX CONCURRENTLY outside the transaction, so that a
database with millions of tasks keeps serving while they are built.
"""
import sqlalchemy as sa
from alembic import op

import services.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OPEN_SUPPLEMENT = "kind = 'SUPPLEMENT' AND state = 'OPEN'"


def _bucket(row: str, branch_state: str, waiting: str) -> str:
    """The queue bucket of task ``row`` (NEW or OLD) given its branch's state and whether a supplement is open."""
    ready = f"CASE WHEN {row}.assignee_id IS NULL THEN 'free' ELSE 'held' END"
    return (f"CASE WHEN {row}.state <> 'OPEN' THEN NULL "
            f"WHEN {row}.branch_id IS NULL THEN CASE WHEN {waiting} THEN 'waiting' ELSE {ready} END "
            f"WHEN {branch_state} = 'ACTIVE' THEN {ready} "
            f"WHEN {branch_state} = 'WAITING_APPLICANT' THEN 'waiting' "
            f"WHEN {branch_state} = 'PAUSED' THEN 'paused' END")


def _task_row(row: str, sign: int) -> str:
    bucket = _bucket(row, f"(SELECT state FROM wf_branches WHERE id = {row}.branch_id)",
                     f"EXISTS (SELECT 1 FROM wf_requests WHERE task_id = {row}.id AND {OPEN_SUPPLEMENT})")
    return (f"INSERT INTO queue_tallies (agency_code, acceptance, bucket, due_on, delta) "
            f"SELECT {row}.agency_code, {row}.branch_id IS NULL, bucket, {row}.due_on, {sign} "
            f"FROM (SELECT {bucket} AS bucket) AS b WHERE bucket IS NOT NULL")


def _branch_tasks(row: str, sign: int) -> str:
    """Move the branch's open task between buckets as the branch's state changes."""
    bucket = _bucket("t", f"{row}.state", "false")
    return (f"INSERT INTO queue_tallies (agency_code, acceptance, bucket, due_on, delta) "
            f"SELECT t.agency_code, t.branch_id IS NULL, {bucket}, t.due_on, {sign} FROM wf_tasks t "
            f"WHERE t.branch_id = {row}.id AND t.state = 'OPEN' "
            f"AND {row}.state IN ('ACTIVE', 'WAITING_APPLICANT', 'PAUSED')")


def _branch_row(row: str, sign: int) -> str:
    return (f"INSERT INTO branch_tallies (agency_code, matter_code, state, on_time, handling_days, due_on, delta) "
            f"VALUES ({row}.agency_code, {row}.matter_code, {row}.state, {row}.on_time, {row}.handling_days, "
            f"CASE WHEN {row}.state = 'ACTIVE' THEN {row}.due_on END, {sign})")


def _request_rows(old: str | None, new: str | None) -> str:
    """An acceptance task waits for the applicant while one of its supplement requests is open."""
    this = new or old
    others = (f"EXISTS (SELECT 1 FROM wf_requests r WHERE r.task_id = {this}.task_id AND r.id <> {this}.id "
              f"AND r.{OPEN_SUPPLEMENT.replace(' AND state', ' AND r.state')})")
    before = f"(({old}.kind = 'SUPPLEMENT' AND {old}.state = 'OPEN') OR {others})" if old else others
    after = f"(({new}.kind = 'SUPPLEMENT' AND {new}.state = 'OPEN') OR {others})" if new else others
    ready = "CASE WHEN t.assignee_id IS NULL THEN 'free' ELSE 'held' END"
    return (f"INSERT INTO queue_tallies (agency_code, acceptance, bucket, due_on, delta) "
            f"SELECT t.agency_code, t.branch_id IS NULL, CASE WHEN x.waiting THEN 'waiting' ELSE {ready} END, "
            f"t.due_on, x.delta FROM wf_tasks t, "
            f"(SELECT {before} AS waiting, -1 AS delta UNION ALL SELECT {after}, 1) AS x "
            f"WHERE t.id = {this}.task_id AND t.state = 'OPEN' AND t.branch_id IS NULL AND {before} <> {after}")


TASK_CHANGED = ("OLD.state IS DISTINCT FROM NEW.state OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id "
                "OR OLD.due_on IS DISTINCT FROM NEW.due_on OR OLD.branch_id IS DISTINCT FROM NEW.branch_id "
                "OR OLD.agency_code IS DISTINCT FROM NEW.agency_code")
BRANCH_CHANGED = ("OLD.state IS DISTINCT FROM NEW.state OR OLD.agency_code IS DISTINCT FROM NEW.agency_code "
                  "OR OLD.matter_code IS DISTINCT FROM NEW.matter_code OR OLD.on_time IS DISTINCT FROM NEW.on_time "
                  "OR OLD.handling_days IS DISTINCT FROM NEW.handling_days "
                  "OR (NEW.state = 'ACTIVE' AND OLD.due_on IS DISTINCT FROM NEW.due_on)")
REQUEST_CHANGED = "OLD.state IS DISTINCT FROM NEW.state OR OLD.kind IS DISTINCT FROM NEW.kind"


def _postgresql_triggers() -> list[str]:
    def function(name: str, body: str) -> str:
        return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\nRETURN NULL;\nEND $$"

    task = (f"IF TG_OP <> 'INSERT' THEN {_task_row('OLD', -1)}; END IF;\n"
            f"IF TG_OP <> 'DELETE' THEN {_task_row('NEW', 1)}; END IF;")
    branch = (f"IF TG_OP <> 'INSERT' THEN {_branch_row('OLD', -1)}; END IF;\n"
              f"IF TG_OP <> 'DELETE' THEN {_branch_row('NEW', 1)}; END IF;\n"
              f"IF TG_OP = 'UPDATE' AND OLD.state IS DISTINCT FROM NEW.state THEN\n"
              f"{_branch_tasks('OLD', -1)};\n{_branch_tasks('NEW', 1)};\nEND IF;")
    request = (f"IF TG_OP = 'INSERT' THEN {_request_rows(None, 'NEW')};\n"
               f"ELSIF TG_OP = 'UPDATE' THEN {_request_rows('OLD', 'NEW')};\n"
               f"ELSE {_request_rows('OLD', None)}; END IF;")
    each = "FOR EACH ROW"
    return [
        function("onewindow_task_tally", task),
        function("onewindow_branch_tally", branch),
        function("onewindow_request_tally", request),
        f"CREATE TRIGGER wf_tasks_tally AFTER INSERT OR DELETE ON wf_tasks {each} "
        "EXECUTE FUNCTION onewindow_task_tally()",
        f"CREATE TRIGGER wf_tasks_tally_update AFTER UPDATE ON wf_tasks {each} WHEN ({TASK_CHANGED}) "
        "EXECUTE FUNCTION onewindow_task_tally()",
        f"CREATE TRIGGER wf_branches_tally AFTER INSERT OR DELETE ON wf_branches {each} "
        "EXECUTE FUNCTION onewindow_branch_tally()",
        f"CREATE TRIGGER wf_branches_tally_update AFTER UPDATE ON wf_branches {each} WHEN ({BRANCH_CHANGED}) "
        "EXECUTE FUNCTION onewindow_branch_tally()",
        f"CREATE TRIGGER wf_requests_tally AFTER INSERT OR DELETE ON wf_requests {each} "
        "EXECUTE FUNCTION onewindow_request_tally()",
        f"CREATE TRIGGER wf_requests_tally_update AFTER UPDATE ON wf_requests {each} WHEN ({REQUEST_CHANGED}) "
        "EXECUTE FUNCTION onewindow_request_tally()",
    ]


def _sqlite_triggers() -> list[str]:
    def trigger(name: str, event: str, table: str, statements: list[str], when: str = "") -> str:
        condition = f" WHEN {when}" if when else ""
        body = "; ".join(statements)
        return f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{condition} BEGIN {body}; END"

    return [
        trigger("wf_tasks_tally_insert", "INSERT", "wf_tasks", [_task_row("NEW", 1)]),
        trigger("wf_tasks_tally_delete", "DELETE", "wf_tasks", [_task_row("OLD", -1)]),
        trigger("wf_tasks_tally_update", "UPDATE", "wf_tasks", [_task_row("OLD", -1), _task_row("NEW", 1)],
                TASK_CHANGED),
        trigger("wf_branches_tally_insert", "INSERT", "wf_branches", [_branch_row("NEW", 1)]),
        trigger("wf_branches_tally_delete", "DELETE", "wf_branches", [_branch_row("OLD", -1)]),
        trigger("wf_branches_tally_update", "UPDATE", "wf_branches", [_branch_row("OLD", -1), _branch_row("NEW", 1)],
                BRANCH_CHANGED),
        trigger("wf_branches_tally_state", "UPDATE OF state", "wf_branches",
                [_branch_tasks("OLD", -1), _branch_tasks("NEW", 1)], "OLD.state IS DISTINCT FROM NEW.state"),
        trigger("wf_requests_tally_insert", "INSERT", "wf_requests", [_request_rows(None, "NEW")]),
        trigger("wf_requests_tally_delete", "DELETE", "wf_requests", [_request_rows("OLD", None)]),
        trigger("wf_requests_tally_update", "UPDATE", "wf_requests", [_request_rows("OLD", "NEW")], REQUEST_CHANGED),
    ]


FILL = [
    """INSERT INTO queue_tallies (agency_code, acceptance, bucket, due_on, delta)
       SELECT t.agency_code, t.branch_id IS NULL,
              CASE WHEN t.branch_id IS NULL AND s.task_id IS NOT NULL THEN 'waiting'
                   WHEN t.branch_id IS NULL OR b.state = 'ACTIVE'
                        THEN CASE WHEN t.assignee_id IS NULL THEN 'free' ELSE 'held' END
                   WHEN b.state = 'WAITING_APPLICANT' THEN 'waiting'
                   WHEN b.state = 'PAUSED' THEN 'paused' END AS bucket,
              t.due_on, count(*)
       FROM wf_tasks t
       LEFT JOIN wf_branches b ON b.id = t.branch_id
       LEFT JOIN (SELECT DISTINCT task_id FROM wf_requests
                  WHERE kind = 'SUPPLEMENT' AND state = 'OPEN' AND task_id IS NOT NULL) s ON s.task_id = t.id
       WHERE t.state = 'OPEN' AND (t.branch_id IS NULL OR b.state IN ('ACTIVE', 'WAITING_APPLICANT', 'PAUSED'))
       GROUP BY 1, 2, 3, 4""",
    """INSERT INTO branch_tallies (agency_code, matter_code, state, on_time, handling_days, due_on, delta)
       SELECT agency_code, matter_code, state, on_time, handling_days, CASE WHEN state = 'ACTIVE' THEN due_on END,
              count(*)
       FROM wf_branches GROUP BY 1, 2, 3, 4, 5, 6""",
]

# name, table, columns, partial condition, INCLUDE columns (PostgreSQL)
INDEXES = [
    ("ix_wf_tasks_open_queue", "wf_tasks", ["agency_code", "due_on", "id"], "state = 'OPEN'", None),
    ("ix_wf_tasks_unclaimed_queue", "wf_tasks", ["agency_code", "due_on", "id"],
     "state = 'OPEN' AND assignee_id IS NULL", None),
    ("ix_wf_tasks_open_assignee", "wf_tasks", ["assignee_id", "agency_code", "due_on", "id"], "state = 'OPEN'", None),
    ("ix_wf_branches_active_due", "wf_branches", ["due_on", "id"], "state = 'ACTIVE'", ["agency_code"]),
    ("ix_wf_branches_agency_active_due", "wf_branches", ["agency_code", "due_on", "id"], "state = 'ACTIVE'", None),
    ("ix_wf_branches_agency_clock_stopped", "wf_branches", ["agency_code", "state", "due_on", "id"],
     "state IN ('WAITING_APPLICANT', 'PAUSED')", None),
    ("ix_wf_requests_open_task", "wf_requests", ["task_id"], "state = 'OPEN'", None),
    ("ix_wf_requests_open_extension", "wf_requests", ["agency_code", "requested_at", "id"],
     "kind = 'EXTENSION' AND state = 'OPEN'", None),
    ("ix_accounts_name", "accounts", ["name"], None, None),
    ("ix_enterprises_name", "enterprises", ["name"], None, None),
    ("ix_notifications_reassigned", "notifications", ["account_id", "id"], "kind = 'task_reassigned'", None),
]

TRIGGERS = {"postgresql": [("wf_tasks", "wf_tasks_tally"), ("wf_tasks", "wf_tasks_tally_update"),
                           ("wf_branches", "wf_branches_tally"), ("wf_branches", "wf_branches_tally_update"),
                           ("wf_requests", "wf_requests_tally"), ("wf_requests", "wf_requests_tally_update")],
            "sqlite": ["wf_tasks_tally_insert", "wf_tasks_tally_delete", "wf_tasks_tally_update",
                       "wf_branches_tally_insert", "wf_branches_tally_delete", "wf_branches_tally_update",
                       "wf_branches_tally_state", "wf_requests_tally_insert", "wf_requests_tally_delete",
                       "wf_requests_tally_update"]}


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_lead', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('case_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', services.db.UTCDateTime(), nullable=False),
    sa.Column('command_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                            name=op.f('fk_case_comments_application_id_applications')),
    sa.ForeignKeyConstraint(['author_id'], ['accounts.id'], name=op.f('fk_case_comments_author_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_comments')),
    sa.UniqueConstraint('command_id', name=op.f('uq_case_comments_command_id'))
    )
    op.create_index('ix_case_comments_application', 'case_comments', ['application_id', 'id'], unique=False)
    op.create_table('queue_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('acceptance', sa.Boolean(), nullable=False),
    sa.Column('bucket', sa.String(length=12), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_tallies'))
    )
    op.create_index('ix_queue_tallies_agency', 'queue_tallies', ['agency_code'], unique=False)
    op.create_table('branch_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('matter_code', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.Column('handling_days', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_branch_tallies'))
    )
    op.create_index('ix_branch_tallies_agency', 'branch_tallies', ['agency_code'], unique=False)
    for statement in (_postgresql_triggers() if postgresql else _sqlite_triggers()):
        op.execute(statement)
    for statement in FILL:
        op.execute(statement)
    if postgresql:
        with op.get_context().autocommit_block():
            op.execute("SET maintenance_work_mem = '256MB'")
            for name, table, columns, where, include in INDEXES:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an earlier interrupted build is INVALID
                op.create_index(name, table, columns, postgresql_concurrently=True, postgresql_include=include or [],
                                postgresql_where=sa.text(where) if where else None)
            op.execute("RESET maintenance_work_mem")
            # Superseded by ix_wf_tasks_open_queue, and PostgreSQL's planner would still pick it (see tallies.py).
            op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_wf_tasks_queue")
    else:
        for name, table, columns, where, _include in INDEXES:
            op.create_index(name, table, columns, sqlite_where=sa.text(where) if where else None)
        op.drop_index('ix_wf_tasks_queue', table_name='wf_tasks')


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index('ix_wf_tasks_queue', 'wf_tasks', ['agency_code', 'state', 'due_on'], unique=False)
    for name, table, *_rest in INDEXES:
        op.drop_index(name, table_name=table)
    if postgresql:
        for table, name in TRIGGERS["postgresql"]:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in ("onewindow_task_tally", "onewindow_branch_tally", "onewindow_request_tally"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in TRIGGERS["sqlite"]:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_branch_tallies_agency', table_name='branch_tallies')
    op.drop_table('branch_tallies')
    op.drop_index('ix_queue_tallies_agency', table_name='queue_tallies')
    op.drop_table('queue_tallies')
    op.drop_index('ix_case_comments_application', table_name='case_comments')
    op.drop_table('case_comments')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('is_lead')
