"""Configuration: safe development defaults; production refuses to start without real secrets and services."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load_config

PG = "postgresql+psycopg://onewindow@db/onewindow"


def test_development_defaults_to_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONEWINDOW_INSTANCE", str(tmp_path))
    config = load_config("development")
    assert config.DATABASE_URL == f"sqlite:///{tmp_path / 'onewindow.db'}"
    assert config.UPLOAD_DIR == str(tmp_path / "uploads")


@pytest.mark.parametrize("secret", [None, "dev-only-not-secret", "short"])
def test_production_refuses_a_missing_or_weak_secret_key(monkeypatch, secret):
    monkeypatch.setenv("DATABASE_URL", PG)
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production")


def test_production_needs_postgresql_and_redis(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config("production")
    monkeypatch.setenv("DATABASE_URL", PG)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_config("production")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    assert load_config("production").SESSION_COOKIE_SECURE is True


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError):
        load_config("staging-ish")


@pytest.mark.parametrize("value", ["one", "-1", "9"])
def test_trusted_proxies_must_be_a_small_whole_number(monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_config("development")


@pytest.mark.parametrize(("proxies", "seen"), [(0, "10.0.0.9"), (1, "203.0.113.7")])
def test_the_client_address_comes_from_trusted_proxies_only(tmp_path, proxies, seen):
    from flask import request

    from app import create_app

    app = create_app("test", INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
                     TRUSTED_PROXIES=proxies)
    app.add_url_rule("/_address", "address", lambda: request.remote_addr)
    response = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.7"},
                                     environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.get_data(as_text=True) == seen


# Weakness 1: without ONEWINDOW_ENV the app signed with a published key. Now nothing but an explicit development or
# test environment makes a key up.

def _no_settings(monkeypatch, instance):
    for name in ("ONEWINDOW_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ONEWINDOW_INSTANCE", str(instance))


def test_without_settings_the_app_refuses_to_start_and_says_how_to_set_a_key(monkeypatch, tmp_path):
    _no_settings(monkeypatch, tmp_path)
    with pytest.raises(ConfigError, match="SECRET_KEY") as refused:
        load_config()
    assert "secrets.token_urlsafe" in str(refused.value)  # says how
    monkeypatch.setenv("SECRET_KEY", "dev-only-not-secret")  # the key this project once published
    with pytest.raises(ConfigError, match="published"):
        load_config()


def test_gunicorn_without_settings_does_not_start(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items()
           if key not in ("ONEWINDOW_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL")}
    env["ONEWINDOW_INSTANCE"] = str(tmp_path)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run([str(gunicorn), "--check-config", "wsgi:app"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "no SECRET_KEY" in result.stdout + result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_explicit_development_generates_a_private_key_once(monkeypatch, tmp_path):
    _no_settings(monkeypatch, tmp_path / "instance")
    monkeypatch.setenv("ONEWINDOW_ENV", "development")
    first = load_config()
    key_file = tmp_path / "instance" / "secret_key"
    assert len(first.SECRET_KEY) >= 32 and key_file.read_text().strip() == first.SECRET_KEY
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_config().SECRET_KEY == first.SECRET_KEY  # the next run reads it
    monkeypatch.delenv("ONEWINDOW_ENV")
    assert load_config().SECRET_KEY == first.SECRET_KEY  # and so do commands run without ONEWINDOW_ENV
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config()


def test_seed_demo_refuses_to_run_in_production(tmp_path, monkeypatch):
    from app import create_app
    from services import runtime

    # create_app makes its runtime the process's: the suite's app gets its own back after this test.
    monkeypatch.setattr(runtime, "_current", runtime._current)

    app = create_app("production", INSTANCE_DIR=str(tmp_path), SECRET_KEY="k" * 48,
                     DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none", REDIS_URL="redis://127.0.0.1:1/0")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output
