"""How long a lab waits for "fine-tune on your own screen", at the size of the pancreatic organoid screen of
Tiriac et al. (44 organoids x 25 drugs), on this machine: every stage of the dashboard's path, timed.

Tiriac's organoids have no public expression, so the cohort is built to that size from real data: the 44
colorectal (TCGA COREAD) GDSC1 cell lines with expression and the 25 drugs screened on most of them (AUC).
They are sent through the same validation as an upload (an expression CSV, genes as rows, and a long
response table). Their expression is GDSC's per-cell z-scored RMA, which the upload check recognises as
standardised and passes through with a warning. These cell lines were part of pre-training, so the
fine-tuned model's scores here are optimistic; the benchmark is about time, not accuracy.

Stages: validation of both files; loading GDSC1 and the pre-trained model (once per server process in the
dashboard); fine-tuned and from-scratch bundles, each 5-fold cross-validated; zip export and reload (checked
to give the same predictions). ``--responsiveness`` also times a dashboard page (About, in Streamlit's
AppTest, in this process) while the training runs in a worker process, as it does in the dashboard.

Example: ``python -m training_scripts.timing.time_own_cohort``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np
import pandas as pd

from core.config import REPO_ROOT, data_root, models_dir
from core.data.cohort import Cohort
from core.data.registry import load_cohort
from core.inference.bundle import bundles_from_zip_bytes, bundles_to_zip_bytes
from core.models import SPECS
from core.study_design import PRETRAINING_COHORT
from core.training import background
from core.training.fit import TrainingSettings
from core.training.own_cohort import (
    BROWSER_TRAINING,
    DEFAULT_FOLDS,
    comparison_table,
    train_own_cohort,
    train_own_cohort_to_zip,
)
from core.training.pretrained import pretrained_from_zeroshot_bundle
from core.upload.cohort import validate_cohort_upload
from core.usecases.predict import member_predictions

APP = REPO_ROOT / "dashboard" / "app.py"
N_SAMPLES, N_DRUGS = 44, 25
PAGE_EVERY_S = 2.0


def tiriac_size_upload(gdsc: Cohort, tcga_label: str = "COREAD") -> tuple[bytes, bytes]:
    """(expression CSV, response CSV) of ``N_SAMPLES`` GDSC1 lines of one cancer type x ``N_DRUGS`` drugs."""
    lines = pd.read_csv(data_root() / "invitro" / "gdsc_deepdr2023" / "cell_lines.csv", dtype={"cell_line_id": str})
    ids = sorted(set(lines.loc[lines["tcga_label"] == tcga_label, "cell_line_id"]) & set(gdsc.expression.index))
    pairs = gdsc.usable_pairs()
    pairs = pairs[pairs["sample"].isin(ids)]
    samples = sorted(pairs.groupby("sample").size().sort_values(ascending=False, kind="stable").index[:N_SAMPLES])
    pairs = pairs[pairs["sample"].isin(samples)]
    coverage = pairs.groupby("drug").size().reset_index(name="n").sort_values(["n", "drug"], ascending=[False, True])
    pairs = pairs[pairs["drug"].isin(coverage["drug"].head(N_DRUGS))]
    expression = gdsc.expression.loc[samples].T.rename_axis("gene").to_csv(float_format="%.4f").encode()
    responses = pairs[["sample", "drug", "value"]].rename(columns={"value": "auc"}).to_csv(index=False).encode()
    return expression, responses


def timed(label: str, function, timings: dict[str, float]):
    start = time.perf_counter()
    result = function()
    timings[label] = time.perf_counter() - start
    print(f"{label:<48s} {timings[label]:7.1f} s", flush=True)
    return result


def page_seconds(runs: int) -> list[float]:
    """Wall time of ``runs`` runs of the About page in AppTest (a light page: manifests, a table)."""
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        AppTest.from_file(str(APP), default_timeout=300).switch_page("views/about.py").run()
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="tdnn", choices=list(SPECS))
    parser.add_argument("--batch-size", type=int, default=BROWSER_TRAINING.batch_size)
    parser.add_argument("--max-epochs", type=int, default=BROWSER_TRAINING.max_epochs)
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    parser.add_argument(
        "--responsiveness",
        action="store_true",
        help="also time a dashboard page while the training runs on a background thread",
    )
    args = parser.parse_args(argv)
    settings = TrainingSettings(batch_size=args.batch_size, max_epochs=args.max_epochs)
    print(f"settings: {settings.to_dict()}, {args.folds} folds, {args.architecture}", flush=True)

    timings: dict[str, float] = {}
    gdsc = timed("load GDSC1 (once per server process)", lambda: load_cohort(PRETRAINING_COHORT), timings)
    pretrained, manifest = timed(
        "load the pre-trained model (once per process)",
        lambda: pretrained_from_zeroshot_bundle(models_dir() / f"colorectal_{args.architecture}_zeroshot"),
        timings,
    )
    expression, responses = tiriac_size_upload(gdsc)
    uploaded = timed(
        "validate both files, resolve drug structures",
        lambda: validate_cohort_upload(
            expression,
            "expression.csv",
            responses,
            "responses.csv",
            metric="auc",
            lower_is_sensitive=True,
            panel=pretrained.expression.genes,
        ),
        timings,
    )
    cohort = uploaded.cohort
    print(
        f"cohort: {cohort.expression.shape[0]} samples x {len(cohort.drug_smiles)} drugs, "
        f"{len(cohort.usable_pairs())} pairs",
        flush=True,
    )

    def train(progress=None):
        return train_own_cohort(cohort, "benchmark", pretrained, manifest, gdsc, settings, args.folds, progress)

    if args.responsiveness:
        idle = page_seconds(4)[1:]  # the first run pays for imports and caches
        folder = models_dir() / f"colorectal_{args.architecture}_zeroshot"
        job = background.start(
            train_own_cohort_to_zip, (cohort, "benchmark", folder, settings, args.folds), "bench-own-cohort"
        )
        busy = []
        while job.active:  # a user clicking every few seconds, as on a page that polls a running job
            busy += page_seconds(1)
            time.sleep(PAGE_EVERY_S)
        if job.status != background.DONE:
            raise SystemExit(f"training ended {job.status}: {job.error}")
        bundles = {b.manifest.training: b for b in bundles_from_zip_bytes(job.result)}
        timings["fine-tune + from scratch, cross-validated"] = job.seconds
        print(
            f"{'fine-tune + from scratch, cross-validated':<48s} {job.seconds:7.1f} s (worker process, "
            "including its start: imports, GDSC, pre-trained model, zip)"
        )
        print(
            f"About page run: idle median {statistics.median(idle):.2f} s; while training median "
            f"{statistics.median(busy):.2f} s, max {max(busy):.2f} s over {len(busy)} runs",
            flush=True,
        )
    else:
        bundles = timed("fine-tune + from scratch, cross-validated", train, timings)
    for training, bundle in bundles.items():
        epochs = [f["epochs_run"] for f in bundle.manifest.fold_training or ()]
        print(f"  {training}: {bundle.manifest.build_seconds:.1f} s, epochs per fold {epochs}")
    archive = timed("zip export (in memory)", lambda: bundles_to_zip_bytes(list(bundles.values())), timings)
    reloaded = timed("zip reload (hashes verified)", lambda: bundles_from_zip_bytes(archive), timings)
    probe = cohort.expression.iloc[:3]
    same = all(
        np.array_equal(member_predictions(a, probe), member_predictions(b, probe))
        for a, b in zip(bundles.values(), reloaded)
    )
    print(f"zip: {len(archive) / 1e6:.1f} MB; reloaded bundles predict identically: {same}")
    user_wait = sum(
        timings[k]
        for k in (
            "validate both files, resolve drug structures",
            "fine-tune + from scratch, cross-validated",
            "zip export (in memory)",
        )
    )
    print(
        f"\ntotal a user waits (validation + training + export): {user_wait:.1f} s "
        f"({user_wait / 60:.2f} min; budget 3 min); first run of a server adds "
        f"{timings['load GDSC1 (once per server process)'] + timings['load the pre-trained model (once per process)']:.1f} s"
    )
    print("\ncross-validated scores on the cohort:")
    print(comparison_table(bundles).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
