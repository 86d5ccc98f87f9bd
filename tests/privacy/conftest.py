"""Two agencies for the data-request tests: scoping is what they are about."""

import pytest

from tests.factories import make_agency


@pytest.fixture
def agency_a(db):
    return make_agency(name="Agency A", slug="agency-a")


@pytest.fixture
def agency_b(db):
    return make_agency(name="Agency B", slug="agency-b")
