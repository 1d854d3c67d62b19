"""`flask gen-data`: realistic volumes for the benchmarks."""

from __future__ import annotations

import click
from flask import current_app


def register_data_commands(app) -> None:
    """Registered by app.cli.register_commands."""

    @app.cli.command("gen-data")
    @click.option("--applications", default=1_000_000, show_default=True, type=click.IntRange(min=0),
                  help="Cases to add, with their whole history.")
    @click.option("--residents", default=200_000, show_default=True, type=click.IntRange(min=0),
                  help="Resident accounts to add.")
    @click.option("--enterprises", default=50_000, show_default=True, type=click.IntRange(min=0),
                  help="Enterprises to add; their legal representatives are among the new residents.")
    @click.option("--seed", default=1, show_default=True, type=int, help="Seed of the random choices.")
    @click.option("--vacuum/--no-vacuum", default=True, show_default=True,
                  help="End with VACUUM (ANALYZE) on PostgreSQL, as autovacuum would; otherwise only ANALYZE.")
    def gen_data(applications, residents, enterprises, seed, vacuum):
        """Fill the database with benchmark data (adds to what is there; never run it on a production database)."""
        from services.datagen import generate, total_work

        if enterprises and not residents:
            raise click.UsageError("enterprises need --residents to represent them")
        if applications and not enterprises:
            raise click.UsageError("cases need --enterprises to apply for")
        database = current_app.extensions["onewindow_db"]
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
