"""Drug structures -> model inputs: standardised descriptors (tDNN) or SMILES token ids (ConvNN, PaccMann).

An encoder is fitted on the drugs a model first trains on (GDSC for pre-trained models, the target
cohort's training drugs for models trained from scratch) and stored in the bundle, so a fine-tuned
model keeps seeing drugs exactly as it did in pre-training.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from core.data.structures import canonical_smiles
from core.models.blocks import DRUG_FEATURES, SMILES_TOKENS
from core.models.specs import SPECS
from core.preprocessing.drug_features import DescriptorStandardiser, compute_descriptors
from core.preprocessing.smiles_tokenizer import SmilesVocabulary, max_token_length

MAX_SMILES_TOKENS = 256  # longer SMILES keep their first 256 tokens (no GDSC drug is that long)


class DrugEncoder(Protocol):
    input_name: str

    def fit(self, smiles: list[str]) -> "DrugEncoder": ...
    def transform(self, smiles: list[str]) -> np.ndarray: ...
    def model_dimensions(self) -> dict[str, int]: ...
    def to_dict(self) -> dict[str, Any]: ...


class DescriptorEncoder:
    """RDKit + Mordred 2D descriptors, constant/missing columns dropped, z-scored on the fitting drugs."""

    input_name = DRUG_FEATURES

    def __init__(self, standardiser: DescriptorStandardiser | None = None) -> None:
        self.standardiser = standardiser or DescriptorStandardiser()

    def fit(self, smiles: list[str]) -> "DescriptorEncoder":
        self.standardiser.fit(compute_descriptors(smiles))
        return self

    def transform(self, smiles: list[str]) -> np.ndarray:
        table = compute_descriptors(smiles)
        return self.standardiser.transform(table).loc[[canonical_smiles(s) for s in smiles]].to_numpy(np.float32)

    def model_dimensions(self) -> dict[str, int]:
        return {"n_drug_features": len(self.standardiser.columns)}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "descriptors", "standardiser": self.standardiser.to_dict()}


class TokenEncoder:
    """SMILES token ids over a vocabulary built from the fitting drugs, padded to a fixed length."""

    input_name = SMILES_TOKENS

    def __init__(self, vocabulary: SmilesVocabulary | None = None, max_length: int = 0) -> None:
        self.vocabulary = vocabulary
        self.max_length = max_length

    def fit(self, smiles: list[str]) -> "TokenEncoder":
        self.vocabulary = SmilesVocabulary.build(smiles)
        self.max_length = min(max_token_length(smiles), MAX_SMILES_TOKENS)
        return self

    def transform(self, smiles: list[str]) -> np.ndarray:
        return self.vocabulary.encode(list(smiles), self.max_length)

    def model_dimensions(self) -> dict[str, int]:
        return {"smiles_length": self.max_length, "vocabulary_size": len(self.vocabulary.tokens)}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "tokens", "vocabulary": self.vocabulary.to_dict(), "max_length": self.max_length}


_ENCODERS = {"descriptors": DescriptorEncoder, "tokens": TokenEncoder}


def new_encoder(architecture: str) -> DrugEncoder:
    return _ENCODERS[SPECS[architecture].drug_input]()


def encoder_from_dict(state: dict[str, Any]) -> DrugEncoder:
    if state["kind"] == "descriptors":
        return DescriptorEncoder(DescriptorStandardiser.from_dict(state["standardiser"]))
    return TokenEncoder(SmilesVocabulary.from_dict(state["vocabulary"]), int(state["max_length"]))
