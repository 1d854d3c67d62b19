"""Password guessing against the real sign-in page, and what it costs everyone else. Prints JSON.

    .venv/bin/python bench/sign_in_attack_bench.py [--attempts 1000] [--threads 4] [--unthrottled 40]

A fresh SQLite database in a temporary instance (migrated, demo accounts seeded) is served by werkzeug's threaded
server on 127.0.0.1 in this process; the rate-limit counters live in memory, or in Redis with ``REDIS_URL`` set.
Two bounded attacks, each from one address (127.0.0.1) with fresh counters:

1. ``--attempts`` wrong passwords against one account (resident@demo.onewindow.test);
2. ``--attempts`` wrong passwords spread over as many account names (a few real ones, the rest unknown).

Each attack posts the sign-in form from ``--threads`` threads (each with its own session and CSRF token, as a
script would), while one more thread reads a plain page (the start page) in a loop; the figures are how many
passwords the server actually checked (argon2id verifications, counted by wrapping the real hasher), the answers by
status, and the plain page's latency during the attack against a quiet baseline. ``--unthrottled N`` repeats
attack 1 with N attempts and the throttle and limiter switched off, for comparison.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from argon2 import PasswordHasher  # noqa: E402

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"')
VICTIM = "resident@demo.onewindow.test"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Checks:
    """Counts argon2 verifications: the real verify, wrapped (a measurement, not a stand-in)."""

    def __init__(self):
        self.count = 0
        self._lock = threading.Lock()
        real = PasswordHasher.verify

        def counted(hasher, hash_, password):
            with self._lock:
                self.count += 1
            return real(hasher, hash_, password)

        PasswordHasher.verify = counted


def build_app(instance: Path):
    os.environ.setdefault("ONEWINDOW_PERIODIC", "0")
    from flask_migrate import upgrade

    from app import create_app
    from services.catalogue.demo import seed_demo

    app = create_app("development", INSTANCE_DIR=str(instance), DATABASE_URL=f"sqlite:///{instance / 'bench.db'}",
                     REDIS_URL=os.environ.get("REDIS_URL", ""), RQ_QUEUE_PREFIX=f"bench-{os.getpid()}-",
                     RUN_PERIODIC_IN_PROCESS=False)
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
    with app.extensions["onewindow_db"].transaction() as session:
        seed_demo(session)
    return app


class Client:
    """One HTTP/1.1 connection with its own session cookie, like one attacking script."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie and set_cookie.startswith("session="):
            value = set_cookie.split(";", 1)[0]
            self.cookie = "" if value == "session=" else value
        return response.status, text

    def csrf_token(self) -> str:
        _status, html = self.request("GET", "/auth/sign-in")
        match = TOKEN.search(html)
        return unescape(match.group(1) or match.group(2))


def _answer(status: int, html: str) -> str:
    if status == 429:
        return "429 locked (no password checked)" if "sign-in is paused" in html else "429 rate limit (flask-limiter)"
    if status == 400:
        return "400 wrong password" if "not correct" in html else "400 other"
    return str(status)


def attack(port: int, emails: list[str], threads: int) -> dict:
    """Post one wrong password per e-mail in ``emails`` (shared out over ``threads``), timing a plain page meanwhile."""
    statuses: Counter = Counter()
    plain: list[float] = []
    done = threading.Event()
    lock = threading.Lock()

    def reader():
        client = Client(port)
        while not done.is_set():
            started = time.perf_counter()
            client.request("GET", "/")
            plain.append(time.perf_counter() - started)

    def guesser(share: list[str]):
        client = Client(port)
        token = client.csrf_token()
        for email in share:
            status, html = client.request("POST", "/auth/sign-in?lang=en", urlencode(
                {"csrf_token": token, "email": email, "password": "not-the-password-1"}))
            with lock:
                statuses[_answer(status, html)] += 1

    reading = threading.Thread(target=reader)
    reading.start()
    started = time.perf_counter()
    workers = [threading.Thread(target=guesser, args=(emails[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    done.set()
    reading.join()
    return {"attempts": len(emails), "seconds": round(elapsed, 2), "answers": dict(sorted(statuses.items())),
            "plain_page_during": {"requests": len(plain), "p50_ms": _ms(percentile(plain, 0.50)),
                                  "p95_ms": _ms(percentile(plain, 0.95)), "max_ms": _ms(max(plain, default=None))}}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def baseline(port: int, n: int = 200) -> dict:
    client = Client(port)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        client.request("GET", "/")
        times.append(time.perf_counter() - started)
    return {"requests": n, "p50_ms": _ms(percentile(times, 0.5)), "p95_ms": _ms(percentile(times, 0.95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--unthrottled", type=int, default=40, help="attempts of the comparison run (0: none)")
    args = parser.parse_args()

    from werkzeug.serving import make_server

    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="onewindow-attack-") as tmp:
        app = build_app(Path(tmp))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_port
        result = {"nproc": os.cpu_count(), "load_average_before": os.getloadavg(),
                  "limiter_storage": app.config["RATELIMIT_STORAGE_URI"].split("://")[0],
                  "threads": args.threads, "quiet_plain_page": baseline(port)}

        def run(name: str, emails: list[str]) -> None:
            app.config["RATELIMIT_PREFIX"] = f"bench-{name}-{time.time_ns()}-"  # fresh counters
            before = checks.count
            figures = attack(port, emails, args.threads)
            figures["passwords_checked"] = checks.count - before
            result[name] = figures

        run("one_account", [VICTIM] * args.attempts)
        real = [VICTIM, "resident2@demo.onewindow.test", "owner@demo.onewindow.test", "agent@demo.onewindow.test"]
        run("spread_over_accounts", [real[n] if n < len(real) else f"guess{n}@demo.onewindow.test"
                                     for n in range(args.attempts)])
        # The account and address locks alone (flask-limiter's per-address guard opened up): what they bound.
        app.config["SIGN_IN_RATE_LIMIT"] = "1000000/minute"
        run("one_account_locks_only", [VICTIM] * args.attempts)
        run("spread_over_accounts_locks_only", [real[n] if n < len(real) else f"guess{n}@demo.onewindow.test"
                                                for n in range(args.attempts)])
        if args.unthrottled:
            app.config.update(SIGN_IN_THROTTLE=False, SIGN_IN_RATE_LIMIT="1000000/minute")
            run("one_account_unthrottled", [VICTIM] * args.unthrottled)
        result["load_average_after"] = os.getloadavg()
        server.shutdown()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
