"""Fixtures the buyer's tests share."""

import pytest

from agencies.models import Provider


@pytest.fixture
def agency(make_agency):
    return make_agency(Provider.MSPECS, name="Mäklarhuset Uppsala")


@pytest.fixture
def tasks_run_at_once(settings):
    """Tasks run as they are enqueued, so an email goes when its transaction commits."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.SITE_URL = "https://bridge.example.se"
