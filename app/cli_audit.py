"""`flask audit verify` walks the audit trail's hash chain and names the first row altered or missing;
`flask audit publish-roots` signs the finished days' roots (also a periodic job)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

audit_group = AppGroup("audit", help="The audit trail (hash chain, signed daily roots).")


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def verify_command(as_json):
    """Recompute every row's hash in order; exit 1 naming the first altered or missing row."""
    from services.audit.chain import verify

    started = time.perf_counter()
    # A read-only snapshot: on SQLite it takes no write lock, so the hub keeps working during a long check.
    with current_app.extensions["onewindow_db"].snapshot() as session:
        verdict = verify(session)
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        click.echo(json.dumps({**verdict.as_dict(), "seconds": seconds}))
    elif verdict.ok:
        click.echo(f"OK: {verdict.rows} rows chained, {verdict.roots_checked} signed daily roots match ({seconds} s).")
    else:
        click.echo(f"BROKEN: {verdict.first_problem} ({verdict.rows} rows read, {seconds} s).")
    if not verdict.ok:
        raise SystemExit(1)


@audit_group.command("publish-roots")
def publish_roots_command():
    """Sign the root of every finished day that has none yet, with the hub's key."""
    from services.audit.chain import publish_roots_job

    count = publish_roots_job(current_app.extensions["onewindow_db"], Path(current_app.config["KEY_DIR"]))
    click.echo(f"Signed {count} daily root(s).")
