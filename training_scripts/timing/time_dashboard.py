"""What a dashboard user waits for, measured on the committed bundles: app start to the first page, the
first visit of every page in one session that uploads an organoid (in Streamlit's AppTest, so the page's own
work, not the browser's drawing), click to first epoch and to results of an own-cohort training run as the
fine-tuning page starts it (a worker process), upload to ranking for one organoid (QC + scratch and
fine-tuned predictions, called directly), and the drug-detail work
(integrated gradients for one organoid and one drug, precomputed reference genes, ORA), plus a profile
of where the ranking's time goes.

The first figure is a cold process: a 10-organoid cohort uploaded and its ranking page drawn (AppTest: the
server's work, not the browser's drawing).

Example: ``python -m training_scripts.timing.time_dashboard --architecture tdnn``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import time

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="tdnn", choices=list(SPECS))
    parser.add_argument("--drug", default="Oxaliplatin")
    parser.add_argument("--cohort", type=int, default=10, help="organoids in the cold cohort upload")
    args = parser.parse_args(argv)

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
