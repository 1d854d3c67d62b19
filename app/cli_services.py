"""`flask services check` and `flask services sync`: the service definitions (services/catalogue/definitions/)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

services_group = AppGroup("services", help="The service definitions: check them, write them to the database.")


@services_group.command("check")
@click.option("--directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Check the definitions in this directory instead of the shipped ones (a service being drafted).")
def check_command(directory):
    """Read and check every service definition from disk; name the file and place of the first mistake."""
    from services.catalogue.definitions import ROOT, ServiceDefinitionError, load_catalogue

    try:
        loaded = load_catalogue(directory or ROOT)
    except ServiceDefinitionError as exc:
        raise click.ClickException(str(exc)) from exc
    for service in loaded.services.values():
        versions = sorted(d.version for d in loaded.workflows if d.key == service.workflow)
        click.echo(f"{service.code}: {len(service.pages)} pages, {len(service.fields)} answers, "
                   f"{len(service.materials)} materials, {len(service.matters)} matters, "
                   f"{len(service.licences)} licence types, workflow {service.workflow} v{versions[-1]}")
    click.echo(f"All {len(loaded.services)} service definitions are valid ({len(loaded.agencies)} agencies, "
               f"{len(loaded.licence_types)} licence types).")


@services_group.command("sync")
def sync_command():
    """Write the definitions' catalogue (agencies, licence types, matters, services, materials) to the database."""
    from services.catalogue.sync import sync_catalogue

    with current_app.extensions["onewindow_db"].transaction() as session:
        counts = sync_catalogue(session)
    click.echo("Catalogue written: " + ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in
                                                 counts.items()) + ".")
