"""Which code may import which: `agencies` knows nothing of `bookings`, and only the
django-tasks-db specifics (its worker loop and its table's housekeeping) know the task
backend, so another backend of Django's Tasks API can replace it."""

import ast
from pathlib import Path

from config.settings import BASE_DIR


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module)
    return modules


def importers_of(package: str, paths) -> list[str]:
    return sorted(
        str(path.relative_to(BASE_DIR))
        for path in paths
        if any(m == package or m.startswith(f"{package}.") for m in imported_modules(path))
    )


def test_no_module_of_agencies_imports_bookings():
    assert importers_of("bookings", (BASE_DIR / "agencies").rglob("*.py")) == []


def test_only_the_backend_specific_modules_know_the_database_task_backend():
    paths = [*(BASE_DIR / "bookings").rglob("*.py"), *(BASE_DIR / "agencies").rglob("*.py")]

    assert importers_of("django_tasks_db", paths) == [
        "bookings/delivery/task_rows.py",
        "bookings/delivery/worker.py",
        "bookings/management/commands/delivery_worker.py",
    ]
