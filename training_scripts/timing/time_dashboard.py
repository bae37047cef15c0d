"""What a dashboard user waits for, measured on the committed bundles: app start to the first page, the
first visit of every page in one session that uploads an organoid (in Streamlit's AppTest, so the page's own
work, not the browser's drawing), click to first epoch and to results of an own-cohort training run as the
fine-tuning page starts it (a worker process), upload to ranking for one organoid (QC + scratch and
fine-tuned predictions, called directly), and the drug-detail work
(integrated gradients for one organoid and one drug, precomputed reference genes, ORA), plus a profile
of where the ranking's time goes.

The first figure is a cold process: a 10-organoid cohort uploaded and its ranking page drawn (AppTest: the
server's work, not the browser's drawing).

First of all, the table of issue 23 ("what | now | target"), measured in headless Chromium against ``streamlit run``
on the committed bundles (``time_upload_server`` starts the server): upload -> ranking drawn on a cold server and
on a warm one in a new session, ranking -> genes -> pathways, the HTML report, five sessions uploading at once
(one browser each, in threads), and, on a second fresh server, a first training's click -> progress bar.
``--table-only`` stops after it.

Example: ``python -m training_scripts.timing.time_dashboard --architecture tdnn``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, models_dir
from core.data.cohort import Cohort
from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.explain.bundle_attributions import DEFAULT_VIEW, VIEWS, organoid_attributions, pathway_enrichment
from core.explain.enrichment import ranked_enrichment
from core.explain.precomputed import load_reference_explanations
from core.inference.bundle import load_bundle
from core.models import SPECS
from core.study_design import TARGET_COHORT, bundle_name
from core.training import background
from core.training.own_cohort import BROWSER_TRAINING, train_own_cohort_to_zip
from core.upload import validate_upload
from core.usecases.predict import rank_drugs
from training_scripts.timing.time_upload_server import CHROMIUM, CHROMIUM_ARGS, STEP_MS, dashboard, wait_idle

APP = REPO_ROOT / "dashboard" / "app.py"
# After the upload, the pages in the order a first-time user meets them (home's start-here path, then the rest).
PAGES_AFTER_UPLOAD = (
    "views/ranking.py",
    "views/genes.py",
    "views/pathways.py",
    "views/performance.py",
    "views/finetune.py",
    "views/about.py",
)


def seconds(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def first_visits(app: AppTest, upload: bytes) -> None:
    """Walk one session through every page for the first time: the upload page, the upload itself, then
    each page with the organoid in the session. What loads once per process is paid by the first page that
    needs it, as on a server."""
    visit_s, app = seconds(lambda: app.switch_page("views/upload.py").run())
    print(f"first visit, Upload & QC: {visit_s:.1f} s")
    upload_s, app = seconds(
        lambda: app.file_uploader(key="upload_file").set_value(("organoid.csv", upload, "text/csv")).run()
    )
    print(f"upload of one organoid (QC on the page): {upload_s:.1f} s")
    for page in PAGES_AFTER_UPLOAD:
        visit_s, app = seconds(lambda: app.switch_page(page).run())
        print(f"first visit, {page.split('/')[-1][:-3]}: {visit_s:.1f} s{' (page raised)' if app.exception else ''}")
        if page == "views/ranking.py":
            print(f"  upload -> ranking on screen: {upload_s + visit_s:.1f} s")


def cohort_upload(upload: bytes, n_samples: int) -> None:
    """Cold process: a lab's cohort uploaded (QC, alignment as one cohort, out-of-range check of every organoid) and
    the ranking page drawn for its first organoid, in a fresh session before anything else has been loaded."""
    app = AppTest.from_file(str(APP), default_timeout=300).run()
    app = app.switch_page("views/upload.py").run()
    upload_s, app = seconds(
        lambda: app.file_uploader(key="upload_file").set_value(("cohort.csv", upload, "text/csv")).run()
    )
    rank_s, app = seconds(lambda: app.switch_page("views/ranking.py").run())
    print(
        f"cold process, {n_samples}-organoid cohort: upload (QC, alignment, out-of-range check) {upload_s:.1f} s + "
        f"ranking page {rank_s:.1f} s = upload -> ranking {upload_s + rank_s:.1f} s"
        f"{' (page raised)' if app.exception else ''}"
    )


def training_clicks(architecture: str, n_samples: int = 12, n_drugs: int = 10) -> None:
    """Click -> first epoch and click -> results of an own-cohort run, started as the fine-tuning page starts
    it (a spawned worker): ``n_samples`` reference organoids x ``n_drugs`` drugs, 2 folds x 3 epochs."""
    reference = load_cohort(TARGET_COHORT)
    responses = reference.responses
    samples = sorted(responses["sample"].unique())[:n_samples]
    drugs = sorted(d for d in responses["drug"].unique() if reference.drug_smiles.get(d))[:n_drugs]
    chosen = responses[responses["sample"].isin(samples) & responses["drug"].isin(drugs)].reset_index(drop=True)
    cohort: Cohort = dataclasses.replace(
        reference, responses=chosen, drug_smiles={d: reference.drug_smiles[d] for d in drugs}
    )
    settings = dataclasses.replace(BROWSER_TRAINING, max_epochs=3)
    folder = models_dir() / bundle_name(TARGET_COHORT, architecture, "zeroshot")
    clicked = time.perf_counter()
    job = background.start(train_own_cohort_to_zip, (cohort, "benchmark subset", folder, settings, 2), "bench")
    first_epoch = None
    while job.active:
        if first_epoch is None and job.progress is not None and job.progress.epoch is not None:
            first_epoch = time.perf_counter() - clicked
        time.sleep(0.05)
    first = "never reached" if first_epoch is None else f"{first_epoch:.1f} s"
    print(
        f"own-cohort training ({architecture}, {n_samples} organoids x {n_drugs} drugs, 2 folds x 3 epochs, worker "
        f"process): click -> first epoch {first}, click -> results {time.perf_counter() - clicked:.1f} s "
        f"({job.status}{': ' + job.error.splitlines()[-1] if job.error else ''})"
    )


@dataclass(frozen=True)
class Row:
    """One line of issue 23's table: what a user waits for, the figure measured here, and the target."""

    what: str
    now: str
    target: str


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def drawn(page, last) -> float:
    """Wait until ``last`` (the last element a page draws) is on screen and the run has ended; the time then."""
    last.wait_for()
    page.get_by_test_id("stStatusWidget").wait_for(state="detached")
    page.get_by_test_id("stSpinner").first.wait_for(state="detached")
    return time.monotonic()


