"""The home page renders with the real datasets (Streamlit's AppTest runs the script headless)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data.registry import DATASETS
from core.data.summary import dataset_label

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def test_home_page_lists_the_datasets_only_once_asked() -> None:
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    assert not app.dataframe  # reading every dataset (~25 s cold) waits until the expander is opened
    app.session_state["home_datasets"] = True  # what opening the expander does
    app.run()
    table = app.dataframe[0].value
    assert {dataset_label(name) for name in ("colorectal", "gdsc1", "pancreas")} <= set(table["dataset"])
    assert not set(table["dataset"]) & set(DATASETS)  # plain names, not the registry's keys
    assert "Research use only" in app.warning[0].value


def test_home_page_starts_a_first_time_user_on_the_upload_and_walks_the_path() -> None:
    app = AppTest.from_file(APP, default_timeout=120).run()
    links = [link.proto for link in app.get("page_link")]
    assert [link.label for link in links] == ["1. Upload & QC", "2. Drug ranking", "3. Genes", "4. Model performance"]
    assert [link.page for link in links] == ["upload", "ranking", "genes", "performance"]


def test_home_page_says_when_the_data_folder_is_missing(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PDO_DATA_ROOT", str(tmp_path / "missing"))
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    assert "PDO_DATA_ROOT" in app.error[0].value
