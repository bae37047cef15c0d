"""Evidence for reading another lab's organoids: the out-of-range check, the choice of cohort alignment, the minimum
cohort size, and what alignment does to the committed bundles on another source.

Example: ``python -m training_scripts.studies.labshift_study`` (about 20 min on 2 cores, most of it PaccMann predicting).
Writes ``trained_models/benchmark/labshift/`` (CSV tables and roc.png) and prints the tables; the README quotes them.

What is chosen on what, so that nothing is reported on the data it was chosen on:
- The check's limits come from the reference organoids alone (``training_scripts.build.build_reference_profile``); here
  they are only measured: leave-one-out on the 22 van de Wetering profiles, GDSC's colorectal lines and lines of
  other tissues, and simulated lab shifts of the organoids.
- The alignment method and the minimum cohort size are chosen on simulated lab shifts of the van de Wetering
  organoids (where the unshifted truth is known), with the tDNN and ConvNN bundles.
- GDSC's 45 colorectal lines (another source: cell lines, another array) and the 3 unscreened organoids are the
  report. Caveat: the shipped pre-training saw GDSC's colorectal lines, so the within-drug ordering there is not an
  external test of the zero-shot and fine-tuned bundles; it is still a fair before/after comparison of alignment.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import models_dir
from core.data.registry import load_cohort
from core.data.tissues import COLORECTAL_LABEL, gdsc_tissue_labels
from core.inference.bundle import ModelBundle, load_bundle
from core.labshift.align import MIN_VALUES_PER_GENE, align_to_reference
from core.labshift.range_check import SHIFT, TISSUE, shift_score, tissue_score
from core.labshift.reference import ReferenceProfile, load_reference_profile
from core.labshift.simulate import ShiftSize, measured_shift, shift_profiles
from core.preprocessing.combat import ComBatHarmoniser
from core.study_design import TARGET_COHORT, TRAININGS, bundle_name
from core.usecases.predict import z_score_matrix
from training_scripts.build.build_reference_profile import TISSUE_MARKERS, leave_one_out_scores

OUT = Path("benchmark") / "labshift"
MAGNITUDES = (0.1, 0.2, 0.3, 0.5, 1.0)
QC_DRAWS = 5
MODEL_DRAWS = 3
SIMULATED_LAB = 8  # organoids in a simulated other lab when comparing methods
COHORT_SIZES = (2, 3, 5, 8, 11)  # simulated labs; the rest of the 22 organoids is the reference
GDSC_SIZES = (3, 5, 8, 15, 45)
GDSC_DRAWS = 2
FAST_ARCHITECTURES = ("tdnn", "convnn")  # PaccMann takes ~80 s per 45 profiles: report only, no repeated draws
EXTREME_Z = 3.0


def extreme_share(z: pd.DataFrame) -> float:
    return float((z.abs() > EXTREME_Z).to_numpy().mean())


def combat_align(expression: pd.DataFrame, reference_expression: pd.DataFrame) -> pd.DataFrame:
    """The other candidate: reference-batch ComBat with the cohort as its own batch (needs the reference profiles)."""
    genes = expression.columns.intersection(reference_expression.columns)
    genes = genes[expression[genes].notna().all().to_numpy() & reference_expression[genes].notna().all().to_numpy()]
    stacked = pd.concat([reference_expression[genes], expression[genes]])
    labels = ["reference"] * len(reference_expression) + ["cohort"] * len(expression)
    combat = ComBatHarmoniser().fit(stacked, labels)
    return combat.transform_to_reference(expression[genes], "cohort", "reference").reindex(columns=expression.columns)


def shrunken_alignment(
    expression: pd.DataFrame, reference: ReferenceProfile, tolerance: float = 1e-4, max_iterations: int = 100
) -> pd.DataFrame:
    """Reference-batch ComBat computed from the reference's statistics alone: the cohort's per-gene location and
    scale (in reference units) are shrunk towards their means over all genes by parametric empirical Bayes
    (Johnson et al. 2007) before being removed, so that a small cohort's noisy estimate of a gene moves it less.

    Same contract as :func:`align_to_reference`; with many organoids the two agree. A candidate the study weighs
    against plain standardisation (it needs no more than the reference's statistics either).
    """
    mean, sd = reference.series()
    genes = expression.columns.intersection(mean.index)
    standard = (expression[genes].astype(np.float64) - mean[genes]) / sd[genes]
    counts = standard.notna().sum(axis=0).to_numpy()
    placeable = (counts >= MIN_VALUES_PER_GENE) & (standard.std(axis=0, ddof=1).to_numpy() > 0)
    values = standard.to_numpy()[:, placeable]
    n = counts[placeable]
    location = np.nanmean(values, axis=0)
    scale = np.nanvar(values, axis=0, ddof=1)
    location_mean, location_var = location.mean(), location.var(ddof=1)
    scale_mean, scale_var = scale.mean(), scale.var(ddof=1)
    shape = (2 * scale_var + scale_mean**2) / scale_var
    rate = (scale_mean * scale_var + scale_mean**3) / scale_var
    shrunk_location, shrunk_scale = location.copy(), scale.copy()
    for _ in range(max_iterations):
        new_location = (n * location_var * location + shrunk_scale * location_mean) / (n * location_var + shrunk_scale)
        squares = np.nansum((values - new_location) ** 2, axis=0)
        new_scale = (rate + 0.5 * squares) / (n / 2.0 + shape - 1.0)
        change = max(
            np.max(np.abs(new_location - shrunk_location) / np.maximum(np.abs(shrunk_location), 1e-12)),
            np.max(np.abs(new_scale - shrunk_scale) / np.maximum(shrunk_scale, 1e-12)),
        )
        shrunk_location, shrunk_scale = new_location, new_scale
        if change < tolerance:
            break
    adjusted = np.full(standard.shape, np.nan)
    adjusted[:, placeable] = (values - shrunk_location) / np.sqrt(shrunk_scale)
    aligned = pd.DataFrame(adjusted, index=expression.index, columns=genes) * sd[genes] + mean[genes]
    return aligned.reindex(columns=expression.columns).astype(np.float32)


Aligner = Callable[[pd.DataFrame, pd.DataFrame, ReferenceProfile], pd.DataFrame]
METHODS: dict[str, Aligner] = {
    "none": lambda cohort, reference_expression, reference: cohort,
    "cohort_standardisation": lambda cohort, reference_expression, reference: align_to_reference(cohort, reference),
    "shrunken_combat": lambda cohort, reference_expression, reference: shrunken_alignment(cohort, reference),
    "combat_full_reference": lambda cohort, reference_expression, reference: combat_align(cohort, reference_expression),
}
PRODUCT_CANDIDATES = {"cohort_standardisation": align_to_reference, "shrunken_combat": shrunken_alignment}


def reference_of(expression: pd.DataFrame) -> ReferenceProfile:
    return ReferenceProfile.from_expression(TARGET_COHORT, expression, TISSUE_MARKERS[TARGET_COHORT])


# ---------------------------------------------------------------- the out-of-range check


def qc_scores(organoids: pd.DataFrame, gdsc: pd.DataFrame, tissue: pd.Series, size: ShiftSize) -> pd.DataFrame:
    """Both figures for every profile of every source; simulated shifts scored leave-one-out like the reference."""
    stored = load_reference_profile(models_dir(), TARGET_COHORT)
    loo = leave_one_out_scores(organoids, TARGET_COHORT).reset_index().assign(source="reference (leave-one-out)")
    rows = [loo]
    for source, lines in (
        ("GDSC colorectal lines", tissue.index[tissue == COLORECTAL_LABEL]),
        ("GDSC lines, other tissues", tissue.index[tissue != COLORECTAL_LABEL]),
    ):
        scored = [
            {"sample": line, SHIFT: shift_score(gdsc.loc[line], stored), TISSUE: tissue_score(gdsc.loc[line], stored)}
            for line in lines
        ]
        rows.append(pd.DataFrame(scored).assign(source=source))
    for magnitude in MAGNITUDES:
        for draw in range(QC_DRAWS):
            shifted = shift_profiles(organoids, size, magnitude, np.random.default_rng([draw, int(magnitude * 100)]))
            scored = []
            for sample in organoids.index:
                others = reference_of(organoids.drop(index=sample))
                profile = shifted.loc[sample]
                scored.append(
                    {"sample": sample, SHIFT: shift_score(profile, others), TISSUE: tissue_score(profile, others)}
                )
            rows.append(pd.DataFrame(scored).assign(source=f"simulated shift x{magnitude:g}", draw=draw))
    table = pd.concat(rows, ignore_index=True)
    limits = stored.limits
    table["flagged_shift"] = table[SHIFT] > limits[SHIFT]
    table["flagged"] = table["flagged_shift"] | (table[TISSUE] < limits[TISSUE])
    return table


def roc_auc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half."""
    greater = (positives[:, None] > negatives[None, :]).mean()
    ties = (positives[:, None] == negatives[None, :]).mean()
    return float(greater + 0.5 * ties)


def qc_summary(table: pd.DataFrame) -> pd.DataFrame:
    negatives = table.loc[table["source"].str.startswith("reference"), SHIFT].to_numpy()
    rows = []
    for source, group in table.groupby("source", sort=False):
        per_draw = group.groupby(group["draw"].fillna(0))["flagged"].mean()
        rows.append(
            {
                "source": source,
                "profiles": len(group) // len(per_draw),
                "flagged (mean)": float(per_draw.mean()),
                "flagged (SD over draws)": float(per_draw.std()) if len(per_draw) > 1 else float("nan"),
                "flagged by shift": float(group["flagged_shift"].mean()),
                "shift score median": float(group[SHIFT].median()),
                "tissue score median": float(group[TISSUE].median()),
                "ROC AUC of the shift score vs reference": (
                    float("nan") if source.startswith("reference") else roc_auc(negatives, group[SHIFT].to_numpy())
                ),
            }
        )
    return pd.DataFrame(rows)


def tissue_auc(table: pd.DataFrame) -> float:
    """How well the tissue score tells GDSC's colorectal lines from its other lines (higher = colorectal)."""
    colorectal = table.loc[table["source"] == "GDSC colorectal lines", TISSUE].to_numpy()
    other = table.loc[table["source"] == "GDSC lines, other tissues", TISSUE].to_numpy()
    return roc_auc(other, colorectal)


def roc_figure(table: pd.DataFrame, path: Path, limit: float) -> None:
    """Left: ROC of the shift score, each other source against the reference organoids (leave-one-out). Right: the
    scores themselves per source, with the limit, which says what the ROC cannot: where the check actually cuts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    negatives = np.sort(table.loc[table["source"].str.startswith("reference"), SHIFT].to_numpy())
    figure, (roc, scores) = plt.subplots(1, 2, figsize=(12, 5))
    sources = list(dict.fromkeys(table["source"]))
    for source in sources[1:]:
        positives = table.loc[table["source"] == source, SHIFT].to_numpy()
        thresholds = np.unique(np.concatenate([negatives, positives, [np.inf]]))[::-1]
        fpr = [(negatives > t).mean() for t in thresholds] + [1.0]
        tpr = [(positives > t).mean() for t in thresholds] + [1.0]
        roc.plot(fpr, tpr, label=f"{source} (AUC {roc_auc(negatives, positives):.2f})")
    roc.set_xlabel("reference organoids flagged (leave-one-out)")
    roc.set_ylabel("other-source profiles flagged")
    roc.set_title("ROC of the lab/platform shift score")
    roc.legend(fontsize=7, loc="lower right")
    rng = np.random.default_rng(0)
    for position, source in enumerate(sources):
        values = table.loc[table["source"] == source, SHIFT].to_numpy()
        scores.scatter(values, position + rng.uniform(-0.25, 0.25, len(values)), s=4, alpha=0.4)
    scores.axvline(limit, color="grey", linestyle=":", label=f"limit {limit:g}")
    scores.set_xscale("log")
    scores.set_yticks(range(len(sources)), sources, fontsize=8)
    scores.invert_yaxis()
    scores.set_xlabel("shift score (1 = as the reference organoids differ among themselves)")
    scores.set_title("Where the limit cuts")
    scores.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------- alignment: choice and cohort size (simulated)


def ranking_agreement(aligned: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Mean over organoids of the Spearman r between their drug rankings (z over drugs) aligned and true."""
    return float(aligned.rank(axis=1).corrwith(truth.rank(axis=1), axis=1).mean())


def simulated_recovery(
    organoids: pd.DataFrame,
    bundles: dict[str, ModelBundle],
    size: ShiftSize,
    sizes: tuple[int, ...],
    methods: list[str],
    magnitudes: tuple[float, ...],
) -> pd.DataFrame:
    """Per draw, cohort size, magnitude, method and bundle: how far the aligned z-scores are from the z-scores of the
    same organoids as the reference lab measured them (RMS difference, and the Spearman r of each organoid's drug
    ranking with its true one), and the share of |z| > 3."""
    rows = []
    for draw in range(MODEL_DRAWS):
        rng = np.random.default_rng(1000 + draw)
        order = rng.permutation(organoids.index.to_numpy())
        for n in sizes:
            lab, rest = organoids.loc[order[:n]], organoids.drop(index=order[:n])
            reference = reference_of(rest)
            for magnitude in magnitudes:
                shifted = shift_profiles(lab, size, magnitude, rng)
                inputs = {"truth": lab} | {m: METHODS[m](shifted, rest, reference) for m in methods}
                stacked = pd.concat({key: frame for key, frame in inputs.items()}, names=["input", "sample"])
                flat = stacked.set_axis([f"{a}|{b}" for a, b in stacked.index], axis=0)
                for name, bundle in bundles.items():
                    z = z_score_matrix(bundle, flat)
                    z.index = stacked.index
                    truth = z.loc["truth"]
                    for method in methods:
                        aligned = z.loc[method]
                        rows.append(
                            {
                                "draw": draw,
                                "cohort_size": n,
                                "magnitude": magnitude,
                                "method": method,
                                "bundle": name,
                                "rms_z_error": float(np.sqrt(((aligned - truth) ** 2).to_numpy().mean())),
                                "ranking_spearman": ranking_agreement(aligned, truth),
                                "share_abs_z_gt_3": extreme_share(aligned),
                            }
                        )
            print(f"  simulated draw {draw} size {n} done", flush=True)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- report on another source (GDSC) and unscreened


def within_drug_spearman(z: pd.DataFrame, bundle: ModelBundle, observed: pd.DataFrame, min_lines: int = 10) -> float:
    """Mean over drugs of the Spearman r between predicted z and GDSC's measured AUC across the lines."""
    from scipy.stats import spearmanr

    names = bundle.drugs.set_index("drug")["gdsc_name"].dropna()
    scores = []
    for drug in z.columns:
        gdsc_name = names.get(drug, drug)
        measured = observed[observed["drug"] == gdsc_name].set_index("sample")["value"]
        lines = z.index.intersection(measured.index)
        if len(lines) >= min_lines:
            scores.append(spearmanr(z.loc[lines, drug], measured[lines]).statistic)
    return float(np.nanmean(scores)) if scores else float("nan")


def gdsc_report(
    lines: pd.DataFrame, observed: pd.DataFrame, bundles: dict[str, ModelBundle], aligner: Callable
) -> pd.DataFrame:
    """Every bundle on GDSC's colorectal lines read one by one and aligned as one cohort."""
    reference = load_reference_profile(models_dir(), TARGET_COHORT)
    rows = []
    for name, bundle in bundles.items():
        start = time.perf_counter()
        for label, inputs in (("none", lines), ("aligned", aligner(lines, reference))):
            z = z_score_matrix(bundle, inputs)
            rows.append(
                {
                    "bundle": name,
                    "alignment": label,
                    "share_abs_z_gt_3": extreme_share(z),
                    "max_abs_z": float(z.abs().to_numpy().max()),
                    "within_drug_spearman": within_drug_spearman(z, bundle, observed),
                }
            )
        print(f"  GDSC {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return pd.DataFrame(rows)


def gdsc_cohort_sizes(
    lines: pd.DataFrame, observed: pd.DataFrame, bundles: dict[str, ModelBundle], aligner: Callable
) -> pd.DataFrame:
    """The lines split at random into labs of ``n``, each aligned on its own, then pooled: what the size of the
    cohorts a lab aligns does to extreme z-scores and to the ordering of lines within a drug."""
    reference = load_reference_profile(models_dir(), TARGET_COHORT)
    rows = []
    for draw in range(GDSC_DRAWS):
        rng = np.random.default_rng(2000 + draw)
        for n in GDSC_SIZES:
            order = rng.permutation(lines.index.to_numpy())
            labs = [order[i : i + n] for i in range(0, len(order), n)]
            labs[-2:] = [np.concatenate(labs[-2:])] if len(labs[-1]) < n and len(labs) > 1 else labs[-2:]
            aligned = pd.concat([aligner(lines.loc[lab], reference) for lab in labs])
            for name, bundle in bundles.items():
                z = z_score_matrix(bundle, aligned)
                rows.append(
                    {
                        "draw": draw,
                        "cohort_size": n,
                        "bundle": name,
                        "share_abs_z_gt_3": extreme_share(z),
                        "within_drug_spearman": within_drug_spearman(z, bundle, observed),
                    }
                )
        print(f"  GDSC cohort sizes, draw {draw} done", flush=True)
    return pd.DataFrame(rows)


def unscreened_report(organoids: pd.DataFrame, screened: set[str], bundles: dict[str, ModelBundle]) -> pd.DataFrame:
    unscreened = organoids.loc[[s for s in organoids.index if s not in screened]]
    return pd.DataFrame(
        [
            {"bundle": name, "organoids": ", ".join(unscreened.index), "share_abs_z_gt_3": extreme_share(z)}
            for name, bundle in bundles.items()
            for z in [z_score_matrix(bundle, unscreened)]
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=models_dir())
    args = parser.parse_args(argv)
    out = args.models / OUT
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    colorectal = load_cohort(TARGET_COHORT)
    organoids = colorectal.expression.dropna(axis=0, how="all").astype(np.float64)
    gdsc = load_cohort("gdsc1")
    tissue = gdsc_tissue_labels().reindex(gdsc.expression.index).fillna("unknown")
    stored = load_reference_profile(args.models, TARGET_COHORT)
    crc_lines = gdsc.expression.loc[tissue.index[tissue == COLORECTAL_LABEL]]
    size = measured_shift(crc_lines, stored)
    print(
        f"GDSC colorectal lines vs organoids: offset SD {size.offset_sd:.2f} log2, log-scale SD {size.log_scale_sd:.2f}"
    )

    qc = qc_scores(organoids, gdsc.expression, tissue, size)
    qc.to_csv(out / "qc_scores.csv", index=False, float_format="%.4g")
    summary = qc_summary(qc)
    summary.to_csv(out / "qc_summary.csv", index=False, float_format="%.4g")
    roc_figure(qc, out / "roc.png", stored.limits[SHIFT])
    print(summary.round(3).to_string(index=False))
    print(f"tissue score, GDSC colorectal vs other lines: ROC AUC {tissue_auc(qc):.3f}", flush=True)

    bundles = {
        bundle_name(TARGET_COHORT, architecture, training): load_bundle(
            args.models / bundle_name(TARGET_COHORT, architecture, training)
        )
        for architecture in ("tdnn", "convnn", "paccmann")
        for training in TRAININGS
    }
    fast = {name: bundle for name, bundle in bundles.items() if any(f"_{a}_" in name for a in FAST_ARCHITECTURES)}
    recovery = simulated_recovery(organoids, fast, size, (SIMULATED_LAB,), list(METHODS), (0.3, 1.0))
    by_size = simulated_recovery(organoids, fast, size, COHORT_SIZES, list(PRODUCT_CANDIDATES), (1.0,))
    pd.concat([recovery.assign(study="method"), by_size.assign(study="cohort size")]).to_csv(
        out / "simulated_alignment.csv", index=False, float_format="%.4g"
    )
    measures = ["rms_z_error", "ranking_spearman", "share_abs_z_gt_3"]
    print(recovery.groupby(["magnitude", "method"])[measures].agg(["mean", "std"]).round(3).to_string(), flush=True)
    print(by_size.groupby(["method", "cohort_size"])[measures].agg(["mean", "std"]).round(3).to_string(), flush=True)
    chosen = min(PRODUCT_CANDIDATES, key=lambda m: recovery.loc[recovery["method"] == m, "rms_z_error"].mean())
    print(f"chosen on the simulated labs (lowest mean RMS z error): {chosen}", flush=True)

    observed = gdsc.responses
    lines = crc_lines.astype(np.float64)
    gdsc_table = gdsc_report(lines, observed, bundles, PRODUCT_CANDIDATES[chosen]).assign(method=chosen)
    gdsc_table.to_csv(out / "gdsc_colorectal.csv", index=False, float_format="%.4g")
    print(gdsc_table.round(3).to_string(index=False), flush=True)
    gdsc_sizes = gdsc_cohort_sizes(lines, observed, fast, PRODUCT_CANDIDATES[chosen])
    gdsc_sizes.to_csv(out / "gdsc_cohort_size.csv", index=False, float_format="%.4g")
    print(gdsc_sizes.groupby("cohort_size")[["share_abs_z_gt_3", "within_drug_spearman"]].agg(["mean", "std"]).round(3))

    unscreened = unscreened_report(organoids, set(colorectal.responses["sample"]), bundles)
    unscreened.to_csv(out / "unscreened_organoids.csv", index=False, float_format="%.4g")
    print(unscreened.round(4).to_string(index=False))
    print(f"done in {time.perf_counter() - started:.0f} s; tables in {out}")


if __name__ == "__main__":
    main()
