"""What a clinician meets in a real browser with the committed bundles (``trained_models/``): a wide expression
export loads, the ranking opens on the models with the best evidence and shows their numbers, ± z is on screen,
and the HTML report states each model's score within the page's width.

Expected numbers come from the library and ``bundle_evidence.csv``, never from the page. Headless Chromium
against ``streamlit run`` (fixtures in ``browser_fixtures.py``); screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from browser_fixtures import STEP_MS
from dashboard_fixtures import REPO_ROOT, SCREENSHOTS
from test_browser import _idle, _text_once_shown

from core.data.registry import load_cohort
from core.evaluation.evidence import EVIDENCE_FILE, Evidence, best_architecture
from dashboard.bundles import ARCHITECTURES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMMITTED = REPO_ROOT / "trained_models"
WIDTH = 1440
FIELD_LIMIT = 131_072  # Python's csv field limit, which a wide export's single line used to overflow


@pytest.fixture
def clinician(browser, committed_server):
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(STEP_MS)
    tab.goto(committed_server)
    tab.get_by_text("Start here").wait_for()
    yield tab
    context.close()


def _wide_export(path: Path) -> Path:
    """Two reference organoids as a lab exports them: one line per sample, every gene a column, linear values."""
    linear = 2 ** load_cohort("colorectal").expression.loc[["P10", "P11"]]
    linear.to_csv(path, index_label="sample", float_format="%.8f")
    assert min(len(line) for line in path.read_text().splitlines()[1:]) > FIELD_LIMIT  # each sample's line
    return path


def _stored_evidence() -> dict[tuple[str, str], Evidence]:
    table = pd.read_csv(COMMITTED / "benchmark" / EVIDENCE_FILE)
    return {
        tuple(row.bundle.split("_")[1:]): Evidence(
            row.within_drug,
            row.within_drug_spearman,
            row.within_drug_residual,
            row.null_sd,
            row.p_value,
            row.n_permutations,
        )
        for row in table.itertuples()
    }


def test_wide_upload_ranks_on_the_best_evidence_with_its_numbers_and_a_report_within_the_page(
    clinician, tmp_path: Path
) -> None:
    page = clinician
    page.get_by_role("link", name="1. Upload & QC").click()
    page.locator("input[type=file]").first.set_input_files(str(_wide_export(tmp_path / "wide_linear.csv")))
    text = _text_once_shown(page, "Samples found", "Samples:", "See the drug ranking")
    assert "Samples: P10, P11" in text and "log2(x + 1)" in text and "cannot be used" not in text

    page.get_by_role("link", name="See the drug ranking").click()
    page.get_by_text("Negative z-score = predicted more sensitive", exact=False).wait_for()
    page.locator("[data-testid=stDataFrame]").nth(1).wait_for()
    _idle(page)
    stored = _stored_evidence()
    best = best_architecture({a: [stored[(a, k)] for k in ("scratch", "finetuned")] for a in ARCHITECTURES})
    assert page.get_by_role("radio", name=ARCHITECTURES[best]).is_checked()
    # Zero-shot joins from the start when its evidence is the best of the three; best evidence first, left to right.
    zero_shot_best = (
        max(("scratch", "finetuned", "zeroshot"), key=lambda k: stored[(best, k)].within_drug) == "zeroshot"
    )
    trainings = sorted(
        ["scratch", "finetuned"] + (["zeroshot"] if zero_shot_best else []),
        key=lambda k: -stored[(best, k)].within_drug,
    )
    text = _text_once_shown(page, "within-drug r =", "cannot be told apart from it")
    shown = sorted(float(r) for r in re.findall(r"within-drug r = ([+-]\d\.\d\d)", text))
    assert shown == sorted(round(stored[(best, k)].within_drug, 2) for k in trainings)
    assert "± z" in text and "is the uncertainty" in text  # the ranking says what ± z is and that ties are marked
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "trust_ranking_committed.png"), full_page=True)

    trained = next(i for i, training in enumerate(trainings) if training != "zeroshot")
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").nth(trained).click()
    ranking = pd.read_csv(csv_download.value.path())
    assert ranking["± z"].notna().all() and (ranking["± z"] > 0).all()  # the trained model's ± z as on screen
    assert {"tied?", "z-score"} <= set(ranking.columns)

    page.get_by_role("button", name="Prepare HTML report").click()
    download = page.get_by_role("button", name="Download HTML report")
    download.wait_for()
    with page.expect_download() as report_download:
        download.click()
    report = Path(report_download.value.path())
    for training in trainings:  # each model's overall score and p, as on the page and in bundle_evidence.csv
        found = stored[(best, training)]
        assert f"<td>{found.within_drug:+.2f}</td><td>{found.p_value:.2f}</td>" in report.read_text()
    page.goto(report.as_uri())
    page.wait_for_timeout(1000)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no table wider than the page
    assert (
        page.evaluate(
            "Math.max(...[...document.querySelectorAll('.side>div')].map(d => d.scrollWidth - " "d.clientWidth))"
        )
        <= 0
    )  # and no ranking column hidden behind a scroll bar
