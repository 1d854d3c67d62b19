"""`flask licence ...`: administrators' commands for e-licences."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from services.licences.models import Licence
from services.licences.service import licence_by_number


def register_licence_commands(app) -> None:
    """Registered by app.cli.register_commands."""
    group = AppGroup("licence", help="Issued e-licences.")

    @group.command("list")
    def list_licences():
        """Print every licence: number, holder and status, tab-separated, one a line, oldest first."""
        with current_app.extensions["onewindow_db"].transaction() as session:
            for licence in session.scalars(select(Licence).order_by(Licence.issued_at, Licence.id)):
                click.echo(f"{licence.number}\t{licence.holder_name}\t{licence.status.value}")

    @group.command("pdf")
    @click.argument("number")
    @click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="The file to write the signed PDF to ('-' for standard output).")
    def licence_pdf(number, output):
        """Write the stored signed PDF of licence NUMBER to a file, byte for byte."""
        with current_app.extensions["onewindow_db"].transaction() as session:
            licence = licence_by_number(session, number)
            pdf = licence.pdf if licence is not None else None  # a deferred column: loaded while the session is open
        if pdf is None:
            raise click.ClickException(f"no licence with the number {number.strip().upper()!r}")
        if str(output) == "-":
            click.get_binary_stream("stdout").write(pdf)
            return
        output.write_bytes(pdf)
        click.echo(f"Wrote {licence.number} ({len(pdf)} bytes) to {output}", err=True)

    app.cli.add_command(group)
