"""CSV exports cannot run code when opened in a spreadsheet, and the app reads its own exports back exactly."""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import replace

import pandas as pd
import pytest

from core.config import models_dir
from core.data.cohort import Cohort
from core.data.export import FORMULA_STARTS, neutralise_formulas, restore_formulas, to_safe_csv
from core.inference.bundle import bundles_from_zip_bytes, bundles_to_zip_bytes, load_bundle
from core.upload.responses import example_response_table
from dashboard.widgets import csv_bytes

ATTACK = "=cmd|' /C calc'!A0"


def formula_cells(csv_text: str) -> list[str]:
    """Every cell of ``csv_text`` that a spreadsheet would run: it begins with a formula character and is no
    number."""
    cells = pd.read_csv(io.StringIO(csv_text), header=None, dtype=str, keep_default_na=False).to_numpy().ravel()
    return [c for c in cells if c.startswith(FORMULA_STARTS) and pd.isna(pd.to_numeric(c, errors="coerce"))]


def hostile_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sample": [ATTACK, "+SUM(A1:A9)", "@A1", "\tTAB", "-1.5", "'quoted", "PDO-7"],
            "z_score": [-1.5, 0.2, -3e-5, 1.0, 3.0, 4.0, 5.0],
            "drug": pd.Categorical(["-lead", "5-FU", "b", "c", "e", "f", "g"]),
        }
    )


def test_no_cell_of_a_hostile_table_runs_and_numbers_stay_numbers() -> None:
    text = to_safe_csv(hostile_table(), index=False)
    assert formula_cells(text) == []
    read = pd.read_csv(io.StringIO(text))
    assert read["z_score"].tolist() == [-1.5, 0.2, -3e-5, 1.0, 3.0, 4.0, 5.0]
    assert read["sample"].tolist()[0] == "'" + ATTACK
    assert read["sample"].tolist()[4] == "-1.5", "text that is a plain number is left as it is"
    assert read["sample"].tolist()[6] == "PDO-7"
    assert read["drug"].tolist()[:2] == ["'-lead", "5-FU"]


def test_index_and_column_names_are_neutralised_when_written() -> None:
    table = hostile_table().set_index("sample").rename(columns={"drug": "=HYPERLINK(1)"})
    text = to_safe_csv(table)
    assert formula_cells(text) == []
    assert text.splitlines()[0] == "sample,z_score,'=HYPERLINK(1)"


def test_neutralising_is_undone_exactly_on_reading_back() -> None:
    table = hostile_table()
    assert restore_formulas(neutralise_formulas(table)).equals(table)
    read = pd.read_csv(io.StringIO(to_safe_csv(table, index=False)), dtype={"sample": str, "drug": str})
    assert restore_formulas(read)["sample"].tolist() == table["sample"].tolist()


def test_writes_to_a_buffer_like_to_csv() -> None:
    buffer = io.StringIO()
    assert to_safe_csv(pd.DataFrame({"name": [ATTACK]}), buffer, index=False) is None
    assert buffer.getvalue() == f"name\n'{ATTACK}\n"


@pytest.mark.parametrize("number", ["-1.5", "+2", "-.5", "-1e-3", "1"])
def test_text_that_is_a_number_is_kept(number: str) -> None:
    assert neutralise_formulas(pd.DataFrame({"x": [number]}))["x"].iloc[0] == number


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_made_text(start: str) -> None:
    assert neutralise_formulas(pd.DataFrame({"x": [start + "1+1"]}))["x"].iloc[0] == "'" + start + "1+1"


def test_dashboard_downloads_are_neutralised() -> None:
    ranking = pd.DataFrame(
        {"sample": [ATTACK, "-1.5"], "drug": ["Oxaliplatin", "5-Fluorouracil"], "z_score": [-1.5, 2]}
    )
    text = csv_bytes(ranking).decode("utf-8")
    assert formula_cells(text) == []
    assert text.splitlines()[1:] == [f"'{ATTACK},Oxaliplatin,-1.5", "-1.5,5-Fluorouracil,2.0"]


def test_example_response_table_is_neutralised(colorectal: Cohort) -> None:
    first = colorectal.responses["sample"].iloc[0]
    renamed = replace(colorectal, responses=colorectal.responses.replace({"sample": {first: ATTACK}}))
    text = example_response_table(renamed).decode("utf-8")
    assert f"'{ATTACK}," in text and formula_cells(text) == []


def test_own_cohort_bundle_files_are_neutralised_and_read_back_exactly() -> None:
    bundle = load_bundle(models_dir() / "colorectal_tdnn_scratch")
    sample, drug = bundle.reference_predictions["sample"].iloc[0], bundle.drugs["drug"].iloc[0]
    hostile = replace(
        bundle,
        drugs=bundle.drugs.replace({"drug": {drug: "@SUM(A1)"}}),
        reference_predictions=bundle.reference_predictions.replace(
            {"sample": {sample: ATTACK}, "drug": {drug: "@SUM(A1)"}}
        ),
    )
    archive = bundles_to_zip_bytes([hostile])
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        tables = {name: opened.read(name) for name in opened.namelist() if ".csv" in name}
    assert len(tables) == 3
    for name, data in tables.items():
        text = (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8")
        assert formula_cells(text) == [], name
    (again,) = bundles_from_zip_bytes(archive)
    pd.testing.assert_frame_equal(again.drugs, hostile.drugs)
    pd.testing.assert_frame_equal(again.reference_predictions, hostile.reference_predictions, atol=1e-5)


def test_no_committed_csv_holds_a_cell_that_runs() -> None:
    """The CSVs the product ships (benchmark reports, bundle files, precomputed explanations): none can run."""
    files = sorted(p for p in models_dir().rglob("*") if p.name.endswith((".csv", ".csv.gz")))
    assert files
    for path in files:
        text = (gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()).decode("utf-8")
        assert formula_cells(text) == [], path


@pytest.mark.parametrize(
    ("bundle", "parts", "expected"),
    [
        ("colorectal_tdnn_scratch", ("P10", "ranking"), "P10_tDNN-from-scratch_ranking.csv"),
        (
            "colorectal_convnn_zeroshot",
            ("GSK1120212/Trametinib", "genes"),
            "GSK1120212-Trametinib_ConvNN-zero-shot_genes.csv",
        ),
        ("my lab's bundle", ("../P 1", "ranking"), "P-1_my-lab-s-bundle_ranking.csv"),
    ],
)
def test_download_names_carry_the_models_menu_name_and_no_path(
    bundle: str, parts: tuple[str, ...], expected: str
) -> None:
    from dashboard.widgets import download_name

    assert download_name(bundle, *parts, suffix=".csv") == expected
