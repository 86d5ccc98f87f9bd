"""The figures the README and the docs state are the app's: each is read back from the
settings' defaults (config/settings.py), the Makefile or the code, so a change there fails
here until the text follows. The README once said six attempts where the app makes eleven.

The README is read on a fresh machine, so every number in it is checked; the docs' figures
are checked where they are stated: a setting followed by its default in parentheses
("`CIRCUIT_BREAKER_THRESHOLD` (5)"), the settings table, and the figures listed below."""

import ast
import re
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

from bookings import cockpit, pagination
from bookings.delivery import sending
from bookings.management.commands import apply_retention
from bookings.models import BookingStatus
from bookings.providers import plugin_for
from bookings.quarantine import views as quarantine_views

ROOT = Path(settings.BASE_DIR)
README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
MAKEFILE = (ROOT / "Makefile").read_text()


COMPUTED = object()


def setting_defaults() -> dict[str, object]:
    """Each environment variable config/settings.py reads with a literal default, by name:
    what a fresh machine gets (the test run's own environment does not count)."""
    found: dict[str, list] = {}
    for node in ast.walk(ast.parse((ROOT / "config" / "settings.py").read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            default = next((k.value for k in node.keywords if k.arg == "default"), None)
            try:
                value = ast.literal_eval(default)
            except ValueError:  # computed from another setting: no single default to state
                value = COMPUTED
            found.setdefault(node.args[0].value, []).append(value)
    return {
        name: values[0]
        for name, values in found.items()
        if len(values) == 1 and values[0] is not COMPUTED
    }


DEFAULTS = setting_defaults()
RETRY_SCHEDULE = DEFAULTS["DELIVERY_RETRY_SCHEDULE"]


def as_text(value) -> str:
    """A default as the docs write it: a list comma-separated, 10.0 as 10."""
    if isinstance(value, list):
        return ",".join(as_text(item) for item in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def number(text: str) -> str:
    return text.replace(",", "")


def makefile(pattern: str) -> str:
    return re.search(pattern, MAKEFILE).group(1)


def duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def python_minimum() -> str:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    return requires.removeprefix(">=")


# The README's figures: a pattern whose first group must read as the value beside it.
README_FIGURES = {
    r"Python (\S+) or newer": python_minimum(),
    r"http://(\S+?)/admin/": makefile(r"runserver (\S+)"),
    r"http://(\S+?)/book/": makefile(r"runserver (\S+)"),
    r"(http://\S+) \| the sandbox": f"http://{DEFAULTS['SANDBOX_HOST']}:{DEFAULTS['SANDBOX_PORT']}/",
    r"(http://\S+) \| the mail catcher": makefile(r"Mail catcher: +(\S+)"),
    r"all its (\d+)\s+attempts": str(len(RETRY_SCHEDULE) + 1),
}


@pytest.mark.parametrize("pattern", README_FIGURES)
def test_the_readme_states_the_apps_figure(pattern):
    stated = re.findall(pattern, README)

    assert stated, f"the README no longer says {pattern!r}: drop it from README_FIGURES"
    assert set(stated) == {README_FIGURES[pattern]}


def test_every_number_in_the_readme_is_one_of_its_checked_figures():
    unchecked = README
    for pattern in README_FIGURES:
        unchecked = re.sub(pattern, "", unchecked)

    lines = [line for line in unchecked.splitlines() if re.search(r"\d", line)]
    assert lines == [], "a number in the README with no check in README_FIGURES"


def test_the_readme_quick_start_fits_on_one_screen_and_the_readme_stays_short():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]

    assert len(quick_start.splitlines()) <= 40
    assert len(README.splitlines()) < 300


def anchors(text: str) -> set[str]:
    """The headings' anchors as GitHub makes them: lower case, punctuation dropped."""
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_between_the_readme_and_the_docs_leads_somewhere():
    documents = {ROOT / "README.md": README} | {ROOT / "docs" / n: t for n, t in DOCS.items()}
    links = [
        (path, target, anchor)
        for path, text in documents.items()
        for target, anchor in re.findall(r"\]\(([^):#]*)(?:#([^)]+))?\)", text)
    ]

    assert links
    for path, target, anchor in links:
        linked = (path.parent / target) if target else path
        assert linked.exists(), (path.name, target)
        if anchor:
            assert anchor in anchors(linked.read_text()), (path.name, target, anchor)


# The docs' figures beyond "`SETTING` (default)": a pattern, and what each group must read.
DOC_FIGURES = {
    r"(\d+) attempts": [str(len(RETRY_SCHEDULE) + 1)],
    r"`DELIVERY_RETRY_SCHEDULE` \(([^)]+?) by default": [
        ", ".join(duration(seconds) for seconds in RETRY_SCHEDULE)
    ],
    r"about (\d+) h, at least (\d+) h with jitter": [
        str(int(sum(RETRY_SCHEDULE) / 3600)),
        str(int(sum(RETRY_SCHEDULE) * (1 - sending.RETRY_JITTER) / 3600)),
    ],
    r"±(\d+)% jitter": [f"{sending.RETRY_JITTER * 100:g}"],
    r"one process\s+keeps (\d+) calls": [as_text(DEFAULTS["DELIVERY_CONCURRENCY"])],
    r"the mail catcher at (http://\S+/)": [makefile(r"Mail catcher: +(\S+)")],
    r"gunicorn on (http://\S+/)\s+\(`SERVE_PORT`\)": [
        f"http://127.0.0.1:{makefile(r'SERVE_PORT \?= (\d+)')}/"
    ],
    r"the last (\d+) days": [str(cockpit.CHART_DAYS)],
    r"more than ([\d,]+) bookings": [f"{pagination.COUNT_LIMIT:,}"],
    r"more than ([\d,]+) pending entries": [f"{quarantine_views.COUNT_LIMIT:,}"],
    r"progress\s+bar once there are ([\d,]+) rows": [f"{apply_retention.PROGRESS_BAR_FROM_ROWS:,}"],
    r"MSPECS: first and last name (\d+)\s+characters, email (\d+), phone (\d+); "
    r"Vitec: email (\d+)": [
        str(plugin_for("mspecs").field_limits["first_name"]),
        str(plugin_for("mspecs").field_limits["email"]),
        str(plugin_for("mspecs").field_limits["phone"]),
        str(plugin_for("vitec").field_limits["email"]),
    ],
}


@pytest.mark.parametrize("pattern", DOC_FIGURES)
def test_the_docs_state_the_apps_figure(pattern):
    stated = [
        (name, match.groups())
        for name, text in DOCS.items()
        for match in re.finditer(pattern, text)
    ]

    assert stated, f"no document says {pattern!r} any more: drop it from DOC_FIGURES"
    for name, groups in stated:
        assert list(groups) == DOC_FIGURES[pattern], name


def test_a_setting_followed_by_a_figure_states_its_default():
    stated = [
        (name, setting, figure)
        for name, text in {"README.md": README, **DOCS}.items()
        for setting, figure in re.findall(r"`([A-Z][A-Z0-9_]+)` \(`?(\d[\d,.]*)", text)
        # A schedule is a list: DOC_FIGURES reads it whole.
        if setting in DEFAULTS and not isinstance(DEFAULTS[setting], list)
    ]

    assert stated
    for name, setting, figure in stated:
        assert number(figure).rstrip(".") == number(as_text(DEFAULTS[setting])), (name, setting)


def settings_table() -> list[tuple[list[str], str]]:
    """docs/settings.md's rows: the variables the row names, and its default cell."""
    rows = []
    for line in DOCS["settings.md"].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows.append((re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]), cells[1]))
    return rows


