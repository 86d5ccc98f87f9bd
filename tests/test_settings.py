import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 60 + "-a-long-random-production-secret-key",
    "FIELD_ENCRYPTION_KEYS": "Qk5lc3RhbGxuaW5nLWtleS1mb3ItdGVzdHMtb25seSE=",
    "ALLOWED_HOSTS": "bridge.example.se",
    "PATH": "/usr/bin:/bin",
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_check_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_the_development_secret_key_is_refused_when_debug_is_off():
    env = {**PRODUCTION_ENV}
    del env["SECRET_KEY"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_the_development_encryption_key_is_refused_when_debug_is_off():
    env = {**PRODUCTION_ENV}
    del env["FIELD_ENCRYPTION_KEYS"]

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "Set FIELD_ENCRYPTION_KEYS" in result.stderr
