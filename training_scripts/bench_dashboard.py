"""What a dashboard user waits for, measured on the committed bundles: app start to the first page,
upload to ranking for one organoid (QC + scratch and fine-tuned predictions), and the drug-detail work
(integrated gradients for one organoid and one drug, precomputed reference genes, ORA), plus a profile
of where the ranking's time goes.

Example: ``python -m training_scripts.bench_dashboard --architecture tdnn``. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from streamlit.testing.v1 import AppTest

from core.artifacts import load_bundle
from core.config import REPO_ROOT, models_dir
from core.data.registry import TARGET_DATASET, load_cohort
from core.explain.bundle_attributions import DEFAULT_VIEW, VIEWS, organoid_attributions, pathway_enrichment
from core.explain.enrichment import ranked_enrichment
from core.explain.precomputed import load_reference_explanations
from core.predict import rank_drugs
from core.preprocessing.panels import load_panel
from core.upload import validate_upload

APP = REPO_ROOT / "dashboard" / "app.py"


def seconds(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="tdnn", choices=["tdnn", "convnn", "paccmann"])
    parser.add_argument("--drug", default="Oxaliplatin")
    args = parser.parse_args(argv)

    start_s, app = seconds(lambda: AppTest.from_file(str(APP), default_timeout=300).run())
    print(f"app start to first page (home, reads every dataset once per process): {start_s:.1f} s"
          f"{' (page raised)' if app.exception else ''}")

    expression = load_cohort(TARGET_DATASET).expression
    upload = expression.iloc[[0]].T.to_csv().encode()  # one organoid, genes as rows, as a user would send it
    names = {kind: f"{TARGET_DATASET}_{args.architecture}_{kind}" for kind in ("scratch", "finetuned")}
    load_s, bundles = seconds(lambda: {k: load_bundle(models_dir() / n) for k, n in names.items()})
    print(f"loading both bundles (once per process, hashes verified): {load_s:.2f} s")
    panel = load_panel("paccmann" if args.architecture == "paccmann" else "tdnn")
    for attempt in ("first", "warm"):
        qc_s, profile = seconds(lambda: validate_upload(upload, "organoid.csv", panel))
        rank_s, _ = seconds(lambda: [rank_drugs(b, profile.expression) for b in bundles.values()])
        print(f"upload to ranking, one organoid ({attempt}): QC {qc_s:.2f} s + two rankings {rank_s:.2f} s "
              f"= {qc_s + rank_s:.2f} s")

    finetuned = bundles["finetuned"]
    references = load_cohort(TARGET_DATASET).expression
    by_view = {}
    for view in VIEWS:
        ig_s, by_view[view] = seconds(lambda: organoid_attributions(finetuned, profile.expression, args.drug, view,
                                                                    references))
        print(f"drug detail ({args.drug}), {view} view: organoid attributions {ig_s:.2f} s "
              f"({len(finetuned.members)} members{', every drug' if VIEWS[view].needs_all_drugs else ''})")
    genes = by_view[DEFAULT_VIEW]
    ref_s, precomputed = seconds(lambda: load_reference_explanations(models_dir(), finetuned.name))
    ora_s, _ = seconds(lambda: pathway_enrichment(genes, finetuned, "Reactome"))
    ranked_s, _ = seconds(lambda: ranked_enrichment(genes.set_index("gene")["attribution"], "Reactome"))
    print(f"precomputed reference explanations {ref_s:.2f} s "
          f"({'found' if precomputed is not None else 'missing: computed on the fly in the app'}); "
          f"{DEFAULT_VIEW} view: ORA (Reactome) {ora_s:.2f} s; ranked enrichment (Reactome, one drug) {ranked_s:.2f} s")

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
