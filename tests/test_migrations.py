"""The migrations are the only way the schema is made: one head, recorded, and in agreement with the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from services.db import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _scripts() -> ScriptDirectory:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_one_head_and_it_is_recorded():
    heads = _scripts().get_heads()
    assert len(heads) == 1, f"several heads: {heads}; merge them"
    assert (MIGRATIONS / ".current-alembic-head").read_text().strip() == heads[0]


def test_revision_files_are_numbered_like_their_ids():
    for script in _scripts().walk_revisions():
        assert Path(script.path).name.startswith(script.revision + "_"), script.path
        assert len(script.revision) == 4 and script.revision.isdigit()


def test_models_and_migrations_agree(app, database):
    """Autogenerate against the migrated database finds nothing to do."""
    import services.models  # noqa: F401

    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], differences
