"""Which code may import which: `agencies` knows nothing of `bookings`, nothing but crontask
loads the cron timetable (bookings/tasks.py), the model modules import downwards, delivery's
sending imports neither its sweep nor its staff actions, and only the django-tasks-db
specifics (its worker loop and its table's housekeeping) know the task backend, so another
backend of Django's Tasks API can replace it. And which code may name a provider: only
its plug-in, so that a third one is a new folder and one line. And where the bookings app's
admin pages are registered: in one place, not by importing a module."""

import ast
import re
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


def test_no_module_imports_the_cron_timetable():
    # crontask loads it by name; the tasks themselves live beside their code.
    paths = [
        path
        for folder in ("agencies", "bookings", "config", "bench", "tests")
        for path in (BASE_DIR / folder).rglob("*.py")
        if path != BASE_DIR / "bookings" / "tasks.py"
    ]
    importing = sorted(
        str(path.relative_to(BASE_DIR))
        for path in paths
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if (isinstance(node, ast.Import) and any(a.name == "bookings.tasks" for a in node.names))
        or (
            isinstance(node, ast.ImportFrom)
            and (
                node.module == "bookings.tasks"
                or (node.module == "bookings" and any(a.name == "tasks" for a in node.names))
            )
        )
    )

    assert importing == []


def test_only_the_backend_specific_modules_know_the_database_task_backend():
    paths = [*(BASE_DIR / "bookings").rglob("*.py"), *(BASE_DIR / "agencies").rglob("*.py")]

    assert importers_of("django_tasks_db", paths) == [
        "bookings/delivery/task_rows.py",
        "bookings/delivery/worker.py",
        "bookings/management/commands/delivery_worker.py",
    ]


# Who may name a provider: its plug-in (bookings/providers/), and the demo, which sets
# up one agency of each. Everything else asks the plug-in what the system can do.
MAY_NAME_A_PROVIDER = [
    "bookings/providers/",
    "bookings/management/commands/demo.py",
    # VENDOR_HOSTS, each system's API hosts: agencies sits below the plug-ins and cannot ask
    # them; to move into the plug-ins with the MSPX hosts.
    "agencies/models.py",
]
NAMES_A_PROVIDER = re.compile(r"\bProvider\.(MSPECS|VITEC)\b")


def test_only_the_plug_ins_name_a_provider():
    paths = [
        *(BASE_DIR / "bookings").rglob("*.py"),
        *(BASE_DIR / "agencies").rglob("*.py"),
        *(BASE_DIR / "config").rglob("*.py"),
        *(BASE_DIR / "templates").rglob("*.html"),
    ]
    naming = sorted(
        name
        for path in paths
        if not (name := str(path.relative_to(BASE_DIR))).startswith(tuple(MAY_NAME_A_PROVIDER))
        and "/migrations/" not in name
        and NAMES_A_PROVIDER.search(path.read_text())
    )

    assert naming == []


def test_agencies_name_a_provider_only_for_its_hosts():
    text = (BASE_DIR / "agencies" / "models.py").read_text()

    # The hosts table, and the MSPECS API a credential speaks choosing among its hosts
    # (agencies imports nothing from the plug-ins, which import agencies).
    assert len(NAMES_A_PROVIDER.findall(text)) == 3
    assert "VENDOR_HOSTS = {\n    Provider.MSPECS:" in text
    assert "if provider == Provider.MSPECS and mspecs_api in MSPECS_API_HOSTS:" in text


# The one place that registers the bookings app's admin pages: each ModelAdmin elsewhere is
# only defined, so importing a module never changes the admin site.
REGISTERS_THE_ADMIN = "bookings/admin/__init__.py"


