"""The Swedish catalog is compiled into the repository (no gettext needed at run time):
the .mo must say what the .po says."""

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "locale" / "sv" / "LC_MESSAGES"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.MULTILINE)
PLURAL_ENTRY = re.compile(
    r'^msgid ((?:".*"\n)+)msgid_plural ((?:".*"\n)+)'
    r'msgstr\[0\] ((?:".*"\n)+)msgstr\[1\] ((?:".*"\n?)+)',
    re.MULTILINE,
)


def join(quoted: str) -> str:
    return "".join(ast.literal_eval(line) for line in quoted.split("\n") if line)


def compiled_catalog() -> gettext.GNUTranslations:
    with (CATALOG / "django.mo").open("rb") as compiled:
        return gettext.GNUTranslations(compiled)


def po_translations() -> dict[str, str]:
    text = (CATALOG / "django.po").read_text(encoding="utf-8")
    entries = {join(msgid): join(msgstr) for msgid, msgstr in ENTRY.findall(text)}
    # Untranslated entries fall back to English and are not in the .mo.
    return {msgid: msgstr for msgid, msgstr in entries.items() if msgid and msgstr}


def po_plural_translations() -> dict[tuple[str, str], tuple[str, str]]:
    """{(singular, plural): (one, other)} for the translated plural entries (Swedish has two
    forms)."""
    text = (CATALOG / "django.po").read_text(encoding="utf-8")
    entries = {
        (join(singular), join(plural)): (join(one), join(other))
        for singular, plural, one, other in PLURAL_ENTRY.findall(text)
    }
    return {key: forms for key, forms in entries.items() if all(forms)}


def test_compiled_catalog_matches_the_po_file():
    catalog = compiled_catalog()
    translations = po_translations()

    assert translations
    assert {msgid: catalog.gettext(msgid) for msgid in translations} == translations


def test_compiled_catalog_matches_the_po_files_plural_entries():
    catalog = compiled_catalog()
    translations = po_plural_translations()

    assert translations
    assert {
        key: (catalog.ngettext(*key, 1), catalog.ngettext(*key, 2)) for key in translations
    } == translations


def test_no_entry_is_left_fuzzy():
    # msgmerge guesses fuzzy translations for new texts; they are never compiled.
    assert "#, fuzzy" not in (CATALOG / "django.po").read_text(encoding="utf-8")
