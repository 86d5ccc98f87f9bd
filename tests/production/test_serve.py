"""`make serve`: the production stack on this machine (gunicorn, the worker, the scheduler),
with production settings, on the database DATABASE_URL names, from a checkout without .env."""

import os
import signal
import socket
import subprocess
import time

import pytest
import requests
from django.conf import settings

from bookings.models import Heartbeat
from tests.conftest import database_url, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(transactional_db, tmp_path):
    """`make serve` on the test database, its keys in a throwaway file of this test."""
    port = free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DJANGO_DEV_MODE", "DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS")
    }
    process = subprocess.Popen(
        ["make", "serve", f"SERVE_ENV={tmp_path / 'serve.env'}", f"SERVE_PORT={port}"],
        cwd=settings.BASE_DIR,
        env=environment
        | {
            "DATABASE_URL": database_url(),
            "STATIC_ROOT": str(tmp_path / "static"),
            "HEARTBEAT_SECONDS": "0.5",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # one process group: make, gunicorn, worker, scheduler
    )
    base = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return requests.get(f"{base}/healthz", timeout=10).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            assert process.poll() is None, process.stdout.read()
            return False

    try:
        wait_until(answers, timeout=120, interval=0.5)
        yield base, tmp_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(0.5)  # the children's own shutdown


def test_make_serve_runs_the_production_stack_on_the_given_database(served):
    """One test, as starting the stack takes a while: every part of it is checked here."""
    base, tmp_path = served

    # Healthy: gunicorn answers, and the worker and the scheduler beat in the test database
    # (they used DATABASE_URL, not a database of their own).
    assert requests.get(f"{base}/healthz", timeout=10).json()["status"] == "ok"
    assert set(Heartbeat.objects.values_list("process", flat=True)) == {"worker", "scheduler"}

    # DEBUG is off: a missing page is a plain 404, no technical page.
    missing = requests.get(f"{base}/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "URLconf" not in missing.text

    # Plain http on localhost (no redirect to https); static files collected, compressed,
    # under hashed names, cached for good.
    login = requests.get(f"{base}/admin/login/", timeout=10)
    assert login.status_code == 200
    [stylesheet] = [
        part.split('"')[0]
        for part in login.text.split('href="')[1:]
        if part.startswith("/static/admin/css/base.")
    ]
    assert stylesheet.count(".") == 2  # base.<hash>.css
    css = requests.get(f"{base}{stylesheet}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Encoding"] == "gzip"
    assert "immutable" in css.headers["Cache-Control"]
    assert (tmp_path / "static" / stylesheet.removeprefix("/static/")).exists()

    # The keys: fresh random ones, in a file only its owner reads.
    env_file = tmp_path / "serve.env"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert len(values["SECRET_KEY"]) >= 50
    assert values["SECRET_KEY"] != settings.DEV_SECRET_KEY
    assert values["FIELD_ENCRYPTION_KEYS"] != settings.DEV_FIELD_ENCRYPTION_KEY
