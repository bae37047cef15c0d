"""The honest benchmark (issue 5): run the grid on Ray, then collect predictions, scores, tests and the report.

Examples::

    python -m training_scripts.studies.benchmark --profile quick            # < 30 min on a 2-core CPU
    python -m training_scripts.studies.benchmark --profile full             # the committed results
    python -m training_scripts.studies.benchmark --profile full --address ray://head:10001
    python -m training_scripts.studies.benchmark --profile full --collect-only

Task results go to ``--work-dir`` (default: the cache, per profile); a rerun skips finished tasks, so
an interrupted run resumes. Collecting writes ``predictions.parquet``, ``summary.csv``,
``paired_tests.csv``, ``clinical_check.csv`` and ``REPORT.md`` with its figures to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.benchmark.collect import benchmark_predictions, stored_predictions, write_results
from core.benchmark.grid import PROFILES
from core.benchmark.markdown import write_benchmark_report
from core.benchmark.runner import run_grid
from core.config import cache_dir, models_dir
from core.evaluation.grouped import summarise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument(
        "--work-dir", type=Path, help="where task results are kept (default: cache/benchmark/<profile>)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where collected results go (default: trained_models/benchmark for "
        "the full profile, <work-dir>/results otherwise)",
    )
    parser.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    parser.add_argument("--collect-only", action="store_true", help="skip running; collect what has finished")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="recompute summary.csv from the predictions.parquet in "
        "--out (after a metric was added), leaving every other file as it is",
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    work_dir = args.work_dir or cache_dir() / "benchmark" / profile.name
    timings = work_dir / "run_times.jsonl"
    if not (args.collect_only or args.rescore):
        seconds = run_grid(profile, work_dir, args.address, args.num_cpus)
        with timings.open("a") as log:
            log.write(
                json.dumps({"profile": profile.name, "wall_seconds": round(seconds, 1), "finished": time.time()}) + "\n"
            )
        print(f"grid finished in {seconds / 60:.1f} min (this run; earlier runs in {timings})")
    out = args.out or (models_dir() / "benchmark" if profile.name == "full" else work_dir / "results")
    if args.rescore:
        summary = summarise(stored_predictions(out))
        summary.to_csv(out / "summary.csv", index=False, float_format="%.4g")
        print(f"rescored {len(summary)} rows into {out / 'summary.csv'}")
        return
    start = time.perf_counter()
    predictions = benchmark_predictions(profile, work_dir)
    results = write_results(predictions, out)
    run_minutes = (
        sum(json.loads(line)["wall_seconds"] for line in timings.read_text().splitlines()) / 60
        if timings.is_file()
        else None
    )
    report = write_benchmark_report(results, predictions, profile, run_minutes, out)
    print(
        f"collected {len(predictions):,} predictions into {out} in {time.perf_counter() - start:.0f} s; report: {report}"
    )


if __name__ == "__main__":
    main()
