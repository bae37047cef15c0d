"""The installable package: every runnable training script has its command, and every data file the code
reads at run time ships with the package."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PACKAGES = ("core", "dashboard", "training_scripts")


def _has_main(path: Path) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def test_every_training_script_with_a_main_is_a_command_named_after_it() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    scripts_root = REPO_ROOT / "training_scripts"
    expected = {
        f"pdo-{path.stem.replace('_', '-')}": f"training_scripts.{path.parent.name}.{path.stem}:main"
        for path in sorted(scripts_root.glob("*/*.py"))  # grouped by job: build/, studies/, timing/
        if _has_main(path)
    }
    assert not [path.name for path in scripts_root.glob("*.py") if _has_main(path)], "put a script in its job's folder"
    assert expected, "no training script has a main()"
    assert {name: target for name, target in scripts.items() if target.startswith("training_scripts.")} == expected


def test_every_command_points_at_an_existing_main() -> None:
    for name, target in PYPROJECT["project"]["scripts"].items():
        module, function = target.split(":")
        path = REPO_ROOT / (module.replace(".", "/") + ".py")
        assert path.is_file() and function == "main" and _has_main(path), name


def test_every_data_file_inside_the_packages_is_package_data() -> None:
    patterns = [pattern for globs in PYPROJECT["tool"]["setuptools"]["package-data"].values() for pattern in globs]
    data_files = [
        path
        for package in PACKAGES
        for path in (REPO_ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert data_files, "expected at least core/explain/known_biomarkers.csv"
    unshipped = [
        str(path.relative_to(REPO_ROOT))
        for path in data_files
        if not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns)
    ]
    assert not unshipped, f"add these to [tool.setuptools.package-data]: {unshipped}"
