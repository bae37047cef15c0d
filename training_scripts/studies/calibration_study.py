"""Is the ranking's calibrated number calibrated? (issue 22) ``pdo-calibration-study``.

For every colorectal bundle, two held-out sets:

- **The reference organoids, out of fold.** Each organoid's probability comes from its cross-validated prediction,
  with the drugs' reliability, z reference and bound taken from the other organoids only
  (:func:`core.evaluation.calibration.held_out_probabilities`); the outcome is whether its measured AUC lies below
  the others' median.
- **GDSC's 45 colorectal lines**, aligned as one cohort onto the reference organoids as the app aligns another
  lab's cohort; the reliability is the bundle's own (from all its organoids); the outcome is whether a line's GDSC
  AUC lies below the lines' median for that drug. An external test only for bundles whose training never saw the
  lines (:func:`core.usecases.held_out_lines.independent_of_lines`: today those trained from scratch; the shipped
  pre-training saw them, so for zero-shot and fine-tuned bundles it is reported but not evidence). The reliability
  here is from the organoids alone: the app also weighs the lines' per-drug evidence for the bundles that never saw
  them, which this set cannot test without scoring the lines on themselves.

Both are scored as the ranking shows p (a coin's 1/2 for drugs whose reliability reaches 0) and as the posterior
average for every drug (what p would be without that rule). Brier skill against a coin and against each drug's
base rate and the calibration slope come with bootstrap intervals over samples (1,000 draws).

Writes ``<models>/benchmark/calibration/`` (summary.csv, reliability_bins.csv, drug_reliability.csv,
reliability.png). About 10-20 min on 2 cores, most of it PaccMann's predictions for the lines.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import models_dir
from core.evaluation.calibration import (
    calibrated_probability,
    calibration_score,
    held_out_probabilities,
    p_more_sensitive,
    reliability_bins,
)
from core.inference.bundle import ModelBundle, load_bundle
from core.study_design import TARGET_COHORT, TRAININGS, bundle_name
from core.usecases.held_out_lines import independent_of_lines, line_predictions, lines_for
from core.usecases.predict import reference_statistics
from core.usecases.ranking import drug_reliability

OUT = Path("benchmark") / "calibration"
VARIANTS = ("as shown", "posterior average")
N_BOOT = 1000


def line_probabilities(bundle: ModelBundle, lines: pd.DataFrame, measured: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per variant: sample, drug, z, p, outcome for every line and drug of the held-out test
    (:func:`core.usecases.held_out_lines.line_predictions`; outcome: AUC below the lines' median for that drug)."""
    table = line_predictions(bundle, lines, measured)
    stats = reference_statistics(bundle)
    z = (
        (table["y_pred"] - table["drug"].map(stats["reference_mean"])) / table["drug"].map(stats["reference_sd"])
    ).to_numpy()
    row = drug_reliability(bundle).set_index("drug").loc[table["drug"]]
    bound = row["z_bound"].to_numpy()
    shown = {
        "as shown": calibrated_probability(z, row, bound),
        "posterior average": p_more_sensitive(z, row["z_mean"], row["z_sd"], bound),
    }
    outcome = (table["y_true"] < table.groupby("drug")["y_true"].transform("median")).astype(int).to_numpy()
    return {
        variant: pd.DataFrame({"sample": table["sample"], "drug": table["drug"], "z": z, "p": p, "outcome": outcome})
        for variant, p in shown.items()
    }


def score_row(bundle: str, held_out: str, variant: str, table: pd.DataFrame, external: bool) -> dict[str, object]:
    found = calibration_score(table, N_BOOT)
    return {
        "bundle": bundle,
        "held_out": held_out,
        "external": external,
        "p_shown": variant,
        "pairs": found.n_pairs,
        "samples": found.n_samples,
        "p_min": float(table["p"].min()),
        "p_max": float(table["p"].max()),
        "brier": found.brier,
        **{f"skill_vs_coin{suffix}": v for suffix, v in zip(("", "_low", "_high"), found.skill_vs_coin)},
        **{f"skill_vs_base_rate{suffix}": v for suffix, v in zip(("", "_low", "_high"), found.skill_vs_base_rate)},
        **{f"slope{suffix}": v for suffix, v in zip(("", "_low", "_high"), found.slope)},
    }


def reliability_figure(bins: pd.DataFrame, path: Path) -> None:
    """One panel per held-out set: observed share against mean p per bin, each bundle a line, the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(bins["held_out"]))
    figure, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 5), squeeze=False)
    for axis, held_out in zip(axes[0], sets):
        shown = bins[(bins["held_out"] == held_out) & (bins["p_shown"] == "posterior average")]
        for name, group in shown.groupby("bundle"):
            axis.errorbar(
                group["p_mean"],
                group["observed"],
                yerr=np.clip([group["observed"] - group["low"], group["high"] - group["observed"]], 0, None),
                marker="o",
                markersize=3,
                capsize=2,
                label=name.removeprefix("colorectal_"),
            )
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_xlabel("predicted P(more sensitive than the median), posterior average")
        axis.set_ylabel("observed share more sensitive")
        axis.set_title(held_out)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=models_dir())
    args = parser.parse_args(argv)
    out = args.models / OUT
    out.mkdir(parents=True, exist_ok=True)

    aligned, responses = lines_for(args.models, TARGET_COHORT)
    print(f"{len(aligned)} GDSC colorectal lines, aligned as one cohort", flush=True)

    rows, bins, reliabilities = [], [], []
    for architecture in ("tdnn", "convnn", "paccmann"):
        for training in TRAININGS:
            name = bundle_name(TARGET_COHORT, architecture, training)
            if not (args.models / name).is_dir():
                continue
            start = time.perf_counter()
            bundle = load_bundle(args.models / name)
            reliabilities.append(drug_reliability(bundle).assign(bundle=name))
            sets = {
                "organoids, out of fold": (
                    {
                        "as shown": held_out_probabilities(bundle.reference_predictions),
                        "posterior average": held_out_probabilities(bundle.reference_predictions, False),
                    },
                    True,
                ),
                "GDSC colorectal lines": (
                    line_probabilities(bundle, aligned, responses),
                    independent_of_lines(bundle.manifest),
                ),
            }
            for held_out, (tables, external) in sets.items():
                for variant, table in tables.items():
                    rows.append(score_row(name, held_out, variant, table, external))
                    bins.append(reliability_bins(table).assign(bundle=name, held_out=held_out, p_shown=variant))
            shown = pd.DataFrame(rows[-4:])[["held_out", "p_shown", "skill_vs_coin", "slope"]]
            print(f"{name} ({time.perf_counter() - start:.0f} s)\n{shown.round(4).to_string(index=False)}", flush=True)

    summary = pd.DataFrame(rows)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.4g")
    pd.concat(bins, ignore_index=True).to_csv(out / "reliability_bins.csv", index=False, float_format="%.4g")
    pd.concat(reliabilities, ignore_index=True).to_csv(out / "drug_reliability.csv", index=False, float_format="%.4g")
    reliability_figure(pd.concat(bins, ignore_index=True), out / "reliability.png")
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
