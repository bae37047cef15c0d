"""What the genes page costs per attribution view: one organoid x one drug with every fold model of a shipped
bundle (the app averages them), first call (Keras traces the gradient function) and warm, with the wall time
and the process CPU time per core (on a busy machine the latter estimates an idle machine's wall time).

Example: ``python -m training_scripts.timing.time_attribution_views --bundles colorectal_tdnn_finetuned``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from core.config import models_dir
from core.data.registry import load_cohort
from core.explain.bundle_attributions import VIEWS, organoid_attributions
from core.inference.bundle import load_bundle
from core.models import SPECS

DEFAULT_BUNDLES = [f"colorectal_{architecture}_finetuned" for architecture in SPECS]


def timed(action) -> tuple[float, float]:
    """Wall seconds and process CPU seconds per core of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, (time.process_time() - cpu) / (os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", nargs="+", default=DEFAULT_BUNDLES)
    parser.add_argument("--sample", default="P10", help="reference organoid explained (as an upload would be)")
    parser.add_argument("--drug", default="Oxaliplatin")
    args = parser.parse_args(argv)
    cohort = load_cohort("colorectal").expression
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    for name in args.bundles:
        bundle = load_bundle(models_dir() / name)
        organoid = cohort.loc[[args.sample]]
        for view, described in VIEWS.items():

            def explain() -> None:
                organoid_attributions(bundle, organoid, args.drug, view, cohort)

            first_wall, first_cpu = timed(explain)
            warm_wall, warm_cpu = timed(explain)
            rows.append(
                {
                    "bundle": name,
                    "view": view,
                    "members": len(bundle.members),
                    "mean over drugs": described.needs_all_drugs,
                    "first call s": first_wall,
                    "warm s": warm_wall,
                    "warm CPU s per core": warm_cpu,
                }
            )
            print(f"{name} {view}: first {first_wall:.2f} s, warm {warm_wall:.2f} s", flush=True)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
