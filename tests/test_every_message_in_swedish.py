"""Every message staff or buyers may see exists in Swedish: a message in the code without a
Swedish translation (or only a fuzzy one) fails here."""

import shutil
import subprocess
import sys

import polib
import pytest

from config.settings import BASE_DIR

IGNORED = shutil.ignore_patterns(".venv", ".git", "var", "*.sqlite3", "__pycache__", "node_modules")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """makemessages over a copy of the project: what the code asks for, merged with what
    locale/sv/LC_MESSAGES/django.po translates (the real file is left as it is)."""
    copy = tmp_path_factory.mktemp("messages") / "project"
    shutil.copytree(BASE_DIR, copy, ignore=IGNORED)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "sv", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"DJANGO_DEV_MODE": "1", "PATH": "/usr/bin:/bin"},
    )
    return polib.pofile(str(copy / "locale" / "sv" / "LC_MESSAGES" / "django.po"))


def test_every_message_in_the_code_has_a_swedish_translation(catalogue):
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]

    assert untranslated == []


def test_no_swedish_translation_is_fuzzy(catalogue):
    # makemessages marks a new message fuzzy when it guesses from a similar one.
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []
