"""Does a model order organoids within a drug? Per-drug ridge models on drug-centred targets, trained on GDSC
cell lines (all lines, tissue residuals, or gastrointestinal lines only), aligned to the organoids four
ways, applied as they are (zero-shot) or shrunk towards on the organoids (fine-tuned), next to a ridge on
the organoids alone (scratch); scored on the benchmark's colorectal cell cold-start folds and on an
external cohort (GDSC's colorectal lines, held out of everything).

Every configuration of the grid is reported, but the *selected* model is chosen per outer fold on that
fold's training organoids only (which a zero-shot model never trained on), so its score is not tuned on
the test folds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from core.data.cohort import Cohort
from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.data.tissues import COLORECTAL_LABEL, gdsc_cell_lines
from core.evaluation.metrics import within_drug, within_drug_fold, within_drug_fold_per_drug
from core.evaluation.permutation import permutation_test
from core.evaluation.splits import cell_cold_start_folds
from core.preprocessing.standardise import standardise_per_sample
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT
from core.transfer.alignment import ALIGNMENTS, REFERENCE, TARGET, Alignment, make_alignment
from core.transfer.linear import PerDrugRidge, shared_alpha, tissue_residuals

GASTROINTESTINAL = ("COREAD", "STAD", "ESCA", "PAAD", "LIHC")  # TCGA labels of the gastrointestinal lines
EXTERNAL_LABEL = COLORECTAL_LABEL  # GDSC's colorectal lines: the external test cohort
TRAINING_SETS = ("all_lines", "tissue_residuals", "gastrointestinal")


@dataclass(frozen=True)
class Inputs:
    """Per-sample z-scored panel expression of both cohorts and their drug-response pairs, drugs named as in
    GDSC (organoid drugs without a GDSC counterpart are left out)."""

    gdsc: pd.DataFrame
    organoids: pd.DataFrame
    gdsc_pairs: pd.DataFrame
    organoid_pairs: pd.DataFrame
    cell_lines: pd.DataFrame  # cell_line_id -> tissue_gdsc1, tcga_label


@cache
def load_inputs(panel: str = "tdnn") -> Inputs:
    genes = load_panel(panel)
    gdsc, organoids = load_cohort(PRETRAINING_COHORT), load_cohort(TARGET_COHORT)
    organoid_pairs = _gdsc_named(organoids)
    gdsc_pairs = gdsc.usable_pairs()[["sample", "drug", "value"]]
    gdsc_pairs = gdsc_pairs[gdsc_pairs["drug"].isin(organoid_pairs["drug"].unique())].reset_index(drop=True)
    organoid_pairs = organoid_pairs[organoid_pairs["drug"].isin(gdsc_pairs["drug"].unique())].reset_index(drop=True)
    lines = gdsc_cell_lines()
    return Inputs(
        standardise_per_sample(gdsc.expression, genes).astype(np.float64),
        standardise_per_sample(organoids.expression, genes).astype(np.float64),
        gdsc_pairs,
        organoid_pairs,
        lines,
    )


def _gdsc_named(cohort: Cohort) -> pd.DataFrame:
    pairs = cohort.usable_pairs()[["sample", "drug", "value"]]
    pairs = pairs.assign(drug=pairs["drug"].map(cohort.drug_gdsc_names)).dropna(subset=["drug"])
    return pairs.groupby(["sample", "drug"], as_index=False)["value"].mean()


def gdsc_training_pairs(inputs: Inputs, training_set: str, exclude_label: str | None = None) -> pd.DataFrame:
    """The GDSC pairs a model learns from: every line, tissue residuals, or the gastrointestinal lines."""
    pairs = inputs.gdsc_pairs
    label = pairs["sample"].map(inputs.cell_lines["tcga_label"])
    if exclude_label is not None:
        pairs = pairs[label != exclude_label]
    if training_set == "tissue_residuals":
        return tissue_residuals(pairs, inputs.cell_lines["tissue_gdsc1"])
    if training_set == "gastrointestinal":
        return pairs[pairs["sample"].map(inputs.cell_lines["tcga_label"]).isin(GASTROINTESTINAL)]
    if training_set != "all_lines":
        raise ValueError(f"unknown GDSC training set {training_set!r}")
    return pairs


@dataclass
class TransferModel:
    """An alignment and the GDSC ridge fitted on its reference features; ``finetune`` adds the organoid step."""

    alignment_name: str
    training_set: str
    alignment: Alignment
    gdsc_model: PerDrugRidge

    def features(self, expression: pd.DataFrame, domain: str) -> pd.DataFrame:
        return aligned(self.alignment, expression, domain)

    def finetune(self, organoids: pd.DataFrame, pairs: pd.DataFrame) -> PerDrugRidge:
        return PerDrugRidge().fit(self.features(organoids, TARGET), pairs, prior=self.gdsc_model)


def fit_alignment(inputs: Inputs, alignment_name: str, lines: list[str], target_samples: list[str]) -> Alignment:
    """The alignment fitted on GDSC ``lines`` and ``target_samples`` (training organoids only)."""
    return make_alignment(alignment_name).fit(
        inputs.gdsc.loc[lines].to_numpy(), inputs.organoids.loc[target_samples].to_numpy()
    )


def aligned(alignment: Alignment, expression: pd.DataFrame, domain: str) -> pd.DataFrame:
    """``expression`` (samples x genes) of ``domain`` as the fitted ``alignment`` maps it, same labels."""
    return pd.DataFrame(
        alignment.transform(expression.to_numpy(), domain), index=expression.index, columns=expression.columns
    )


def content_key(*tables: pd.DataFrame, extra: str = "") -> str:
    """SHA-256 of the tables' values and labels (and ``extra``): a model fitted on equal inputs is fitted once
    (most alignments leave GDSC's features the same in every fold; only contrastive PCA depends on the
    fold's organoids)."""
    digest = hashlib.sha256(extra.encode())
    for table in tables:
        digest.update(pd.util.hash_pandas_object(table).to_numpy().tobytes())
    return digest.hexdigest()


def fit_transfer(
    inputs: Inputs, alignment_name: str, training_set: str, target_samples: list[str], exclude_label: str | None = None
) -> TransferModel:
    """Alignment fitted on the GDSC lines used and ``target_samples`` (training organoids only), then the GDSC ridge."""
    pairs = gdsc_training_pairs(inputs, training_set, exclude_label)
    lines = sorted(pairs["sample"].unique())
    alignment = fit_alignment(inputs, alignment_name, lines, target_samples)
    features = aligned(alignment, inputs.gdsc.loc[lines], REFERENCE)
    return TransferModel(alignment_name, training_set, alignment, _gdsc_ridge(features, pairs))


_GDSC_RIDGES: dict[str, PerDrugRidge] = {}


def _gdsc_ridge(features: pd.DataFrame, pairs: pd.DataFrame) -> PerDrugRidge:
    """The GDSC ridge of these features and pairs, fitted once per :func:`content_key`."""
    key = content_key(features, pairs)
    if key not in _GDSC_RIDGES:
        _GDSC_RIDGES[key] = PerDrugRidge(alpha=shared_alpha(features, pairs)).fit(features, pairs)
    return _GDSC_RIDGES[key]


def configurations() -> Iterator[tuple[str, str]]:
    for alignment in ALIGNMENTS:
        for training_set in TRAINING_SETS:
            yield alignment, training_set


def organoid_folds(inputs: Inputs, n_folds: int, seed: int) -> pd.Series:
    """Test fold of every organoid (cell cold-start, grouped by organoid; seed 0 = the bundles' folds)."""
    pairs = inputs.organoid_pairs
    fold_of_pair = cell_cold_start_folds(pairs, n_folds, seed)
    return pd.Series(fold_of_pair, index=pairs["sample"].to_numpy()).groupby(level=0).first()


def cross_validated_predictions(inputs: Inputs, n_folds: int = 5, seed: int = 0, progress=print) -> pd.DataFrame:
    """Held-out predictions of every configuration (zero-shot and fine-tuned), the organoid-only ridge, the
    per-fold selected configuration, and the naive per-drug mean, as a long table with ``model`` and ``fold``."""
    fold_of = organoid_folds(inputs, n_folds, seed)
    pairs = inputs.organoid_pairs.assign(fold=inputs.organoid_pairs["sample"].map(fold_of).to_numpy())
    tables = []
    for fold in range(n_folds):
        train, test = pairs[pairs["fold"] != fold], pairs[pairs["fold"] == fold]
        train_samples = sorted(train["sample"].unique())
        selection = []
        for alignment_name, training_set in configurations():
            model = fit_transfer(inputs, alignment_name, training_set, train_samples)
            name = f"ridge_{training_set}_{alignment_name}"
            organoid_features = model.features(inputs.organoids, TARGET)
            zero_shot = model.gdsc_model.predict(organoid_features, test)
            tables.append(test.assign(model=f"{name}_zeroshot", y_pred=zero_shot))
            tables.append(
                test.assign(
                    model=f"{name}_finetuned",
                    y_pred=model.finetune(inputs.organoids.loc[train_samples], train).predict(organoid_features, test),
                )
            )
            on_training = train.assign(y_pred=model.gdsc_model.predict(organoid_features, train), fold=0)
            selection.append((within_drug_fold(on_training.rename(columns={"value": "y_true"})), name, zero_shot))
            progress(f"fold {fold + 1}/{n_folds} {name}: score on the training organoids {selection[-1][0]:.3f}")
        best = max(selection, key=lambda item: item[0])
        tables.append(test.assign(model="ridge_selected_zeroshot", y_pred=best[2], selected=best[1]))
        scratch = PerDrugRidge().fit(inputs.organoids, train).predict(inputs.organoids, test)
        tables.append(test.assign(model="ridge_organoids_scratch", y_pred=scratch))
        tables.append(
            test.assign(model="naive_drug_mean", y_pred=test["drug"].map(train.groupby("drug")["value"].mean()))
        )
    table = pd.concat(tables, ignore_index=True).rename(columns={"value": "y_true"})
    baseline = table[table["model"] == "naive_drug_mean"].set_index(["sample", "drug"])["y_pred"]
    return table.assign(baseline=baseline.reindex(pd.MultiIndex.from_frame(table[["sample", "drug"]])).to_numpy())


def external_predictions(inputs: Inputs, alignment_name: str, training_set: str) -> pd.DataFrame:
    """GDSC's colorectal lines predicted by a model that never saw them: the GDSC ridge fitted without them
    (zero-shot) and then shrunk towards on all organoids (fine-tuned); one 'fold' (the lines are one cohort)."""
    organoid_samples = sorted(inputs.organoid_pairs["sample"].unique())
    model = fit_transfer(inputs, alignment_name, training_set, organoid_samples, exclude_label=EXTERNAL_LABEL)
    label = inputs.gdsc_pairs["sample"].map(inputs.cell_lines["tcga_label"])
    test = inputs.gdsc_pairs[label == EXTERNAL_LABEL].reset_index(drop=True)
    lines = model.features(inputs.gdsc.loc[sorted(test["sample"].unique())], REFERENCE)
    finetuned = model.finetune(inputs.organoids.loc[organoid_samples], inputs.organoid_pairs)
    name = f"ridge_{training_set}_{alignment_name}"
    tables = [
        test.assign(model=f"{name}_zeroshot", y_pred=model.gdsc_model.predict(lines, test)),
        test.assign(model=f"{name}_finetuned", y_pred=finetuned.predict(lines, test)),
    ]
    return pd.concat(tables, ignore_index=True).rename(columns={"value": "y_true"}).assign(fold=0)


def score_models(predictions: pd.DataFrame, n_permutations: int) -> pd.DataFrame:
    """Per model: fold-centred within-drug Pearson and Spearman (headline), the pooled-residual score where a
    baseline is given (continuity), drugs scored, and the permutation p-value of the headline score."""
    rows = []
    for model, table in predictions.groupby("model", sort=True):
        table = table.dropna(subset=["y_pred"])
        test = permutation_test(table, n_permutations) if n_permutations else None
        rows.append(
            {
                "model": model,
                "within_drug_fold_pearson": within_drug_fold(table),
                "within_drug_fold_spearman": within_drug_fold(table, "spearman"),
                "within_drug_pearson": within_drug(table) if "baseline" in table else np.nan,
                "n_drugs": int(within_drug_fold_per_drug(table)["r"].notna().sum()),
                "permutation_null_mean": np.nan if test is None else test.null_mean,
                "permutation_null_sd": np.nan if test is None else test.null_sd,
                "permutation_p": np.nan if test is None else test.p_value,
            }
        )
    return pd.DataFrame(rows)


def seed_summary(scores: pd.DataFrame, first_seed: int) -> pd.DataFrame:
    """Per model, mean and SD over seeds of the headline score (``scores`` from :func:`score_models` with a
    ``seed`` column), with the permutation test of ``first_seed`` (the only seed tested); best first."""
    first = scores[scores["seed"] == first_seed].set_index("model")[["permutation_null_sd", "permutation_p", "n_drugs"]]
    summary = scores.groupby("model").agg(
        fold_pearson_mean=("within_drug_fold_pearson", "mean"),
        fold_pearson_sd=("within_drug_fold_pearson", "std"),
        fold_spearman_mean=("within_drug_fold_spearman", "mean"),
        residual_pearson_mean=("within_drug_pearson", "mean"),
        n_seeds=("seed", "size"),
    )
    return summary.join(first).reset_index().sort_values("fold_pearson_mean", ascending=False)
