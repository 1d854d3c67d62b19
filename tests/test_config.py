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
