"""The SQLite backend (config/sqlite_one_writer): the threads of one process take turns to
write, and statements reach SQLite as Django's own backend sends them."""

import threading
import time

import pytest
from django.db import connection, transaction

from bookings.models import Heartbeat

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend")


@pytest.mark.django_db(transaction=True)
def test_a_write_waits_for_another_threads_transaction_instead_of_failing():
    other_is_writing = threading.Event()
    errors = []

    def write_slowly():
        try:
            with transaction.atomic():
                Heartbeat.beat(Heartbeat.Process.WORKER)
                other_is_writing.set()
                time.sleep(0.3)  # longer than SQLite's first busy-handler steps
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=write_slowly)
    other.start()
    other_is_writing.wait(5)
    Heartbeat.beat(Heartbeat.Process.SCHEDULER)
    other.join()

    assert errors == []
    assert Heartbeat.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("attempt", ["first", "again"])  # converted, then from the cache
def test_placeholders_and_literal_percent_signs_are_converted_alike_every_time(attempt):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s || '%%'", ["50"])

        assert cursor.fetchone() == ("50%",)
