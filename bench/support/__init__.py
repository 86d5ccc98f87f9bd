"""What the benches share: a throwaway database and settings, Django set up on it, the
sandbox broker systems in a subprocess, and an MSPECS agency with one open viewing on them."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
        # The sandbox broker systems serve plain http on loopback: allowed explicitly.
        "BROKER_ALLOWED_HOSTS": "http://127.0.0.1",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def setup_django(env: dict[str, str]) -> None:
    """Migrate the bench database, set Django up on it in this process, and empty it
    (a reused BENCH_DATABASE_URL)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
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
    """The sandbox broker systems (on a free port unless given); returns the process and its
    base URL."""
    process = manage(
        *("sandbox", "--port", str(port), "--latency", str(latency)),
        env=env,
        stdout=subprocess.PIPE,
    )
    line = process.stdout.readline().decode()  # "Sandbox broker systems: MSPECS {url}/mspecs, ..."
    if "MSPECS" not in line:
        raise RuntimeError(f"sandbox did not start: {line!r}")
    return process, line.split("MSPECS ", 1)[1].split("/mspecs", 1)[0]


def make_mspecs_viewing(sandbox_url: str):
    """An MSPECS agency whose credential points at the sandbox, and one open ordinary
    viewing tomorrow."""
    from datetime import timedelta

    from django.utils import timezone

    from agencies.models import Agency, BrokerSystem, ProviderCredential
    from bookings.models import Viewing

    agency = Agency.objects.create(name="Bench", slug="bench", broker_system=BrokerSystem.MSPECS)
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
