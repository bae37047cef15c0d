"""The typed bundle manifest: it reads every committed bundle's manifest.json as it is, carries the gene panel the
models read, writes schema 2, and says plainly what is wrong with a manifest it cannot read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.config import models_dir
from core.inference.bundle import (
    BundleError,
    bundle_files,
    bundle_from_files,
    list_bundles,
    load_bundle,
    read_manifest,
    unverified_manifest,
)
from core.inference.manifest import SCHEMA_VERSION, CrossValidation, parse_manifest
from core.models.blocks import GENES

COMMITTED = sorted(path.parent for path in models_dir().glob("*/manifest.json"))
SMALL = models_dir() / "pancreas-panel_tdnn_zeroshot"  # one member: the quickest committed bundle to load


def _raw(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _panel_of(folder: Path):
    return lambda directory: json.loads((folder / directory / "preprocessing.json").read_text())["expression"]["genes"]


def _same_json(a: object, b: object) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_there_are_committed_bundles() -> None:
    assert len(COMMITTED) >= 10


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda folder: folder.name)
def test_every_committed_manifest_is_read_as_it_is(folder: Path) -> None:
    raw = _raw(folder)
    manifest = read_manifest(folder)  # every file's hash checked too
    assert manifest.schema_version == raw["schema_version"] == 1
    assert manifest.name == folder.name and len(manifest.members) == len(raw["members"])
    written = manifest.to_json()
    # Nothing is lost or altered: only keys that were null are left out, and the panel is added.
    assert {key for key in raw if key not in written} == {key for key, value in raw.items() if value is None}
    assert all(_same_json(written[key], value) for key, value in raw.items() if value is not None)
    assert set(written) - set(raw) == {"genes"}
    assert len(manifest.genes) == raw["n_genes"]
    if "cross_validation" in raw:
        assert manifest.cross_validation == CrossValidation(**raw["cross_validation"])
    assert unverified_manifest(folder).to_json() == written


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda folder: folder.name)
def test_the_manifest_panel_is_every_member_preprocessing_panel(folder: Path) -> None:
    genes = read_manifest(folder).genes
    for member in _raw(folder)["members"]:
        assert list(genes) == _panel_of(folder)(member["directory"])


@pytest.mark.slow
def test_the_manifest_panel_is_the_panel_the_loaded_models_read() -> None:
    manifests = list_bundles(models_dir())
    assert set(manifests) == {folder.name for folder in COMMITTED}
    for name, manifest in manifests.items():
        bundle = load_bundle(models_dir() / name)
        for member in bundle.members:
            assert member.trained.expression.genes == list(manifest.genes), name
            assert member.trained.model.get_layer(GENES).output.shape[-1] == len(manifest.genes), name


def test_a_written_bundle_carries_schema_2_and_its_panel_and_reads_back_equal() -> None:
    bundle = load_bundle(SMALL)
    files = bundle_files(bundle)
    written = json.loads(files["manifest.json"])
    assert written["schema_version"] == SCHEMA_VERSION == 2 and written["genes"] == bundle.genes
    again = bundle_from_files(files, bundle.name, "test")
    assert again.manifest.genes == tuple(bundle.genes)
    assert _same_json(
        {k: v for k, v in again.manifest.to_json().items() if k not in ("files", "schema_version")},
        {k: v for k, v in bundle.manifest.to_json().items() if k not in ("files", "schema_version")},
    )


@pytest.mark.parametrize("version", [0, 3, 99, None, "1", True, 1.0])
def test_another_schema_version_is_refused_by_name(version: object) -> None:
    raw = dict(_raw(SMALL), schema_version=version)
    with pytest.raises(BundleError, match=f"schema version {version}, this code reads versions 1, 2"):
        parse_manifest(raw, SMALL.name, _panel_of(SMALL))


def test_a_missing_or_unknown_field_is_named() -> None:
    raw = _raw(SMALL)
    without = {k: v for k, v in raw.items() if k not in ("created", "model_name")}
    with pytest.raises(BundleError, match="missing created, model_name"):
        parse_manifest(without, SMALL.name, _panel_of(SMALL))
    with pytest.raises(BundleError, match="unknown colour"):
        parse_manifest(dict(raw, colour="blue"), SMALL.name, _panel_of(SMALL))
    schema_2_without_panel = dict(raw, schema_version=2)
    with pytest.raises(BundleError, match="missing genes"):
        parse_manifest(schema_2_without_panel, SMALL.name, _panel_of(SMALL))


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("n_drugs", "25", "expected int, got str"),
        ("lower_is_sensitive", "yes", "expected bool, got str"),
        ("n_genes", True, "expected int, got bool"),
        ("members", {"directory": "members/0"}, "expected a list, got dict"),
        ("cross_validation", {"n_folds": 5}, "expected the keys"),
        ("data_files", ["a.csv"], "expected an object, got list"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(key: str, value: object, expected: str) -> None:
    with pytest.raises(BundleError, match=f"malformed field '{key}': {expected}"):
        parse_manifest(dict(_raw(SMALL), **{key: value}), SMALL.name, _panel_of(SMALL))


def test_a_bad_manifest_on_disk_gives_a_plain_error(tmp_path: Path) -> None:
    copy = tmp_path / SMALL.name
    shutil.copytree(SMALL, copy)
    (copy / "manifest.json").write_text(json.dumps({k: v for k, v in _raw(SMALL).items() if k != "training"}))
    with pytest.raises(BundleError, match="missing training"):
        read_manifest(copy)
    with pytest.raises(BundleError, match="missing training"):
        list_bundles(tmp_path)
    (copy / "manifest.json").write_text(json.dumps(_raw(SMALL)))
    (copy / "members" / "0" / "preprocessing.json").unlink()
    with pytest.raises(BundleError, match="no readable members/0/preprocessing.json, so its gene panel is unknown"):
        unverified_manifest(copy)
    (copy / "manifest.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="not a JSON object"):
        read_manifest(copy)
