"""A real OneWindow server (flask run on a fresh SQLite database) and one headless chromium for the browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from accessibility.browser import chromium_path, launch_browser

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Migrate, seed and serve a separate instance; the browser sees exactly what `make run` serves."""
    instance = tmp_path_factory.mktemp("live")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # An explicit development environment, as `make run` sets: it generates the instance's secret key. The sweeps
    # sign in from one address many times a minute, more than the sign-in rate limit lets a person.
    env.update(ONEWINDOW_INSTANCE=str(instance), FLASK_APP="wsgi", PUBLIC_URL="http://127.0.0.1",
               ONEWINDOW_ENV="development", SIGN_IN_RATE_LIMIT="10000/minute")
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    log = open(instance / "server.log", "wb")
    server = subprocess.Popen(flask + ["run", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        raise RuntimeError("the OneWindow server did not start: " + (instance / "server.log").read_text())
    yield base
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(chromium_path()).exists():
        pytest.skip(f"chromium not found at {chromium_path()} (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()
