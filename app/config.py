"""Configuration from environment variables, with safe development defaults.

``ONEWINDOW_ENV`` picks the class (development, test, production). Production refuses to start without a real
``SECRET_KEY``, a ``DATABASE_URL`` and a ``REDIS_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-not-secret"


class ConfigError(RuntimeError):
    pass


class BaseConfig:
    ENV_NAME = "base"
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    # Times are stored in UTC and shown as people in Guangzhou read them (a decision at 01:00 is that day's).
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")
    LANGUAGES = ("zh_Hans_CN", "zh_Hant_HK", "en")
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the session lifetime bounds the token; a slow form-filler must not lose their work
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    TESTING = False
    # Without Redis, jobs run in a thread of the web process as soon as they are dispatched (services/jobs/local.py).
    IN_PROCESS_JOBS_HELD = False

    def __init__(self, **overrides):
        # Read the environment when the app is created, not when this module is imported.
        self.INSTANCE_DIR = os.environ.get("ONEWINDOW_INSTANCE", str(PROJECT_ROOT / "instance"))
        self.SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET)
        self.DATABASE_URL = os.environ.get("DATABASE_URL", "")
        self.REDIS_URL = os.environ.get("REDIS_URL", "")
        self.RQ_QUEUE_PREFIX = os.environ.get("RQ_QUEUE_PREFIX", "")
        self.PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
        # How many reverse proxies (nginx, a load balancer) stand in front of gunicorn. Their X-Forwarded-For is
        # trusted that many hops deep, so that the rate limiter sees the client's address, not the proxy's.
        self.TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
        # How often each process looks for a holiday notice loaded on another host (services/calendar_notices.py).
        self.CALENDAR_REFRESH_SECONDS = os.environ.get("ONEWINDOW_CALENDAR_REFRESH_SECONDS", "5")
        # E-mail (services/notifications/mail.py): without MAIL_SERVER, messages are written to instance/mail/.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", "25") or 25)
        self.MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_FROM = os.environ.get("MAIL_FROM", "OneWindow <no-reply@onewindow.invalid>")
        # Staff (clerks, leads, supervisors, administrators) must use a second factor: on in production unless
        # ONEWINDOW_SECOND_FACTOR=0, off elsewhere unless =1 (the demo accounts sign in with a password alone).
        flag = os.environ.get("ONEWINDOW_SECOND_FACTOR")
        self.SECOND_FACTOR_REQUIRED = (flag == "1") if flag in ("0", "1") else self.ENV_NAME == "production"
        for key, value in overrides.items():
            setattr(self, key, value)
        self.DATABASE_URL_GIVEN = bool(self.DATABASE_URL)
        try:
            self.TRUSTED_PROXIES = int(self.TRUSTED_PROXIES)
        except (TypeError, ValueError):
            raise ConfigError("TRUSTED_PROXIES must be a whole number (proxies in front of the app)") from None
        if not 0 <= self.TRUSTED_PROXIES <= 5:
            raise ConfigError("TRUSTED_PROXIES must be between 0 and 5")
        try:
            self.CALENDAR_REFRESH_SECONDS = float(self.CALENDAR_REFRESH_SECONDS)
        except (TypeError, ValueError):
            raise ConfigError("ONEWINDOW_CALENDAR_REFRESH_SECONDS must be a number of seconds") from None
        if not self.DATABASE_URL:
            self.DATABASE_URL = f"sqlite:///{Path(self.INSTANCE_DIR) / 'onewindow.db'}"
        for name in ("UPLOAD_DIR", "KEY_DIR"):
            if not getattr(self, name, None):
                sub = "uploads" if name == "UPLOAD_DIR" else "keys"
                setattr(self, name, os.environ.get(f"ONEWINDOW_{name}", str(Path(self.INSTANCE_DIR) / sub)))

    def validate(self) -> None:
        pass

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"

    def __init__(self, **overrides):
        super().__init__(**overrides)
        # `make run` has no Redis and so no rq cron: the server sweeps timers itself (set to 0 to switch off).
        if "RUN_PERIODIC_IN_PROCESS" not in overrides:
            self.RUN_PERIODIC_IN_PROCESS = not self.REDIS_URL and os.environ.get("ONEWINDOW_PERIODIC", "1") == "1"


class TestConfig(BaseConfig):
    ENV_NAME = "test"
    TESTING = True
    # A test and the app share one database connection (the test's transaction, rolled back at its end), which two
    # threads must not use at once: without Redis, jobs wait until tests.jobs.run_pending_jobs has the worker thread
    # run them, as on the Redis path they wait in Redis until it runs a burst worker.
    IN_PROCESS_JOBS_HELD = True


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    def validate(self) -> None:
        if not self.SECRET_KEY or self.SECRET_KEY == DEV_SECRET or len(self.SECRET_KEY) < 32:
            raise ConfigError("production needs SECRET_KEY set to a random value of at least 32 characters")
        if not self.DATABASE_URL.startswith("postgresql"):
            raise ConfigError("production needs DATABASE_URL (PostgreSQL)")
        if not self.REDIS_URL:
            raise ConfigError("production needs REDIS_URL (jobs run in rq workers)")


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def load_config(name: str | None = None, **overrides) -> BaseConfig:
    name = name or os.environ.get("ONEWINDOW_ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"ONEWINDOW_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    config = CONFIGS[name](**overrides)
    config.validate()
    return config
