"""The home page renders with the real datasets (Streamlit's AppTest runs the script headless)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def test_home_page_lists_the_datasets() -> None:
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert {"colorectal", "gdsc1", "pancreas"} <= set(table["dataset"])
    assert "Research use only" in " ".join(m.value for m in app.markdown)


def test_home_page_says_when_the_data_folder_is_missing(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PDO_DATA_ROOT", str(tmp_path / "missing"))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert "PDO_DATA_ROOT" in app.error[0].value
