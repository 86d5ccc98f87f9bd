"""The sandbox provider servers: steered by their control API, in process or over HTTP
(the benches), and imported by no runtime code path."""

import ast
from pathlib import Path

import pytest
import requests

from bookings.sandbox import SandboxProviders
from config.settings import BASE_DIR

SANDBOX = "bookings.sandbox"
# Where the sandbox may be imported: itself, and the development commands that serve it
# (`manage.py sandbox`; `manage.py demo`, which delivers its bookings to its own sandbox).
ALLOWED = {
    Path("bookings/sandbox"),
    # Each provider's sandbox routes, beside its client (no runtime code imports them).
    *(
        path.relative_to(BASE_DIR)
        for path in (BASE_DIR / "bookings/providers").glob("*/sandbox.py")
    ),
    Path("bookings/management/commands/sandbox.py"),
    Path("bookings/management/commands/demo.py"),
}


def runtime_modules():
    for package in ("agencies", "bookings", "config"):
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            relative = path.relative_to(BASE_DIR)
            if not any(relative == allowed or allowed in relative.parents for allowed in ALLOWED):
                yield relative


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse((BASE_DIR / path).read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imports_sandbox(path: Path) -> bool:
    return any(name == SANDBOX or name.startswith(f"{SANDBOX}.") for name in imported_modules(path))


def test_no_runtime_module_imports_the_sandbox():
    modules = list(runtime_modules())

    assert Path("bookings/delivery/sending.py") in modules  # the scan sees runtime code
    assert [path for path in modules if imports_sandbox(path)] == []


def test_the_scan_finds_an_import_of_the_sandbox(tmp_path, monkeypatch):
    for source in ("import bookings.sandbox", "from bookings import sandbox"):
        (tmp_path / "module.py").write_text(source)
        monkeypatch.setattr("tests.test_sandbox.BASE_DIR", tmp_path)
        assert imports_sandbox(Path("module.py")), source


def control(sandbox, command, body=None):
    response = requests.post(f"{sandbox.url}/_sandbox/{command}", json=body or {}, timeout=5)
    response.raise_for_status()


def test_the_control_endpoints_steer_what_the_control_api_reads(sandbox):
    control(sandbox, "deals/deal-1", {"slot-a": 2})
    control(sandbox, "latency", {"seconds": 0.01})
    control(sandbox, "faults", {"status": 503, "count": 1})

    answers = [
        requests.get(
            f"{sandbox.mspecs_url}/v3/viewings/slot/status/deal-1",
            auth=("sandbox", "sandbox-secret"),
            timeout=5,
        )
        for _ in range(2)
    ]

    assert [answer.status_code for answer in answers] == [503, 200]
    assert answers[1].json() == {"slot-a": {"numberOfBooked": 0, "fullyBooked": False}}
    state = requests.get(f"{sandbox.url}/_sandbox/state", timeout=5).json()
    assert state["requests_served"] == sandbox.requests_served == 2
    assert state["deals"] == {"deal-1": {"slot-a": {"booked": 0, "capacity": 2}}}


def test_reset_forgets_deals_faults_and_counts(sandbox):
    sandbox.set_deal("deal-1", {"slot-a": 2}, booked={"slot-a": 2})
    sandbox.set_fault(status=500)
    requests.get(f"{sandbox.mspecs_url}/v3/viewings/slot/status/deal-1", timeout=5)

    control(sandbox, "reset")

    assert sandbox.snapshot() == {
        "received": [],
        "requests_served": 0,
        "requests_by_path": {},
        "max_in_flight": 0,
        "quarantine": [],
        "deals": {},
    }
    answer = requests.get(
        f"{sandbox.mspecs_url}/v3/viewings/slot/status/deal-1",
        auth=("sandbox", "sandbox-secret"),
        timeout=5,
    )
    assert answer.status_code == 404  # no fault any more, and no deal


def test_a_stopped_sandbox_answers_nothing_more_on_a_kept_alive_connection():
    session = requests.Session()
    with SandboxProviders() as sandbox:
        state = f"{sandbox.url}/_sandbox/state"
        assert session.get(state, timeout=5).status_code == 200

    with pytest.raises(requests.ConnectionError):
        session.get(state, timeout=5)
