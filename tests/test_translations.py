"""The Swedish catalog is compiled into the repository (no gettext needed at run time):
the .mo must say what the .po says."""

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "locale" / "sv" / "LC_MESSAGES"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.MULTILINE)


def po_translations() -> dict[str, str]:
    def join(quoted: str) -> str:
        return "".join(ast.literal_eval(line) for line in quoted.split("\n") if line)

    text = (CATALOG / "django.po").read_text(encoding="utf-8")
    entries = {join(msgid): join(msgstr) for msgid, msgstr in ENTRY.findall(text)}
    # Untranslated entries fall back to English and are not in the .mo.
    return {msgid: msgstr for msgid, msgstr in entries.items() if msgid and msgstr}


def test_compiled_catalog_matches_the_po_file():
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    translations = po_translations()

    assert translations
    assert {msgid: catalog.gettext(msgid) for msgid in translations} == translations


def test_no_entry_is_left_fuzzy():
    # msgmerge guesses fuzzy translations for new texts; they are never compiled.
    assert "#, fuzzy" not in (CATALOG / "django.po").read_text(encoding="utf-8")
