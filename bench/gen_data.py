#!/usr/bin/env python3
"""Fill the database at $DATABASE_URL with benchmark volumes (bench/datagen/): residents, enterprises, clerks and
cases with their whole history. It adds to what is there; never run it on a production database.

Usage (the schema must exist: `flask --app wsgi db upgrade`; the demo catalogue is seeded first if it is missing):
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onewindow_pages .venv/bin/python bench/gen_data.py
    .venv/bin/python bench/gen_data.py --applications 1000 --residents 200 --enterprises 50 --no-vacuum
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script, Python puts bench/ first on the path, not the checkout
    sys.path.insert(0, str(REPO))

import click  # noqa: E402


@click.command(help=__doc__.split("\n\n")[0])
@click.option("--applications", default=1_000_000, show_default=True, type=click.IntRange(min=0),
              help="Cases to add, with their whole history.")
@click.option("--residents", default=200_000, show_default=True, type=click.IntRange(min=0),
              help="Resident accounts to add.")
@click.option("--enterprises", default=50_000, show_default=True, type=click.IntRange(min=0),
              help="Enterprises to add; their legal representatives are among the new residents.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the random choices.")
@click.option("--vacuum/--no-vacuum", default=True, show_default=True,
              help="End with VACUUM (ANALYZE) on PostgreSQL, as autovacuum would; otherwise only ANALYZE.")
@click.pass_obj
def main(app, applications, residents, enterprises, seed, vacuum):
    """``app``: the Flask application whose database to fill (tests pass theirs); by default one is made here from
    the environment, as `flask --app wsgi` would."""
    from bench.datagen import generate, total_work

    if enterprises and not residents:
        raise click.UsageError("enterprises need --residents to represent them")
    if applications and not enterprises:
        raise click.UsageError("cases need --enterprises to apply for")
    if app is None:
        from app import create_app

        app = create_app()
    database = app.extensions["onewindow_db"]
    total = total_work(applications=applications, residents=residents, enterprises=enterprises)
    with click.progressbar(length=total, label="Generating", show_eta=True, show_pos=True) as bar:
        result = generate(database, applications=applications, residents=residents, enterprises=enterprises,
                          seed=seed, progress=bar.update, vacuum=vacuum)
    for note in result.notes:
        click.echo(f"Note: {note}")
    width = max(len(name) for name in result.counts)
    for name, count in result.counts.items():
        click.echo(f"  {name:<{width}}  {count:>12,}")
    click.echo(f"Added {sum(result.counts.values()):,} rows in {result.seconds:.1f} s.")


if __name__ == "__main__":
    main()
