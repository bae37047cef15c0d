"""A trained model with everything needed to turn raw inputs into responses, and how pairs become inputs."""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from core.training.batches import PairTable
from core.training.drug_encoding import DrugEncoder
from core.training.expression import ExpressionPreprocessor
from core.training.fit import FitResult, predict
from core.training.target import MinMaxTargetScaler


@dataclass
class TrainedModel:
    """Model + the fitted preprocessing it was trained with. ``domain`` says which ComBat batch its
    expression inputs come from (``"reference"`` for GDSC-only models, ``"target"`` otherwise)."""

    model_name: str
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
