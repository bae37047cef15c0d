"""A trained model with everything needed to turn raw inputs into responses, how pairs become inputs, and the
one batched loop that runs a model over pairs (prediction, evaluation during training, explanation checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from core.inference.drug_encoding import DrugEncoder
from core.inference.expression import ExpressionPreprocessor
from core.inference.pairs import PairTable
from core.inference.target import MinMaxTargetScaler

PREDICT_BATCH_SIZE = 4096


@dataclass(frozen=True)
class FitResult:
    """How the fit of a model went (training writes it; a model read from a bundle has none)."""

    epochs_run: int
    best_epoch: int
    best_val_loss: float
    history: dict[str, list[float]]
    seconds: float


@dataclass
class TrainedModel:
    """Model + the fitted preprocessing it was trained with. ``domain`` says which ComBat batch its
    expression inputs come from (``"reference"`` for GDSC-only models, ``"target"`` otherwise)."""

    architecture: str
    model: keras.Model
    expression: ExpressionPreprocessor
    drugs: DrugEncoder
    target: MinMaxTargetScaler
    fit_result: FitResult | None
    domain: str

    def predict_pairs(self, expression: pd.DataFrame, pairs: pd.DataFrame, drug_smiles: dict[str, str]) -> np.ndarray:
        """Predicted responses on the original scale for each row of ``pairs`` (columns sample, drug)."""
        table = build_pair_table(self.expression, self.drugs, self.target, expression, pairs, drug_smiles, self.domain)
        return self.target.inverse_transform(predict(self.model, table), pairs["drug"].map(drug_smiles).to_numpy())


def build_pair_table(
    expression_pre: ExpressionPreprocessor,
    drug_encoder: DrugEncoder,
    scaler: MinMaxTargetScaler,
    expression: pd.DataFrame,
    pairs: pd.DataFrame,
    drug_smiles: dict[str, str],
    domain: str,
) -> PairTable:
    """Encode each distinct sample and drug once, then index them per pair."""
    samples = pd.Index(pairs["sample"].unique())
    drugs = pd.Index(pairs["drug"].unique())
    genes = expression_pre.transform(expression.loc[samples], domain)
    drug_inputs = drug_encoder.transform([drug_smiles[d] for d in drugs])
    target = None
    if "value" in pairs.columns and scaler.is_fitted:
        target = scaler.transform(pairs["value"].to_numpy(), pairs["drug"].map(drug_smiles).to_numpy())
    return PairTable(
        genes=genes,
        drugs=drug_inputs,
        drug_input_name=drug_encoder.input_name,
        sample_index=samples.get_indexer(pairs["sample"]),
        drug_index=drugs.get_indexer(pairs["drug"]),
        target=target,
    )


def predict(
    model: keras.Model, pairs: PairTable | Mapping[str, np.ndarray], batch_size: int = PREDICT_BATCH_SIZE
) -> np.ndarray:
    """Model output for every pair, in inference mode, as a flat float32 array (scaled, for a trained model).

    ``pairs`` is a :class:`PairTable` (rows gathered batch by batch) or model inputs already holding one
    row per pair (input name -> array), as the explanation code builds them. Calls the model directly per
    batch instead of ``model.predict``, which would trace a new graph for every fold model and every call
    (slow, and noisy warnings) for tables this small.
    """
    if isinstance(pairs, PairTable):
        n_pairs, rows_of = len(pairs), pairs.inputs
    else:
        n_pairs = len(next(iter(pairs.values())))

        def rows_of(rows: slice) -> dict[str, np.ndarray]:
            return {name: np.asarray(values)[rows] for name, values in pairs.items()}

    outputs = [
        keras.ops.convert_to_numpy(model(rows_of(slice(start, start + batch_size)), training=False))
        for start in range(0, n_pairs, batch_size)
    ]
    return np.concatenate(outputs).reshape(n_pairs).astype(np.float32)
