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

    @group.command("rotate-key")
    @click.argument("agency_code")
    def rotate_key(agency_code):
        """Give agency AGENCY_CODE a new signing key and certificate for the licences issued from now on.

        The old certificate stays in the key directory (and in /.well-known/jwks.json), so licences signed with the
        old key keep validating; the old private key is destroyed."""
        from services.catalogue.models import Agency
        from services.licences.credentials import key_id_of
        from services.licences.signing import rotate_agency_key

        with current_app.extensions["onewindow_db"].transaction() as session:
            agency = session.scalar(select(Agency).where(Agency.code == agency_code))
            name = agency.name_en if agency is not None else None
        if name is None:
            raise click.ClickException(f"no agency with the code {agency_code!r}")
        _key, cert, archived = rotate_agency_key(Path(current_app.config["KEY_DIR"]), agency_code, name)
        click.echo(f"{agency_code}: new key {key_id_of(cert)}"
                   + (f"; previous certificate kept as {archived.name}" if archived else ""))

    @group.command("check")
    @click.argument("number")
    def check(number):
        """Validate licence NUMBER's PDF signature and credential against its agency's published keys."""
        from services.licences.credentials import CredentialError, jwks, verify_credential
        from services.licences.signing import validate_licence_signature

        key_dir = Path(current_app.config["KEY_DIR"])
        with current_app.extensions["onewindow_db"].transaction() as session:
            licence = licence_by_number(session, number)
            if licence is None:
                raise click.ClickException(f"no licence with the number {number.strip().upper()!r}")
            pdf, token, code, key_id = licence.pdf, licence.credential_jws, licence.agency.code, licence.key_id
        result = validate_licence_signature(pdf, key_dir, code, key_id)
        click.echo(f"pdf signature: {'valid' if result['valid'] and result['trusted'] else 'INVALID'} "
                   f"({result.get('certificate') or result.get('error', '')})")
        credential_ok = True
        try:
            verify_credential(token or "", jwks(key_dir, [code]))
            click.echo("credential: valid")
        except CredentialError as exc:
            credential_ok = False
            click.echo(f"credential: INVALID ({exc})")
        if not (result["valid"] and result["trusted"] and credential_ok):
            raise SystemExit(1)

    @group.command("sweep")
    @click.option("--today", default=None, help="Pretend today is this date (YYYY-MM-DD).")
    def sweep(today):
        """Mark licences past their last day expired and send due renewal reminders (also run by `rq cron`)."""
        from services.jobs.periodic import sweep_licences

        result = sweep_licences(today)
        click.echo(f"expired {result['expired']}, reminded {result['reminded']}")

    app.cli.add_command(group)
