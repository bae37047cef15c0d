"""How much domain shift between GDSC cell lines and colorectal organoids does ComBat remove?

Both domains are standardised per sample over a cancer-gene panel, then compared before and after
ComBat with three measures: a cross-validated domain classifier (ROC AUC; 0.5 = indistinguishable),
the mean absolute gap between per-gene domain means, and how much of PC1 the domain explains.
ComBat is evaluated two ways: "naive" fits it on every sample (what a one-off batch correction does)
and "honest" fits it inside each training fold only and corrects the held-out samples with the stored
parameters, which is what a deployed model sees. A leave-one-organoid-out check then shows how far a
stored-parameter correction is from a batch fit that includes the sample.

Run: ``python -m training_scripts.studies.combat_report`` (about 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pycombat import Combat
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.preprocessing.combat import ComBatHarmoniser
from core.preprocessing.standardise import standardise_per_sample
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT

GDSC, ORGANOID = "gdsc", "organoid"


@dataclass
class ShiftMeasures:
    """Domain-shift measures of one version of the data (before, naive or honest ComBat)."""

    auc_mean: float
    auc_sd: float
    mean_gap: float
    pc1_share: float
    pc1_domain_r2: float
    domain_variance_share: float


def _harmonise(harmoniser: ComBatHarmoniser, expression: pd.DataFrame, domains: pd.Series) -> pd.DataFrame:
    """Correct every sample with the stored parameters of its own domain, keeping the row order."""
    parts = [harmoniser.transform(expression[domains == name], name) for name in domains.unique()]
    return pd.concat(parts).loc[expression.index]


def _shift_measures(expression: pd.DataFrame, domains: pd.Series, fold_aucs: list[float]) -> ShiftMeasures:
    values = expression.to_numpy(dtype=np.float64)
    is_organoid = (domains == ORGANOID).to_numpy()
    gap = np.abs(values[is_organoid].mean(axis=0) - values[~is_organoid].mean(axis=0)).mean()
    pca = PCA(n_components=1).fit(values)
    pc1 = pca.transform(values)[:, 0]
    return ShiftMeasures(
        auc_mean=float(np.mean(fold_aucs)),
        auc_sd=float(np.std(fold_aucs)),
        mean_gap=float(gap),
        pc1_share=float(pca.explained_variance_ratio_[0]),
        pc1_domain_r2=float(np.corrcoef(pc1, is_organoid)[0, 1] ** 2),
        domain_variance_share=_domain_variance_share(values, is_organoid),
    )


def _domain_variance_share(values: np.ndarray, is_organoid: np.ndarray) -> float:
    """Between-domain sum of squares over total sum of squares, pooled over all genes."""
    grand = values.mean(axis=0)
    between = sum(
        group.shape[0] * np.sum((group.mean(axis=0) - grand) ** 2)
        for group in (values[is_organoid], values[~is_organoid])
    )
    return float(between / np.sum((values - grand) ** 2))


def _classifier_auc(
    train: pd.DataFrame, train_domains: pd.Series, test: pd.DataFrame, test_domains: pd.Series
) -> float:
    """ROC AUC of an L2 logistic regression telling organoids from cell lines on held-out samples.

    liblinear converges in seconds where lbfgs needs minutes on the nearly inseparable corrected data.
    """
    model = LogisticRegression(solver="liblinear", class_weight="balanced")
    model.fit(train.to_numpy(), train_domains == ORGANOID)
    return float(roc_auc_score(test_domains == ORGANOID, model.predict_proba(test.to_numpy())[:, 1]))


def _domain_shift(
    expression: pd.DataFrame, domains: pd.Series, folds: int, repeats: int, seed: int
) -> dict[str, ShiftMeasures]:
    """Before / naive / honest measures; the honest matrix holds the out-of-fold corrections of repeat 1."""
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    naive = _harmonise(ComBatHarmoniser().fit(expression, domains), expression, domains)
    aucs: dict[str, list[float]] = {"before": [], "naive": [], "honest": []}
    first_repeat = []
    for split, (train_rows, test_rows) in enumerate(splitter.split(expression, domains)):
        train, test = expression.iloc[train_rows], expression.iloc[test_rows]
        d_train, d_test = domains.iloc[train_rows], domains.iloc[test_rows]
        aucs["before"].append(_classifier_auc(train, d_train, test, d_test))
        aucs["naive"].append(_classifier_auc(naive.iloc[train_rows], d_train, naive.iloc[test_rows], d_test))
        harmoniser = ComBatHarmoniser().fit(train, d_train)
        honest_test = _harmonise(harmoniser, test, d_test)
        aucs["honest"].append(_classifier_auc(_harmonise(harmoniser, train, d_train), d_train, honest_test, d_test))
        if split < folds:
            first_repeat.append(honest_test)
    honest = pd.concat(first_repeat).loc[expression.index]
    versions = {"before": expression, "naive": naive, "honest": honest}
    return {name: _shift_measures(data, domains, aucs[name]) for name, data in versions.items()}


def _stored_vs_pycombat(expression: pd.DataFrame, domains: pd.Series, held_out: str) -> float:
    """Max |difference| between the stored-parameter apply step and pycombat's transform for one sample."""
    train = expression.drop(index=held_out)
    train_domains = domains.drop(index=held_out)
    ours = ComBatHarmoniser().fit(train, train_domains).transform(expression.loc[[held_out]], ORGANOID)
    combat = Combat(mode="p").fit(train.to_numpy(dtype=np.float64), train_domains.to_numpy())
    one_gdsc = domains.index[domains == GDSC][0]
    theirs = combat.transform(
        expression.loc[[held_out, one_gdsc]].to_numpy(dtype=np.float64), np.array([ORGANOID, GDSC])
    )[0]
    return float(np.abs(ours.to_numpy(dtype=np.float64)[0] - theirs).max())


