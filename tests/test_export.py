"""CSV exports cannot run code when opened in a spreadsheet, and the app reads its own exports back exactly."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.data.export import FORMULA_STARTS, neutralise_formulas, restore_formulas, to_safe_csv

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