def registers_an_admin(path: Path) -> bool:
    """Whether the module calls `register` on `admin`, a site or `admin.site`: a
    `site.register(...)` line or an `@admin.register(...)` decorator."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "register":
            continue
        receiver = node.func.value
        if (isinstance(receiver, ast.Name) and receiver.id in {"admin", "site"}) or (
            isinstance(receiver, ast.Attribute) and receiver.attr == "site"
        ):
            return True
    return False


def test_only_one_module_registers_the_bookings_admin():
    registering = sorted(
        str(path.relative_to(BASE_DIR))
        for path in (BASE_DIR / "bookings").rglob("*.py")
        if registers_an_admin(path)
    )

    assert registering == [REGISTERS_THE_ADMIN]


# The model modules (bookings/models/), each above those after it: a module imports only
# those below it, so the aggregates a booking hangs from never know of the booking.
MODEL_MODULES_BOTTOM_UP = [
    "status",
    "viewings",
    "bookings",
    "quarantine",
    "privacy",
    "viewing_import",
    "intake",
    "monitoring",
]


def test_imports_among_the_model_modules_run_down():
    package = BASE_DIR / "bookings" / "models"
    modules = {path.stem for path in package.glob("*.py")} - {"__init__"}
    upward = [
        f"{name} imports {imported}"
        for index, name in enumerate(MODEL_MODULES_BOTTOM_UP)
        for imported in imported_modules(package / f"{name}.py")
        if imported == "bookings.models"
        or (
            imported.startswith("bookings.models.")
            and imported.removeprefix("bookings.models.") not in MODEL_MODULES_BOTTOM_UP[:index]
        )
    ]

    assert sorted(modules) == sorted(MODEL_MODULES_BOTTOM_UP)
    assert upward == []


# The ground floor (bookings/problems/): the problem catalogues every feature package and the
# plug-ins say what went wrong with. It stands on agencies' problem machinery alone, so
# whatever imports it sits above it and no arrow runs back up.
GROUND_FLOOR = "bookings.problems"


def test_the_ground_floor_imports_no_feature_package():
    above = sorted(
        f"{path.relative_to(BASE_DIR)} imports {imported}"
        for path in (BASE_DIR / "bookings" / "problems").rglob("*.py")
        for imported in imported_modules(path)
        if imported.split(".")[0] in {"bookings", "agencies", "config"}
        and imported != "agencies.problems"
        and not (imported == GROUND_FLOOR or imported.startswith(f"{GROUND_FLOOR}."))
    )

    assert above == []


# What the models stand on: the ground floor, the providers' table the plug-ins fill
# (bookings/provider_capabilities.py) and phone numbers; never a feature package or a plug-in,
# which import the models.
BELOW_THE_MODELS = {
    GROUND_FLOOR,
    "bookings.provider_capabilities",
    "bookings.phones",
    "bookings.models",
}


def test_the_models_import_nothing_above_them():
    above = sorted(
        f"{path.relative_to(BASE_DIR)} imports {imported}"
        for path in (BASE_DIR / "bookings" / "models").glob("*.py")
        for imported in imported_modules(path)
        if imported.split(".")[0] == "bookings"
        and not any(imported == m or imported.startswith(f"{m}.") for m in BELOW_THE_MODELS)
    )

    assert above == []


def test_the_providers_table_imports_nothing_of_the_project():
    path = BASE_DIR / "bookings" / "provider_capabilities.py"

    assert {m.split(".")[0] for m in imported_modules(path)} <= {"typing"}


# Delivery's sending (claim, send, apply the outcome) is what the sweep and the staff
# actions build on: they may import it, it imports neither of them.
BUILT_ON_SENDING = {"bookings.delivery.sweep", "bookings.delivery.staff_actions"}


def test_sending_imports_neither_the_sweep_nor_the_staff_actions():
    path = BASE_DIR / "bookings" / "delivery" / "sending.py"
    imported = imported_modules(path) | {
        f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.ImportFrom) and node.level == 0
        for alias in node.names
    }

    assert (
        sorted(
            m for m in imported if any(m == b or m.startswith(f"{b}.") for b in BUILT_ON_SENDING)
        )
        == []
    )


def project_import_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (at top level or inside a function)."""
    paths = {
        ".".join(path.relative_to(BASE_DIR).with_suffix("").parts).removesuffix(".__init__"): path
        for folder in ("agencies", "bookings", "config")
        for path in (BASE_DIR / folder).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph = {}
    for module, path in paths.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
                imported.add(node.module)
        graph[module] = {m for m in imported if m in paths and m != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                on_stack.discard(member)
                component.append(member)
            on_stack.discard(module)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(project_import_graph()) == []


def test_the_import_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_schedule_wakes_the_delivery_task_by_its_path():
    from django.utils.module_loading import import_string

    from bookings.delivery import schedule, tasks

    assert import_string(schedule.DELIVERY_TASK) is tasks.deliver_booking
