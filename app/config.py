"""Configuration from environment variables, with safe development defaults.

``ONEWINDOW_ENV`` picks the class (development, test, production). Production refuses to start without a real
``SECRET_KEY``, a ``DATABASE_URL`` and a ``REDIS_URL``.

The secret key: there is no default one. An app whose key is published can be handed a forged CSRF token or share
state by anyone, so only an explicit ``ONEWINDOW_ENV=development`` generates a key (into ``instance/secret_key``,
0600, on first run: `make run` does this) and only ``test`` makes up a throwaway one. Without ``ONEWINDOW_ENV`` (say
``gunicorn wsgi:app`` started with no settings) the app uses ``SECRET_KEY`` or a key file generated earlier, and
otherwise refuses to start, saying how to set one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The key this project once shipped as a default: it is public, so it is refused everywhere.
PUBLISHED_SECRETS = frozenset({"dev-only-not-secret"})
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_LENGTH = 32
HOW_TO_SET_SECRET = ("set SECRET_KEY to a random value of at least 32 characters, for instance the output of "
                     "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`; for development on this "
                     "machine, run with ONEWINDOW_ENV=development (as `make run` does) and one is generated into "
                     "the instance folder")


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
        self.SECRET_KEY = os.environ.get("SECRET_KEY", "")
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
        # Sign-in posts a minute per client address (flask-limiter syntax); failed sign-ins are throttled besides.
        self.SIGN_IN_RATE_LIMIT = os.environ.get("SIGN_IN_RATE_LIMIT", "30/minute")
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

    # Whether ONEWINDOW_ENV (or create_app's argument) named this environment: only then may a key be generated.
    explicit = False

    def validate(self) -> None:
        self._resolve_secret_key()

    def _resolve_secret_key(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = read_secret_key_file(Path(self.INSTANCE_DIR)) or ""
        if not self.SECRET_KEY and self.explicit:
            self.SECRET_KEY = self.make_up_secret_key()
        if not self.SECRET_KEY:
            raise ConfigError(f"no SECRET_KEY: the app will not sign with a default key; {HOW_TO_SET_SECRET}")
        if self.SECRET_KEY in PUBLISHED_SECRETS or len(self.SECRET_KEY) < MIN_SECRET_LENGTH:
            raise ConfigError(f"SECRET_KEY is published or too short; {HOW_TO_SET_SECRET}")

    def make_up_secret_key(self) -> str | None:
        return None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"

    def make_up_secret_key(self) -> str:
        return generate_secret_key_file(Path(self.INSTANCE_DIR))

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

    def make_up_secret_key(self) -> str:
        return secrets.token_urlsafe(48)  # a throwaway key per test process, never written anywhere


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    def validate(self) -> None:
        # Production takes its key from the environment only: a key file left in a checkout must not stand in.
        if not self.SECRET_KEY or self.SECRET_KEY in PUBLISHED_SECRETS or len(self.SECRET_KEY) < MIN_SECRET_LENGTH:
            raise ConfigError(f"production needs SECRET_KEY: {HOW_TO_SET_SECRET.split('; for development')[0]}")
        if not self.DATABASE_URL.startswith("postgresql"):
            raise ConfigError("production needs DATABASE_URL (PostgreSQL)")
        if not self.REDIS_URL:
            raise ConfigError("production needs REDIS_URL (jobs run in rq workers)")


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def read_secret_key_file(instance_dir: Path) -> str | None:
    """The key generated earlier into the instance folder, or None; one others can read is refused."""
    path = instance_dir / SECRET_KEY_FILE
    if not path.is_file():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} can be read by other users: run `chmod 600 {path}` (or delete it to get a new one)")
    return path.read_text(encoding="ascii").strip() or None


def generate_secret_key_file(instance_dir: Path) -> str:
    """Write a new random key to ``instance/secret_key``, readable by its owner only, and return it."""
    instance_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance_dir / SECRET_KEY_FILE
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write a different key; the loser reads the winner's.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret_key_file(instance_dir) or key
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def load_config(name: str | None = None, **overrides) -> BaseConfig:
    explicit = bool(name or os.environ.get("ONEWINDOW_ENV"))
    name = name or os.environ.get("ONEWINDOW_ENV") or "development"
    if name not in CONFIGS:
        raise ConfigError(f"ONEWINDOW_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    config = CONFIGS[name](**overrides)
    config.explicit = explicit
    config.validate()
    return config