def new_session(browser, url: str):
    """A new browser session (its own cookies: a new Streamlit session) on the home page."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    page.get_by_role("link", name="1. Upload & QC").wait_for()
    return page


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_idle(page)


def upload_to_ranking(page, organoid: Path) -> float:
    """Seconds from choosing the file on Upload & QC (open) to the ranking page drawn (its QC, then its link)."""
    start = time.monotonic()
    page.locator("input[type=file]").set_input_files(str(organoid))
    page.get_by_role("link", name="See the drug ranking").click()
    return drawn(page, page.get_by_role("button", name="Prepare HTML report")) - start


def ranking_to_pathways(page) -> tuple[float, float]:
    """Seconds from the ranking's "Genes behind it" to the genes page drawn, and from its pathways link on."""
    start = time.monotonic()
    page.get_by_role("button", name="Genes behind it").click()
    genes = drawn(page, page.get_by_role("link", name="Pathways enriched in the top genes", exact=False)) - start
    start = time.monotonic()
    page.get_by_role("link", name="Pathways enriched in the top genes", exact=False).click()
    page.get_by_role("heading", name="Pathways").wait_for()
    return genes, drawn(page, page.get_by_test_id("stSidebarNav")) - start


def report_prepared(page) -> float:
    """Seconds from "Prepare HTML report" to its download button (the ranking page must be open)."""
    start = time.monotonic()
    page.get_by_role("button", name="Prepare HTML report").click()
    return drawn(page, page.get_by_role("button", name="Download HTML report")) - start


def back_to_back_downloads(page) -> list[str | None]:
    """Click the ranking's first two "Download CSV" buttons one right after the other; why each download failed
    (None: it arrived)."""
    buttons = page.get_by_role("button", name="Download CSV")
    downloads = []
    for index in range(2):
        with page.expect_download() as download:
            buttons.nth(index).click()
        downloads.append(download.value)
    return [download.failure() for download in downloads]