def _leave_one_organoid_out(expression: pd.DataFrame, domains: pd.Series) -> pd.DataFrame:
    """For each organoid: stored-parameter correction (fit without it) vs a batch fit that includes it."""
    organoids = domains.index[domains == ORGANOID]
    batch_fit = ComBatHarmoniser().fit(expression, domains).transform(expression.loc[organoids], ORGANOID)
    rows = []
    for organoid in organoids:
        stored = ComBatHarmoniser().fit(expression.drop(index=organoid), domains.drop(index=organoid))
        held = stored.transform(expression.loc[[organoid]], ORGANOID).iloc[0].astype(np.float64)
        full = batch_fit.loc[organoid].astype(np.float64)
        raw = expression.loc[organoid].astype(np.float64)
        gap = (held - full).abs()
        rows.append(
            {
                "organoid": organoid,
                "max_abs_diff": gap.max(),
                "worst_gene": gap.idxmax(),
                "mean_abs_diff": gap.mean(),
                "frac_diff_over_0.5": (gap > 0.5).mean(),
                "r_values": np.corrcoef(held, full)[0, 1],
                "r_corrections": np.corrcoef(held - raw, full - raw)[0, 1],
            }
        )
    return pd.DataFrame(rows).set_index("organoid")


def _organoid_scale(expression: pd.DataFrame, domains: pd.Series, gene: str) -> float:
    """Fitted ComBat delta*^2 of the organoid batch for one gene (how much that gene gets stretched)."""
    params = ComBatHarmoniser().fit(expression, domains).to_dict()
    return params["delta_star_squared"][params["batches"].index(ORGANOID)][params["genes"].index(gene)]


