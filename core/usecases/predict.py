"""Profile(s) + bundle -> predicted response per drug, z-score against the reference cohort, rank.

Sign convention: the response is an AUC or IC50 where **lower means more sensitive**, so a **negative
z-score means the organoid is predicted to respond better than the average reference organoid**, and
rank 1 is the drug with the most negative z-score. The z-score of drug d is
``(prediction - mean_d) / sd_d`` with mean and SD over the reference cohort's cross-validated
predictions (each reference organoid predicted by a fold model that never saw it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.inference.bundle import ModelBundle


def member_predictions(bundle: ModelBundle, expression: pd.DataFrame) -> np.ndarray:
    """Predictions on the original response scale, shape (members, samples, drugs).

    Panel genes missing from ``expression`` are set to the reference mean (see
    :meth:`ExpressionPreprocessor.transform`); the upload QC reports which.
    """
    # Imported on use: they load TensorFlow (about 10 s on 2 busy cores), and the app's first page imports this
    # module (through the ranking use-case) long before any model runs.
    from core.inference.model import predict
    from core.inference.pairs import PairTable

    n_samples, n_drugs = len(expression), len(bundle.drugs)
    sample_index = np.repeat(np.arange(n_samples), n_drugs)
    drug_index = np.tile(np.arange(n_drugs), n_samples)
    smiles = np.tile(bundle.drugs["smiles"].to_numpy(dtype=object), n_samples)
    stacked = []
    for member in bundle.members:
        trained = member.trained
        genes = trained.expression.transform(expression, trained.domain, allow_missing=True)
        table = PairTable(genes, member.drug_inputs, trained.drugs.input_name, sample_index, drug_index)
        scaled = predict(trained.model, table)
        stacked.append(trained.target.inverse_transform(scaled, smiles).reshape(n_samples, n_drugs))
    return np.stack(stacked)


def reference_statistics(bundle: ModelBundle) -> pd.DataFrame:
    """Per drug: mean and SD of the reference cohort's cross-validated predictions."""
    stats = bundle.reference_predictions.groupby("drug")["y_pred"].agg(reference_mean="mean", reference_sd="std")
    return stats.reindex(bundle.drugs["drug"])


def z_score_matrix(bundle: ModelBundle, expression: pd.DataFrame) -> pd.DataFrame:
    """Samples x drugs: the bundle's z-scores for ``expression`` as :func:`rank_drugs` computes them (the studies
    score whole cohorts with it)."""
    mean = member_predictions(bundle, expression).mean(axis=0)
    stats = reference_statistics(bundle)
    z = (mean - stats["reference_mean"].to_numpy()) / stats["reference_sd"].to_numpy()
    return pd.DataFrame(z, index=expression.index, columns=bundle.drugs["drug"].to_numpy())


def rank_drugs(bundle: ModelBundle, expression: pd.DataFrame) -> pd.DataFrame:
    """Long table, one row per sample and drug, ranked within each sample (1 = most sensitive).

    Columns: sample, drug, predicted (mean over members), uncertainty (SD over members, same unit),
    z_score, z_uncertainty (uncertainty / reference SD), rank.
    """
    predictions = member_predictions(bundle, expression)
    stats = reference_statistics(bundle)
    mean, spread = predictions.mean(axis=0), predictions.std(axis=0)
    reference_mean = stats["reference_mean"].to_numpy()
    reference_sd = stats["reference_sd"].to_numpy()
    table = pd.DataFrame(
        {
            "sample": np.repeat(expression.index.to_numpy(), len(bundle.drugs)),
            "drug": np.tile(bundle.drugs["drug"].to_numpy(), len(expression)),
            "predicted": mean.reshape(-1),
            "uncertainty": spread.reshape(-1),
            "z_score": ((mean - reference_mean) / reference_sd).reshape(-1),
            "z_uncertainty": (spread / reference_sd).reshape(-1),
        }
    )
    table["rank"] = table.groupby("sample")["z_score"].rank(method="first").astype(int)
    return table.sort_values(["sample", "rank"], ignore_index=True)
