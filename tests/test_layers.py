"""The layers of ``core`` import only downwards: every import of every module (lazy ones inside functions and
``TYPE_CHECKING`` blocks included) is read from the source, so an arrow running back up fails here before
it shows as an import cycle or a slow page."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"

# Package -> the core packages it may import (itself included). Lower layers first.
ALLOWED = {
    "core.config": {"core.config"},
    "core.data": {"core.config", "core.data"},
    "core.preprocessing": {"core.config", "core.data", "core.preprocessing"},
    "core.models": {"core.models"},
    "core.inference": {"core.config", "core.data", "core.preprocessing", "core.models", "core.inference"},
    "core.training": {
        "core.config",
        "core.data",
        "core.preprocessing",
        "core.models",
        "core.inference",
        "core.evaluation",
        "core.training",
    },
}
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
    """``core.<package>`` for a module of ``core`` (``core.predict`` for the top-level module core/predict.py)."""
    return ".".join(module.split(".")[:2])


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


@pytest.mark.parametrize(
    "module, imported, breaks",
    [
        ("core.inference.model", "core.training.fit", True),
        ("core.inference.bundle", "core.explain.precomputed", True),
        ("core.data.drugs", "core.preprocessing.drug_features", True),
        ("core.data.panels", "core.data.registry", False),
        ("core.transfer.study", "dashboard.common", True),
        ("core.training.fit", "core.inference.model", False),
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
