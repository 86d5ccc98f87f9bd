import pytest

from agencies.models import Agency, Provider, ProviderCredential
from bookings.providers.mspecs.client import MspecsClient, SlotStatus, SlotStatusError


@pytest.fixture
def mspecs_client(db, sandbox):
    agency = Agency.objects.create(name="Mäklarna", slug="maklarna", provider=Provider.MSPECS)
    credential = ProviderCredential.objects.create(
        agency=agency, base_url=sandbox.mspecs_url, username="sandbox", secret="sandbox-secret"
    )
    return MspecsClient(credential)


def test_slot_status_reports_every_slot_of_the_deal(mspecs_client, sandbox):
    sandbox.set_deal("deal-1", {"slot-a": 2, "slot-b": 5}, booked={"slot-a": 2})

    assert mspecs_client.slot_status("deal-1") == {
        "slot-a": SlotStatus(number_booked=2, fully_booked=True),
        "slot-b": SlotStatus(number_booked=0, fully_booked=False),
    }


def test_slot_status_of_an_unknown_deal_is_an_error(mspecs_client):
    with pytest.raises(SlotStatusError, match="HTTP 404"):
        mspecs_client.slot_status("no-such-deal")


def test_slot_status_with_a_wrong_secret_is_an_error(mspecs_client, sandbox):
    sandbox.set_deal("deal-1", {"slot-a": 2})
    mspecs_client.session.auth = ("sandbox", "wrong")
    with pytest.raises(SlotStatusError, match="HTTP 401"):
        mspecs_client.slot_status("deal-1")