def _print_shift_table(measures: dict[str, ShiftMeasures], n_splits: int) -> None:
    table = pd.DataFrame(
        {
            f"domain classifier ROC AUC ({n_splits} held-out folds, mean +- sd)": {
                name: f"{m.auc_mean:.3f} +- {m.auc_sd:.3f}" for name, m in measures.items()
            },
            "mean over genes |organoid mean - GDSC mean|": {name: f"{m.mean_gap:.4f}" for name, m in measures.items()},
            "PC1 share of total variance": {name: f"{m.pc1_share:.3f}" for name, m in measures.items()},
            "R2 of domain on PC1 scores": {name: f"{m.pc1_domain_r2:.3f}" for name, m in measures.items()},
            "domain share of total variance (all genes)": {
                name: f"{m.domain_variance_share:.2e}" for name, m in measures.items()
            },
        }
    ).T
    table.columns = ["before ComBat", "ComBat fit on all (naive)", "ComBat fit in train folds (honest)"]
    print(table.to_string())


def _print_leave_one_out(expression: pd.DataFrame, domains: pd.Series) -> None:
    loo = _leave_one_organoid_out(expression, domains)
    print(
        f"\nLeave-one-organoid-out ({len(loo)} organoids): ComBat fitted on GDSC + the other {len(loo) - 1} "
        "organoids,\nthe held-out organoid corrected with the stored parameters and compared with a batch fit "
        "that includes it.\nThey are not expected to be identical: in a batch fit the sample itself shapes the "
        "organoid batch's gamma* and delta*."
    )
    summary = loo.drop(columns="worst_gene").describe().loc[["mean", "min", "50%", "max"]]
    print(summary.to_string(float_format=lambda v: f"{v:.4f}"))
    worst = loo["max_abs_diff"].idxmax()
    gene = loo.loc[worst, "worst_gene"]
    without = _organoid_scale(expression.drop(index=worst), domains.drop(index=worst), gene)
    print(
        f"Largest difference: {worst}, gene {gene}: {loo.loc[worst, 'max_abs_diff']:.3f} (per-sample z units). "
        f"{worst} is an outlier on {gene} (z = {expression.loc[worst, gene]:.2f}; other organoids "
        f"{expression.loc[loo.index.drop(worst), gene].min():.2f} to {expression.loc[loo.index.drop(worst), gene].max():.2f});"
        f"\nwithout it the organoid delta*^2 of {gene} is {without:.3f} instead of "
        f"{_organoid_scale(expression, domains, gene):.3f}, so the stored correction stretches the outlier further."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="stratified CV folds for the domain classifier")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of the fold split")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fold splits")
    args = parser.parse_args(argv)

    gdsc = load_cohort(PRETRAINING_COHORT).expression
    organoids = load_cohort(TARGET_COHORT).expression
    panel = load_panel("tdnn")
    expression = pd.concat([standardise_per_sample(gdsc, panel), standardise_per_sample(organoids, panel)])
    if expression.index.has_duplicates:
        raise ValueError("A cell-line key equals an organoid name; the domains cannot share sample names.")
    domains = pd.Series([GDSC] * len(gdsc) + [ORGANOID] * len(organoids), index=expression.index, name="domain")

    print(
        f"GDSC cell lines: {gdsc.shape[0]} x {gdsc.shape[1]} mapped genes; "
        f"organoids: {organoids.shape[0]} x {organoids.shape[1]} mapped genes"
    )
    print(
        f"Panel (paper cancer-gene lists present in both): {len(panel)} genes; "
        "each sample z-scored over the panel (ddof=0)\n"
    )
    measures = _domain_shift(expression, domains, args.folds, args.repeats, args.seed)
    _print_shift_table(measures, args.folds * args.repeats)
    print(
        "Honest gap/PCA columns use the out-of-fold corrected matrix of the first repeat. A naive AUC far "
        "below 0.5 is the\nknown artefact of correcting before splitting: each batch is centred on all its "
        "samples, so held-out samples\nsit on the far side of their own batch's training mean."
    )

    first_organoid = domains.index[domains == ORGANOID][0]
    print(
        f"\nStored-parameter apply vs pycombat transform, held-out {first_organoid}: "
        f"max |diff| = {_stored_vs_pycombat(expression, domains, first_organoid):.2e} (float32 output)"
    )
    _print_leave_one_out(expression, domains)


if __name__ == "__main__":
    main()
