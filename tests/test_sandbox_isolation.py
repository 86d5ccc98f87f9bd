"""The sandbox broker servers serve `make run`, tests and benches only: no runtime code
path imports them."""

import ast
from pathlib import Path

from config.settings import BASE_DIR

SANDBOX = "bookings.sandbox"
# Where the sandbox may be imported: itself, and the command that serves it.
ALLOWED = {Path("bookings/sandbox"), Path("bookings/management/commands/sandbox.py")}


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

    assert Path("bookings/delivery/engine.py") in modules  # the scan sees runtime code
    assert [path for path in modules if imports_sandbox(path)] == []


def test_the_scan_finds_an_import_of_the_sandbox(tmp_path, monkeypatch):
    for source in ("import bookings.sandbox", "from bookings import sandbox"):
        (tmp_path / "module.py").write_text(source)
        monkeypatch.setattr("tests.test_sandbox_isolation.BASE_DIR", tmp_path)
        assert imports_sandbox(Path("module.py")), source
