"""Django's SQLite backend, with the threads of one process taking turns to write.

SQLite lets one connection write at a time. A connection that finds the database locked
sleeps in SQLite's busy handler in growing steps (1, 2, 5, 10, 15, 20, 25 ms, ...), so a
worker thread waiting for another thread's millisecond-long write often sleeps on long
after the lock is free, holding its delivery call slot meanwhile. Here the threads of one
process queue on a Python lock instead, which hands over the moment a write ends; only
writers in other processes (the web process, a second worker) still meet the busy handler.
It also converts each statement's placeholders once rather than on every execution.
config/settings.py uses it for every SQLite database.
"""

import functools
import threading
from contextlib import contextmanager

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# One lock per database file, shared by all connections of this process.
WRITE_LOCKS: dict[str, threading.Lock] = {}
WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


@functools.lru_cache(maxsize=1024)
def format_to_qmark(query: str) -> str:
    """The statement with "qmark" placeholders, as SQLiteCursorWrapper.convert_query makes it."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class OneWriterCursor(base.SQLiteCursorWrapper):
    def __init__(self, connection, *, wrapper):
        super().__init__(connection)
        self.wrapper = wrapper

    def convert_query(self, query, *, param_names=None):
        # The ORM sends the same few statements over and over: convert each once, not on
        # every execution (a regular expression over the whole statement).
        if param_names is None:
            return format_to_qmark(query)
        return super().convert_query(query, param_names=param_names)

    def execute(self, query, params=None):
        if self.connection.in_transaction or not query.lstrip()[:7].upper().startswith(
            WRITE_STATEMENTS
        ):
            return super().execute(query, params)
        # A write in autocommit mode is a transaction of its own.
        with self.wrapper.writing():
            return super().execute(query, params)

    def executemany(self, query, param_list):
        if self.connection.in_transaction:
            return super().executemany(query, param_list)
        with self.wrapper.writing():
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    held_write_lock = None  # the lock while this connection writes

    def write_lock(self):
        return WRITE_LOCKS.setdefault(str(self.settings_dict["NAME"]), threading.Lock())

    def acquire_write_lock(self) -> None:
        lock = self.write_lock()
        # As long as SQLite itself would wait before saying "database is locked".
        if not lock.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5)):
            raise OperationalError("database is locked")
        self.held_write_lock = lock

    def release_write_lock(self) -> None:
        lock, self.held_write_lock = self.held_write_lock, None
        if lock is not None:
            lock.release()

    @contextmanager
    def writing(self):
        self.acquire_write_lock()
        try:
            yield
        finally:
            self.release_write_lock()

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=functools.partial(OneWriterCursor, wrapper=self))

    def _start_transaction_under_autocommit(self):
        # Every transaction begins IMMEDIATE (config/settings.py): it takes the write lock.
        self.acquire_write_lock()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.release_write_lock()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self.release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self.release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self.release_write_lock()