def test_the_settings_table_names_every_setting_the_app_reads_once():
    read = set()
    for node in ast.walk(ast.parse((ROOT / "config" / "settings.py").read_text())):
        if (
            isinstance(node, ast.Call)
            and getattr(getattr(node.func, "value", None), "id", None) == "env"
            and node.args
        ):
            read.add(node.args[0].value)
    named = [name for names, _ in settings_table() for name in names]

    assert read - set(named) == set()
    assert set(named) - read == set()
    assert len(named) == len(set(named)), "a variable in two rows"


def test_the_settings_table_states_each_literal_default():
    """A row's default cell of backticked values only (`10`, `5`), one per variable, is the
    defaults in order; a cell in words ("none: required") is not a figure."""
    checked = 0
    for names, cell in settings_table():
        values = re.fullmatch(r"`[^`]*`(, `[^`]*`)*", cell) and re.findall(r"`([^`]*)`", cell)
        if not values or len(values) != len(names) or any(n not in DEFAULTS for n in names):
            continue
        assert values == [as_text(DEFAULTS[name]) for name in names], names
        checked += 1

    assert checked >= 40


def test_the_staff_guide_explains_every_booking_status():
    rows = re.findall(r"^\| ([a-z ]+?)(?: \(\w+\))? \|", DOCS["guide-staff.md"], re.MULTILINE)

    assert {status.replace("_", " ") for status in BookingStatus.values} <= set(rows)
