"""Commands: `flask seed-demo`, `flask rq worker`, `flask outbox sweep`, `flask services`, `flask timers`,
`flask workflows`, `flask calendar`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup


def _database():
    return current_app.extensions["onewindow_db"]


def register_commands(app) -> None:
    from app.cli_audit import audit_group
    from app.cli_licences import register_licence_commands
    from app.cli_services import services_group

    register_licence_commands(app)
    app.cli.add_command(services_group)
    app.cli.add_command(audit_group)

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo agencies, catalogue, accounts and one licence per demo holder (safe to run again)."""
        from pathlib import Path

        from services.catalogue.demo import ACCOUNTS, seed_demo
        from services.licences.demo import seed_demo_licences

        config = current_app.config
        if config["ENV_NAME"] == "production":
            # Every demo account shares a published password: seeding them into production opens the hub to anyone.
            raise click.ClickException("seed-demo creates accounts with a published password and refuses to run in "
                                       "production (ONEWINDOW_ENV=production)")
        with click.progressbar(length=len(ACCOUNTS), label="Seeding the demo") as bar, \
                _database().transaction() as session:
            counts = seed_demo(session, progress=bar.update)
            licences = seed_demo_licences(session, Path(config["KEY_DIR"]), config["PUBLIC_URL"],
                                          upload_dir=Path(config["UPLOAD_DIR"]))
        click.echo(f"Demo ready: {counts['agencies']} agencies, {counts['matters']} matters, "
                   f"{counts['accounts']} accounts (password OneWindow-demo-2026), {len(licences)} licences.")

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
            raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in a thread of the web process.")
        prefix = current_app.config["RQ_QUEUE_PREFIX"]
        names = [prefix + q for q in (queues or ALL_QUEUES)]
        # Each job runs in a forked child; pooled database connections must not be shared across the fork.
        _database().engine.dispose()
        Worker(names, connection=redis_connection(url)).work(burst=burst, with_scheduler=with_scheduler)

    @rq_group.command("cron")
    def cron():
        """Enqueue the periodic jobs (timer sweep, outbox re-dispatch) on their intervals; run one per deployment."""
        from rq.cron import CronScheduler

        from services.jobs.connection import redis_connection
        from services.jobs.periodic import PERIODIC

        url = current_app.config["REDIS_URL"]
        if not url:
            raise click.ClickException("REDIS_URL is not set: without Redis the development server runs the periodic "
                                       "jobs itself.")
        scheduler = CronScheduler(connection=redis_connection(url))
        for function, queue, interval in PERIODIC:
            scheduler.register(function, current_app.config["RQ_QUEUE_PREFIX"] + queue, interval=interval)
        scheduler.start()

    app.cli.add_command(rq_group)

    outbox_group = AppGroup("outbox", help="The job outbox.")

    @outbox_group.command("sweep")
    @click.option("--lease", default=600, show_default=True, help="Seconds after which an unfinished job is resent.")
    def sweep(lease):
        """Dispatch outbox jobs never dispatched (Redis outage) or never finished (a worker was killed)."""
        from services.jobs.local import local_worker
        from services.jobs.periodic import redispatch_outbox

        sent = redispatch_outbox(lease)
        if not current_app.config["REDIS_URL"] and sent:
            failed = local_worker().drain()  # in this process's worker thread: done before the command returns
            click.echo(f"Ran {sent} job(s) in-process; {len(failed)} failed (see the log).")
            return
        click.echo(f"Dispatched {sent} job(s).")

    app.cli.add_command(outbox_group)

    timers_group = AppGroup("timers", help="Workflow timers.")

    @timers_group.command("sweep")
    @click.option("--today", default=None, help="Sweep as of this date (YYYY-MM-DD); default today.")
    def sweep_timers_command(today):
        """Fire due timers: deemed acceptance, two-days-left warnings, overdue marks."""
        from services.jobs.periodic import sweep_timers

        click.echo(sweep_timers(today))

    app.cli.add_command(timers_group)

    workflows_group = AppGroup("workflows", help="Approval process definitions.")

    @workflows_group.command("migrate")
    @click.argument("key")
    @click.option("--from", "from_version", type=int, required=True)
    @click.option("--to", "to_version", type=int, required=True)
    @click.option("--map", "mappings", multiple=True, help="old_branch=new_branch, when a branch was renamed.")
    def migrate_instances_command(key, from_version, to_version, mappings):
        """Move running cases waiting at a join from one definition version to another (branches one to one)."""
        from services.applications.service import engine
        from workflows.versions import migrate_instances

        mapping = dict(m.split("=", 1) for m in mappings)
        with click.progressbar(length=0, label="Migrating cases") as bar:
            result = migrate_instances(_database(), engine(), key, from_version, to_version, mapping,
                                       progress=bar.update)
        click.echo(result)

    app.cli.add_command(workflows_group)

    calendar_group = AppGroup("calendar", help="The working-day calendar.")

    @calendar_group.command("load-notice")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--today", default=None, help="Recount as of this date (YYYY-MM-DD); default today.")
    @click.option("--dry-run", is_flag=True, help="Count what would move; change nothing.")
    def load_notice_command(path, today, dry_run):
        """Load the State Council's holiday notice for a year (JSON: year, holidays, workdays) and move the running
        cases' deadlines it changes, keeping each case's working days left; the notice is recorded in the database,
        where every process (on every host) picks it up."""
        import datetime as dt

        from services import clock
        from services.applications.service import calendar_notices
        from services.calendar_notices import InvalidNotice, install_notice

        try:
            day = dt.date.fromisoformat(today) if today else clock.today()
        except ValueError as exc:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--today") from exc
        try:
            with click.progressbar(length=0, label="Recording the moved deadlines") as bar:
                result = install_notice(_database(), path, day, dry_run=dry_run, progress=bar.update)
        except InvalidNotice as exc:
            raise click.ClickException(f"{path} is not a holiday notice ({exc}); nothing was changed.") from exc
        calendar_notices().invalidate()  # this process looks again at once; the others within the refresh interval
        picked_up = ("" if dry_run else " Every process picks it up within "
                     f"{calendar_notices().interval:g} s (no restart).")
        if result["already"]:
            click.echo(f"{result['year']}: this notice was loaded before and the deadlines were recounted then; "
                       "nothing moves." + picked_up)
            return
        verb, told = ("would move", "would tell") if dry_run else ("moved", "told")
        click.echo(f"{result['year']}: {verb} {result['dates']} deadline(s) in {result['cases']} running case(s) and "
                   f"{result['timers']} timer(s); {told} {result['notified']} applicant(s)." + picked_up)

    app.cli.add_command(calendar_group)
