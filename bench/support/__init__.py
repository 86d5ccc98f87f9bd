"""What the benches share: a throwaway database and settings, Django set up on it, the
sandbox providers in a subprocess, and an MSPECS agency with one open viewing on them."""

import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
# Settings for serving the intake to a bench's load: plain http on loopback, no rate limit.
INTAKE_SERVER = {
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "API_RATE_LIMIT_PER_KEY": "0",
}


def bench_environment(scratch: Path, **overrides: str) -> dict[str, str]:
    """Settings for the bench and its subprocesses: a SQLite file in `scratch`, or
    BENCH_DATABASE_URL (e.g. a scratch PostgreSQL database that may be wiped)."""
    from cryptography.fernet import Fernet

    database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch / 'bench.db'}"
    return os.environ | {
        "DATABASE_URL": database_url,
        # Production-like: DEBUG off keeps Django from recording every query.
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(scratch / "static"),
        # The sandbox providers serve plain http on loopback: allowed explicitly.
        "BROKER_ALLOWED_HOSTS": "http://127.0.0.1",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def setup_django(env: dict[str, str]) -> None:
    """Migrate the bench database and collect the static files (DEBUG is off: pages name
    them by their hashed names), set Django up on it in this process, and empty it (a
    reused BENCH_DATABASE_URL)."""
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "-v", "0"], cwd=ROOT, env=env, check=True
        )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("flush", "--noinput", verbosity=0)


def manage(*args: str, env: dict, nice: int = 0, **popen) -> subprocess.Popen:
    """`manage.py ARGS` in a subprocess, at a lower CPU priority when `nice` is given."""
    command = [sys.executable, "manage.py", *args]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    return subprocess.Popen(command, cwd=ROOT, env=env, **popen)


def start_sandbox(env: dict, *, latency: float = 0.0, port: int = 0):
    """The sandbox providers (on a free port unless given); returns the process and its
    base URL."""
    process = manage(
        *("sandbox", "--port", str(port), "--latency", str(latency)),
        env=env,
        stdout=subprocess.PIPE,
    )
    line = process.stdout.readline().decode()  # "Sandbox providers: MSPECS {url}/mspecs, ..."
    if "MSPECS" not in line:
        raise RuntimeError(f"sandbox did not start: {line!r}")
    return process, line.split("MSPECS ", 1)[1].split("/mspecs", 1)[0]


def make_mspecs_viewing(sandbox_url: str):
    """An MSPECS agency whose credential points at the sandbox, and one open ordinary
    viewing tomorrow."""
    from datetime import timedelta

    from django.utils import timezone

    from agencies.models import Agency, Provider, ProviderCredential
    from bookings.models import Viewing

    agency = Agency.objects.create(name="Bench", slug="bench", provider=Provider.MSPECS)
    ProviderCredential.objects.create(
        agency=agency, base_url=f"{sandbox_url}/mspecs", username="sandbox", secret="sandbox-secret"
    )
    starts = timezone.now() + timedelta(days=1)
    return Viewing.objects.create(
        agency=agency,
        provider_viewing_id="bench-viewing",
        title="Bench",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )


def start(stack: ExitStack, process: subprocess.Popen) -> subprocess.Popen:
    stack.callback(stop, process)
    return process


def start_sandbox_until_done(stack: ExitStack, env: dict, port: int = 0):
    process, url = start_sandbox(env, port=port)
    start(stack, process)
    return process, url


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_gunicorn(stack: ExitStack, env: dict, workers: int) -> str:
    # Bind here and hand gunicorn the socket: an ephemeral port with no race.
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    stack.callback(listener.close)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"fd://{listener.fileno()}",
    ]
    command += ["--workers", str(workers), "--log-level", "warning"]
    start(stack, subprocess.Popen(command, cwd=ROOT, env=env, pass_fds=[listener.fileno()]))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/openapi.json", timeout=5)
            return url
        except requests.RequestException:
            time.sleep(0.1)
    sys.exit("gunicorn did not start")


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0

    def figures(self) -> dict:
        latencies = sorted(self.latencies)
        return {
            "rps": len(latencies) / self.wall,
            "requests": len(latencies),
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        }


def load(
    url: str,
    raw_key: str,
    seconds: float,
    concurrency: int,
    label: str,
    phase: Phase,
    until: threading.Event | None = None,
):
    """POST bookings to the JSON intake from `concurrency` threads for `seconds` (or until
    `until` is set), adding to `phase`; every answer must be 202."""
    latencies = phase.latencies
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def keep_going() -> bool:
        return time.monotonic() < stop_at and not (until and until.is_set())

    def client(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {raw_key}"
        sent = 0
        while keep_going():
            sent += 1
            payload = {
                "first_name": "Bench",
                "last_name": f"Buyer {number}",
                "email": f"{label}-{number}-{sent}@example.se",
                "phone": "070-111 11 11",
                "consent": True,
            }
            began = time.perf_counter()
            response = session.post(url, json=payload, timeout=30)
            elapsed = time.perf_counter() - began
            with lock:
                if response.status_code == 202:
                    latencies.append(elapsed)
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    if failures:
        sys.exit(f"{label}: {len(failures)} requests failed, first: {failures[0]}")
    phase.wall += wall
