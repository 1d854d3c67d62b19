"""Commands: `flask seed-demo`, `flask rq worker`, `flask outbox sweep`, `flask check-definitions`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup


def _database():
    return current_app.extensions["onewindow_db"]


def register_commands(app) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo agencies, catalogue and accounts (safe to run again)."""
        from services.applications.service import validate_definitions
        from services.catalogue.demo import ACCOUNTS, seed_demo

        with click.progressbar(length=len(ACCOUNTS), label="Seeding the demo") as bar, \
                _database().transaction() as session:
            counts = seed_demo(session, progress=bar.update)
            validate_definitions(session)
        click.echo(f"Demo ready: {counts['agencies']} agencies, {counts['matters']} matters, "
                   f"{counts['accounts']} accounts (password OneWindow-demo-2026).")

    @app.cli.command("check-definitions")
    def check_definitions():
        """Load and validate every workflow definition against the catalogue."""
        from services.applications.service import validate_definitions

        with _database().transaction() as session:
            validate_definitions(session)
        click.echo("All workflow definitions are valid.")

    rq_group = AppGroup("rq", help="Run rq workers for OneWindow's queues.")

    @rq_group.command("worker")
    @click.argument("queues", nargs=-1)
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    @click.option("--with-scheduler", is_flag=True, help="Also run rq's scheduler for retries and delayed jobs.")
    def worker(queues, burst, with_scheduler):
        """Work the given queues (default: all of OneWindow's queues)."""
        from rq import Worker

        from services.jobs.connection import redis_connection
        from services.jobs.queues import ALL_QUEUES

        url = current_app.config["REDIS_URL"]
        if not url:
            raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in-process after each request.")
        prefix = current_app.config["RQ_QUEUE_PREFIX"]
        names = [prefix + q for q in (queues or ALL_QUEUES)]
        # Each job runs in a forked child; pooled database connections must not be shared across the fork.
        _database().engine.dispose()
        Worker(names, connection=redis_connection(url)).work(burst=burst, with_scheduler=with_scheduler)

    app.cli.add_command(rq_group)

    outbox_group = AppGroup("outbox", help="The job outbox.")

    @outbox_group.command("sweep")
    def sweep():
        """Dispatch outbox jobs left undispatched (after a crash or a Redis outage)."""
        from services.jobs.outbox import dispatch, undispatched_ids

        with _database().transaction() as session:
            ids = undispatched_ids(session)
        sent = dispatch(_database(), ids, redis_url=current_app.config["REDIS_URL"],
                        prefix=current_app.config["RQ_QUEUE_PREFIX"])
        click.echo(f"Dispatched {sent} job(s).")

    app.cli.add_command(outbox_group)