def concurrent_rankings(url: str, organoid: Path, users: int) -> tuple[list[float], list[list[str | None]]]:
    """``users`` sessions, each in its own headless Chromium and thread, choose the file at the same moment;
    each one's upload -> ranking seconds (a session that failed reads NaN and prints why), then each downloads
    two CSVs back to back (:func:`back_to_back_downloads`) while the others may still be busy."""
    from playwright.sync_api import sync_playwright

    ready = threading.Barrier(users)
    seconds = [float("nan")] * users
    failures: list[list[str | None]] = [[] for _ in range(users)]

    def user(index: int) -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = new_session(browser, url)
                open_page(page, "Upload & QC")
                ready.wait()
                seconds[index] = upload_to_ranking(page, organoid)
                failures[index] = back_to_back_downloads(page)
            except Exception as error:  # noqa: BLE001  (a benchmark reports a failed session and goes on)
                waiting = [line.strip() for line in str(error).splitlines() if "waiting for" in line][:1]
                print(f"session {index + 1} failed: {type(error).__name__}: {str(error).splitlines()[0]} {waiting}")
                page.screenshot(path=str(REPO_ROOT / "test-artifacts" / f"time_dashboard_session_{index + 1}.png"))
                ready.abort()
            finally:
                browser.close()

    threads = [threading.Thread(target=user, args=(index,)) for index in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seconds, failures


def cohort_files(folder: Path, n_samples: int = 12, n_drugs: int = 10) -> tuple[Path, Path]:
    """A lab's cohort as it would upload it, from public data: expression (genes x organoids) and responses
    (Organoid, Drug, AUC) of the first ``n_samples`` screened colorectal organoids and ``n_drugs`` GDSC drugs."""
    reference = load_cohort(TARGET_COHORT)
    responses = reference.responses
    samples = sorted(responses["sample"].unique())[:n_samples]
    drugs = sorted(d for d in responses["drug"].unique() if reference.drug_smiles.get(d))[:n_drugs]
    rows = responses[responses["sample"].isin(samples) & responses["drug"].isin(drugs)]
    expression_path, responses_path = folder / "cohort_expression.csv", folder / "cohort_screen.csv"
    reference.expression.loc[samples].T.rename_axis("gene").to_csv(expression_path, float_format="%.4f")
    rows.rename(columns={"sample": "Organoid", "drug": "Drug", "value": "AUC"})[["Organoid", "Drug", "AUC"]].to_csv(
        responses_path, index=False
    )
    return expression_path, responses_path


def click_to_progress(page, expression: Path, responses: Path) -> float:
    """Seconds from the first "Fine-tune and train from scratch" click to a progress bar on screen (the cohort
    checked first); the training is stopped then."""
    open_page(page, "Fine-tune on your cohort")
    for label, path in (
        ("Expression (genes x samples)", expression),
        ("Drug responses (sample, drug, value)", responses),
    ):
        page.get_by_role("region", name=label).get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    page.get_by_text(responses.name).wait_for()
    page.get_by_role("button", name="Check the cohort").click()
    page.get_by_text("Samples kept").wait_for()
    wait_idle(page)
    start = time.monotonic()
    page.get_by_role("button", name="Fine-tune and train from scratch").click()
    page.get_by_test_id("stProgress").wait_for()
    seconds = time.monotonic() - start
    page.get_by_role("button", name="Stop training").click()
    wait_idle(page)
    return seconds


def browser_table(models: Path, users: int) -> list[Row]:
    """Issue 23's table, measured: one server for the clinician's path and the concurrent sessions, a second fresh
    one for the first training."""
    from playwright.sync_api import sync_playwright

    log = REPO_ROOT / "test-artifacts" / "streamlit_time_dashboard.log"
    log.parent.mkdir(exist_ok=True)
    rows = []

    def add(row: Row) -> None:
        rows.append(row)
        print(f"measured: {row.what.strip()}: {row.now} (load average {load_average()})", flush=True)

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        organoid = Path(folder) / "organoid.csv"
        load_cohort(TARGET_COHORT).expression.iloc[[0]].T.rename_axis("gene").to_csv(organoid, float_format="%.4f")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with dashboard(models, None, log) as (_, url):
            start = time.monotonic()
            page = new_session(browser, url)
            open_page(page, "Upload & QC")
            add(Row("cold server: home page, then Upload & QC drawn", f"{time.monotonic() - start:.1f} s", "-"))
            cold = upload_to_ranking(page, organoid)
            add(Row("upload -> ranking drawn, cold server", f"{cold:.1f} s", "< 8 s"))
            page = new_session(browser, url)
            open_page(page, "Upload & QC")
            warm = upload_to_ranking(page, organoid)
            add(Row("upload -> ranking drawn, warm server, new session", f"{warm:.1f} s", "< 3 s"))
            genes, pathways = ranking_to_pathways(page)
            open_page(page, "Drug ranking")
            report = report_prepared(page)
            add(
                Row("ranking -> genes page / genes -> pathways page", f"{genes:.1f} s / {pathways:.1f} s", "< 3 s each")
            )
            add(Row("HTML report prepared", f"{report:.1f} s", "< 5 s"))
            each, failures = concurrent_rankings(url, organoid, users)
            drawn_in = [seconds for seconds in each if seconds == seconds]  # NaN: the session failed (printed)
            now = f"{min(drawn_in):.1f}-{max(drawn_in):.1f} s" if drawn_in else "none drawn"
            lost = f" ({len(each) - len(drawn_in)} failed)" if len(drawn_in) < len(each) else ""
            add(Row(f"{users} users upload at once -> each ranking", now + lost, "< 15 s each"))
            failed = [f"session {n + 1}: {found}" for n, found in enumerate(failures) if any(found)]
            add(
                Row(
                    "  then two CSV downloads back to back: sessions with a failed one",
                    f"{len(failed)} of {users}",
                    "0",
                )
            )
            print("\n".join(failed))
        print(*[line for line in log.read_text().splitlines() if "Preloaded" in line], sep="\n")
        with dashboard(models, None, log.with_name("streamlit_time_dashboard_training.log")) as (_, url):
            progress = click_to_progress(new_session(browser, url), *cohort_files(Path(folder)))
            add(Row("first training after server start: click -> progress bar", f"{progress:.1f} s", "< 1 s"))
        browser.close()
    return rows


def print_table(rows: list[Row]) -> None:
    width = max(len(row.what) for row in rows)
    print(f"{'what':<{width}} | {'now':>13} | target")
    for row in rows:
        print(f"{row.what:<{width}} | {row.now:>13} | {row.target}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="tdnn", choices=list(SPECS))
    parser.add_argument("--drug", default="Oxaliplatin")
    parser.add_argument("--cohort", type=int, default=10, help="organoids in the cold cohort upload")
    parser.add_argument("--users", type=int, default=5, help="browser sessions uploading at once")
    parser.add_argument("--models", type=Path, default=models_dir(), help="bundles the browser table's server reads")
    parser.add_argument("--table-only", action="store_true", help="stop after issue 23's table")
    args = parser.parse_args(argv)

    before = load_average()
    rows = browser_table(args.models, args.users)
    print(f"issue 23's table, headless Chromium against streamlit run (load average {before}, then {load_average()}):")
    print_table(rows)
    if args.table_only:
        return

    expression = load_cohort(TARGET_COHORT).expression
    cohort_upload(expression.iloc[: args.cohort].T.to_csv().encode(), args.cohort)

    start_s, app = seconds(lambda: AppTest.from_file(str(APP), default_timeout=300).run())
    print(
        f"app start to first page (home; the datasets are read only when its expander is opened): {start_s:.1f} s"
        f"{' (page raised)' if app.exception else ''}"
    )
    upload = expression.iloc[[0]].T.to_csv().encode()  # one organoid, genes as rows, as a user would send it
    first_visits(app, upload)
    training_clicks(args.architecture)

    names = {training: bundle_name(TARGET_COHORT, args.architecture, training) for training in ("scratch", "finetuned")}
    load_s, bundles = seconds(lambda: {k: load_bundle(models_dir() / n) for k, n in names.items()})
    print(f"loading both bundles (once per process, hashes verified): {load_s:.2f} s")
    panel = load_panel(SPECS[args.architecture].panel)
    for attempt in ("first", "warm"):
        qc_s, profile = seconds(lambda: validate_upload(upload, "organoid.csv", panel))
        rank_s, _ = seconds(lambda: [rank_drugs(b, profile.expression) for b in bundles.values()])
        print(
            f"upload to ranking, one organoid ({attempt}): QC {qc_s:.2f} s + two rankings {rank_s:.2f} s "
            f"= {qc_s + rank_s:.2f} s"
        )

    finetuned = bundles["finetuned"]
    references = load_cohort(TARGET_COHORT).expression
    by_view = {}
    for view in VIEWS:
        ig_s, by_view[view] = seconds(
            lambda: organoid_attributions(finetuned, profile.expression, args.drug, view, references)
        )
        print(
            f"drug detail ({args.drug}), {view} view: organoid attributions {ig_s:.2f} s "
            f"({len(finetuned.members)} members{', every drug' if VIEWS[view].needs_all_drugs else ''})"
        )
    genes = by_view[DEFAULT_VIEW]
    ref_s, precomputed = seconds(lambda: load_reference_explanations(models_dir(), finetuned.name))
    ora_s, _ = seconds(lambda: pathway_enrichment(genes, finetuned, "Reactome"))
    ranked_s, _ = seconds(lambda: ranked_enrichment(genes.set_index("gene")["attribution"], "Reactome"))
    print(
        f"precomputed reference explanations {ref_s:.2f} s "
        f"({'found' if precomputed is not None else 'missing: computed on the fly in the app'}); "
        f"{DEFAULT_VIEW} view: ORA (Reactome) {ora_s:.2f} s; ranked enrichment (Reactome, one drug) {ranked_s:.2f} s"
    )

    profiler = cProfile.Profile()
    profiler.enable()
    rank_drugs(finetuned, profile.expression)
    profiler.disable()
    report = io.StringIO()
    pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(12)
    print("\nwhere one ranking's time goes (cumulative):")
    print("\n".join(line for line in report.getvalue().splitlines() if "/" in line or "ncalls" in line))


if __name__ == "__main__":
    main()
