"""Safe defaults: the settings are checked in a fresh `manage.py` process with exactly the
environment each test gives it (nothing from the shell that runs the tests)."""

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 60 + "-a-long-random-production-secret-key",
    "FIELD_ENCRYPTION_KEYS": "Qk5lc3RhbGxuaW5nLWtleS1mb3ItdGVzdHMtb25seSE=",
    "ALLOWED_HOSTS": "bridge.example.se",
}


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_prints_nothing_with_production_settings():
    result = manage("check", "--deploy", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "System check identified no issues (0 silenced).\n"
    assert result.stderr == ""


def test_the_redis_task_backend_is_chosen_through_the_environment_alone():
    rq_env = PRODUCTION_ENV | {
        "TASKS_BACKEND": "django_tasks_rq.RQBackend",
        "REDIS_URL": "redis://redis.internal:6380/2",
    }

    check = manage("check", "--deploy", env=rq_env)
    queue = manage(
        "shell",
        "--no-imports",
        "-c",
        "import django_rq; kwargs = django_rq.get_queue('default').connection.connection_pool"
        ".connection_kwargs; print(kwargs['host'], kwargs['port'], kwargs['db'])",
        env=rq_env,
    )

    assert check.stdout == "System check identified no issues (0 silenced).\n", check.stderr
    assert queue.stdout == "redis.internal 6380 2\n", queue.stderr


def test_debug_is_off_unless_turned_on():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env=PRODUCTION_ENV,
    )

    assert result.stdout == "False\n", result.stderr


def test_development_mode_turns_on_debug_and_the_development_keys():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SECRET_KEY == s.DEV_SECRET_KEY, s.FIELD_ENCRYPTION_KEYS)",
        env={"DJANGO_DEV_MODE": "1"},
    )

    assert result.stdout == f"True True ['{settings.DEV_FIELD_ENCRYPTION_KEY}']\n", result.stderr


NOT_SET = "it is not set (only DJANGO_DEV_MODE=1 runs with a development key)"
PLACEHOLDER = "it still has the placeholder value from .env.example"
DEVELOPMENT_KEY = "the public development key is refused outside DJANGO_DEV_MODE=1"
WITHOUT_ENCRYPTION_KEY = {
    name: value for name, value in PRODUCTION_ENV.items() if name != "FIELD_ENCRYPTION_KEYS"
}


@pytest.mark.parametrize(
    ("env", "name", "problem"),
    [
        ({}, "SECRET_KEY", NOT_SET),
        (WITHOUT_ENCRYPTION_KEY, "FIELD_ENCRYPTION_KEYS", NOT_SET),
        (
            PRODUCTION_ENV | {"SECRET_KEY": "change-me-to-a-long-random-string"},
            "SECRET_KEY",
            PLACEHOLDER,
        ),
        (
            PRODUCTION_ENV
            | {
                "DJANGO_DEV_MODE": "1",
                "FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},"
                "replace-with-a-fernet-key",
            },
            "FIELD_ENCRYPTION_KEYS",
            PLACEHOLDER,
        ),
        (
            PRODUCTION_ENV | {"DEBUG": "true", "SECRET_KEY": settings.DEV_SECRET_KEY},
            "SECRET_KEY",
            DEVELOPMENT_KEY,
        ),
        (
            PRODUCTION_ENV | {"FIELD_ENCRYPTION_KEYS": settings.DEV_FIELD_ENCRYPTION_KEY},
            "FIELD_ENCRYPTION_KEYS",
            DEVELOPMENT_KEY,
        ),
    ],
    ids=[
        "no-environment-at-all",
        "no-encryption-key",
        "env-example-secret-key",
        "env-example-encryption-key-even-in-development-mode",
        "development-secret-key-even-with-debug-on",
        "development-encryption-key",
    ],
)
def test_the_app_refuses_to_start_without_real_keys_in_one_sentence(env, name, problem):
    result = manage("check", env=env)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"ImproperlyConfigured: Set {name} to a real key before starting the app: {problem}.\n"
    )


def test_a_negative_trusted_proxy_count_refuses_to_start_in_one_sentence():
    result = manage("check", env=PRODUCTION_ENV | {"TRUSTED_PROXY_COUNT": "-1"})

    assert result.returncode == 1
    assert result.stderr == (
        "ImproperlyConfigured: TRUSTED_PROXY_COUNT must be 0 or more, not -1.\n"
    )


def test_an_unknown_log_level_refuses_to_start_in_one_sentence():
    result = manage("check", env=PRODUCTION_ENV | {"LOG_LEVEL": "LOUD"})

    assert result.returncode == 1
    assert result.stderr == (
        "ImproperlyConfigured: LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
        "not 'LOUD'.\n"
    )


def test_the_env_example_placeholders_are_the_ones_refused():
    example = (settings.BASE_DIR / ".env.example").read_text()

    assert f"\nSECRET_KEY={settings.PLACEHOLDER_SECRET_KEY}\n" in example
    assert f"\nFIELD_ENCRYPTION_KEYS={settings.PLACEHOLDER_FIELD_ENCRYPTION_KEY}\n" in example


def test_an_invalid_fernet_key_fails_the_system_check_at_start():
    env = PRODUCTION_ENV | {
        "FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},not-a-fernet-key"
    }

    result = manage("check", env=env)

    assert result.returncode == 1
    assert "agencies.E001" in result.stderr
    assert "Key 2 in FIELD_ENCRYPTION_KEYS is not a valid Fernet key." in result.stderr
    assert "not-a-fernet-key" not in result.stderr


def test_an_invalid_fernet_key_fails_check_deploy():
    env = PRODUCTION_ENV | {"FIELD_ENCRYPTION_KEYS": "x" * 44}

    result = manage("check", "--deploy", env=env)

    assert result.returncode == 1
    assert "agencies.E001" in result.stderr
