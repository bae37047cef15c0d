"""Classical baselines on the panel genes: elastic net and random forest.

``*_per_drug``: one model per drug on the samples' genes (the textbook precision-oncology baseline; it
cannot predict a drug it has not seen). ``*_drug_features``: one model on genes + the drug's standardised
descriptors, so it can also rank unseen drugs. Hyperparameters of the elastic net are chosen by an inner
cross-validation on the training pairs only, grouped like the outer split, so no test fold tunes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import GroupKFold

from core.data.cohort import Cohort
from core.inference.drug_encoding import DescriptorEncoder
from core.preprocessing.standardise import standardise_per_sample

MIN_SAMPLES_PER_DRUG = 6  # fewer training samples for a drug: predict its training mean instead
INNER_FOLDS = 3


@dataclass(frozen=True)
class ClassicalSettings:
    """Search grid of the elastic net and size of the forest (smaller on GDSC: 309 drugs x 5 folds)."""

    l1_ratios: tuple[float, ...] = (0.1, 0.5, 0.9)
    n_alphas: int = 20
    n_trees: int = 100


def _elastic_net(
    x_train: np.ndarray, y_train: np.ndarray, groups: np.ndarray, settings: ClassicalSettings
) -> ElasticNetCV:
    """Elastic net whose penalty is chosen by an inner CV grouped by ``groups`` (splits fixed up front)."""
    n_splits = min(INNER_FOLDS, len(np.unique(groups)))
    inner = list(GroupKFold(n_splits).split(x_train, y_train, groups))
    return ElasticNetCV(
        l1_ratio=list(settings.l1_ratios), alphas=settings.n_alphas, cv=inner, max_iter=5000, tol=1e-3, n_jobs=1
    )


def _fit_predict(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    groups: np.ndarray,
    x_test: np.ndarray,
    settings: ClassicalSettings,
) -> np.ndarray:
    """Fit an elastic net (inner CV grouped by ``groups``) or a random forest and predict ``x_test``."""
    if kind == "elasticnet":
        model = _elastic_net(x_train, y_train, groups, settings).fit(x_train, y_train)
    else:
        model = RandomForestRegressor(
            n_estimators=settings.n_trees, max_features="sqrt", min_samples_leaf=2, random_state=0, n_jobs=1
        ).fit(x_train, y_train)
    return model.predict(x_test)


def gene_features(cohort: Cohort, genes: list[str]) -> pd.DataFrame:
    """Per-sample z-scores over the panel: the same expression inputs the networks see before ComBat."""
    return standardise_per_sample(cohort.expression, genes)


def per_drug(
    kind: str, genes: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, settings: ClassicalSettings
) -> np.ndarray:
    """One model per test drug, fitted on that drug's training samples."""
    prediction = np.empty(len(test))
    for drug, rows in test.groupby("drug").indices.items():
        seen = train[train["drug"] == drug]
        if len(seen) < MIN_SAMPLES_PER_DRUG:
            prediction[rows] = seen["value"].mean() if len(seen) else train["value"].mean()
            continue
        groups = seen["sample"].to_numpy()
        prediction[rows] = _fit_predict(
            kind,
            genes.loc[seen["sample"]].to_numpy(),
            seen["value"].to_numpy(),
            groups,
            genes.loc[test["sample"].iloc[rows]].to_numpy(),
            settings,
        )
    return prediction


def with_drug_features(
    kind: str,
    genes: pd.DataFrame,
    cohort: Cohort,
    train: pd.DataFrame,
    test: pd.DataFrame,
    group: str,
    settings: ClassicalSettings,
) -> np.ndarray:
    """One model on [genes of the sample, descriptors of the drug]; inner CV grouped by ``group``.

    The descriptor scaling is fitted on every structure of the cohort: structures are inputs, not labels.
    """
    drugs = sorted(set(train["drug"]) | set(test["drug"]))
    smiles = [cohort.drug_smiles[d] for d in drugs]
    encoder = DescriptorEncoder().fit(sorted({s for s in cohort.drug_smiles.values() if s}))
    descriptors = pd.DataFrame(encoder.transform(smiles), index=drugs)

    def design(pairs: pd.DataFrame) -> np.ndarray:
        return np.hstack([genes.loc[pairs["sample"]].to_numpy(), descriptors.loc[pairs["drug"]].to_numpy()])

    return _fit_predict(kind, design(train), train["value"].to_numpy(), train[group].to_numpy(), design(test), settings)
