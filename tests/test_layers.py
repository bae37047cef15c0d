"""The layers of ``core`` import only downwards: every import of every module (lazy ones inside functions and
``TYPE_CHECKING`` blocks included) is read from the source, so an arrow running back up fails here before
it shows as an import cycle or a slow page."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"

# The layer diagram of ``core``: package (or top-level module, or use-case module) -> the core layers it may import
# besides itself. Every one of them is listed, so a new package has to be placed here, below what uses it. The
# library packages come first; the app's use-cases (core/usecases/) sit on top of them.
LEAVES = {"core.config", "core.study_design"}
BELOW = {
    "core.config": set(),
    "core.study_design": set(),
    "core.models": set(),
    "core.data": LEAVES,
    "core.preprocessing": LEAVES | {"core.data"},
    "core.inference": LEAVES | {"core.data", "core.preprocessing", "core.models"},
    "core.upload": LEAVES | {"core.data"},
    "core.labshift": set(),
    "core.evaluation": LEAVES | {"core.data", "core.models", "core.inference"},
    "core.explain": LEAVES | {"core.data", "core.models", "core.inference"},
    "core.training": LEAVES | {"core.data", "core.preprocessing", "core.models", "core.inference", "core.evaluation"},
    "core.usecases": set(),  # the package's docstring only
    "core.usecases.predict": {"core.inference"},
    "core.usecases.ranking_table": LEAVES | {"core.data", "core.evaluation"},
    "core.usecases.ranking": LEAVES
    | {"core.evaluation", "core.inference", "core.usecases.predict", "core.usecases.ranking_table"},
    "core.usecases.organoid_figures": LEAVES | {"core.evaluation", "core.usecases.ranking"},
    "core.usecases.organoid_report": LEAVES
    | {"core.evaluation", "core.inference", "core.usecases.organoid_figures", "core.usecases.ranking_table"},
    "core.usecases.bundle_grid": LEAVES | {"core.inference", "core.models"},
    "core.usecases.stored_explanations": {"core.explain"},
    "core.usecases.held_out_lines": LEAVES
    | {"core.data", "core.evaluation", "core.inference", "core.labshift", "core.usecases.predict"},
    "core.usecases.rank_cli": LEAVES
    | {
        "core.data",
        "core.inference",
        "core.evaluation",
        "core.labshift",
        "core.upload",
        "core.usecases.ranking",
        "core.usecases.bundle_grid",
    },
    "core.benchmark": LEAVES
    | {"core.data", "core.preprocessing", "core.models", "core.inference", "core.evaluation", "core.training"},
    "core.transfer": LEAVES
    | {
        "core.data",
        "core.preprocessing",
        "core.models",
        "core.inference",
        "core.evaluation",
        "core.training",
        "core.benchmark",
    },
}
ALLOWED = {layer: below | {layer} for layer, below in BELOW.items()}
OUTSIDE_CORE = ("dashboard", "training_scripts")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` imports anywhere in its body; relative imports resolve against ``package``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from core import training" imports the package core.training
            names.update({f"{base}.{alias.name}" for alias in node.names} if base == "core" else {base})
    return names


def layer_of(module: str) -> str:
    """``core.<package>`` for a module of ``core`` (``core.config`` for the top-level module core/config.py); each
    module of ``core.usecases`` is a layer of its own, so the use-cases keep their order among themselves."""
    parts = module.split(".")
    return ".".join(parts[:3] if parts[:2] == ["core", "usecases"] and len(parts) > 2 else parts[:2])


def violations(modules: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imports in sorted(modules.items()):
        allowed = ALLOWED.get(layer_of(module))
        for name in sorted(imports):
            top = name.split(".")[0]
            if top in OUTSIDE_CORE:
                found.append(f"{module} imports {name}: core must not import the app or the scripts")
            elif top == "core" and allowed is not None and name != "core" and layer_of(name) not in allowed:
                found.append(f"{module} imports {name}: {layer_of(module)} may import only {sorted(allowed)}")
    return found


def core_imports() -> dict[str, set[str]]:
    modules = {}
    for path in sorted(CORE.rglob("*.py")):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        modules[module] = imported_modules(path.read_text(encoding="utf-8"), package)
    return modules


def test_core_imports_only_downwards() -> None:
    modules = core_imports()
    assert any(layer_of(m) == "core.inference" for m in modules)  # the walk found the packages it checks
    assert violations(modules) == []


def test_every_core_package_has_a_place_in_the_diagram() -> None:
    assert {layer_of(m) for m in core_imports()} - {"core"} == set(ALLOWED)


def test_the_diagram_has_no_cycles() -> None:
    """A layer never sits (through other layers) below itself: the diagram is an order, not a tangle."""

    def reachable(layer: str, seen: frozenset[str] = frozenset()) -> set[str]:
        assert layer not in seen, f"cycle through {layer}"
        return set().union(*(reachable(below, seen | {layer}) | {below} for below in BELOW[layer]))

    for layer in BELOW:
        reachable(layer)


# The app's shared modules, each importing only those listed (pages, in dashboard/views, may use all of them).
DASHBOARD_BELOW = {
    "dashboard.session": set(),
    "dashboard.restart": {"dashboard.session"},
    "dashboard.bundles": {"dashboard.session"},
    "dashboard.explanations": {"dashboard.session", "dashboard.bundles"},
    "dashboard.widgets": {"dashboard.session", "dashboard.bundles"},
    "dashboard.preload": {"dashboard.session", "dashboard.bundles", "dashboard.explanations"},
}


def test_the_apps_shared_modules_import_only_those_below_them() -> None:
    dashboard = ROOT / "dashboard"
    shared = {module_name(path): path for path in dashboard.glob("*.py") if path.name != "app.py"}
    assert set(shared) == set(DASHBOARD_BELOW), "place a new shared module of the app in DASHBOARD_BELOW"
    for module, path in shared.items():
        imported = {
            name
            for name in imported_modules(path.read_text(encoding="utf-8"), "dashboard")
            if name.startswith("dashboard.")
        }
        assert imported <= DASHBOARD_BELOW[module], f"{module} imports {sorted(imported - DASHBOARD_BELOW[module])}"


@pytest.mark.parametrize(
    "module, imported, breaks",
    [
        ("core.inference.model", "core.training.fit", True),
        ("core.inference.bundle", "core.explain.precomputed", True),
        ("core.data.drugs", "core.preprocessing.drug_features", True),
        ("core.data.panels", "core.data.registry", False),
        ("core.transfer.study", "dashboard.session", True),
        ("core.training.fit", "core.inference.model", False),
        ("core.usecases.ranking", "core.usecases.organoid_report", True),
        ("core.usecases.ranking", "core.usecases.ranking_table", False),
        ("core.evaluation.evidence", "core.training.fit", True),
    ],
)
def test_rules_catch_an_upward_import(module: str, imported: str, breaks: bool) -> None:
    assert bool(violations({module: {imported}})) == breaks


def test_lazy_relative_and_type_checking_imports_are_read() -> None:
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.explain import precomputed\n"
        "def f():\n    from core import training\n    from .pairs import PairTable\n    from .. import data\n"
    )
    assert imported_modules(source, "core.inference") == {
        "typing",
        "core.explain",
        "core.training",
        "core.inference.pairs",
        "core.data",
    }
