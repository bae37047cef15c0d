"""The three ways Prasse et al. obtain a model for a target cohort.

- :func:`pretrain`: train on GDSC cell lines (the zero-shot model, and the start of fine-tuning).
- :func:`finetune`: copy the pre-trained network, replace its output layer, train on the target.
- :func:`train_from_scratch`: the same architecture trained on the target alone.

Every model of a target cohort sees expression harmonised the same way: per-sample z-scores over the
panel, ComBat fitted on GDSC + the target's *training* samples, target moved onto GDSC.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.data.cohort import Cohort
from core.inference.drug_encoding import new_encoder
from core.inference.expression import REFERENCE_BATCH, TARGET_BATCH, ExpressionPreprocessor
from core.inference.model import TrainedModel, build_pair_table
from core.inference.target import MinMaxTargetScaler
from core.models import build_model
from core.models.config import ModelConfig
from core.models.transfer import replace_output_layer
from core.training.fit import EpochProgress, TrainingSettings, fit, print_progress

Progress = Callable[[EpochProgress], None] | None


def training_pairs(cohort: Cohort, max_pairs: int | None = None, seed: int = 0) -> pd.DataFrame:
    """The cohort's usable pairs, optionally a random subset (to budget pre-training on a CPU)."""
    pairs = cohort.usable_pairs()[["sample", "drug", "value"]].reset_index(drop=True)
    if max_pairs is not None and max_pairs < len(pairs):
        pairs = pairs.sample(n=max_pairs, random_state=seed).reset_index(drop=True)
    return pairs


def pretrain(
    architecture: str,
    gdsc: Cohort,
    genes: list[str],
    settings: TrainingSettings,
    config: ModelConfig | None = None,
    max_pairs: int | None = None,
    progress: Progress = print_progress,
    encoder_smiles: list[str] | None = None,
) -> TrainedModel:
    """Train ``architecture`` on GDSC pairs (panel ``genes``).

    The drug encoder is fitted on the training drugs' structures unless ``encoder_smiles`` names the
    structures to fit it on. Drug cold-start needs the latter: a descriptor scaling fitted without the
    held-out drugs sends some of them (the platinum complexes) to values thousands of SDs out, and their
    predictions with them. Structures are inputs, not labels, so fitting on them leaks no response.
    """
    pairs = training_pairs(gdsc, max_pairs, settings.seed)
    expression = ExpressionPreprocessor(genes).fit(gdsc.expression, None)
    drugs = encoder_smiles or sorted({gdsc.drug_smiles[d] for d in pairs["drug"].unique()})
    return _train_new_model(architecture, config, expression, drugs, gdsc, pairs, REFERENCE_BATCH, settings, progress)


def _train_new_model(
    architecture: str,
    config: ModelConfig | None,
    expression: ExpressionPreprocessor,
    encoder_smiles: list[str],
    cohort: Cohort,
    pairs: pd.DataFrame,
    domain: str,
    settings: TrainingSettings,
    progress: Progress,
) -> TrainedModel:
    """A freshly initialised network with a drug encoder fitted on ``encoder_smiles`` and a target scaler
    fitted on ``pairs``."""
    encoder = new_encoder(architecture).fit(encoder_smiles)
    scaler = fitted_target(pairs, cohort.drug_smiles, settings)
    table = build_pair_table(expression, encoder, scaler, cohort.expression, pairs, cohort.drug_smiles, domain)
    model = build_model(architecture, config, n_genes=len(expression.genes), **encoder.model_dimensions())
    result = fit(model, table, settings, progress)
    return TrainedModel(architecture, model, expression, encoder, scaler, result, domain)


def fitted_target(
    pairs: pd.DataFrame, drug_smiles: dict[str, str | None], settings: TrainingSettings
) -> MinMaxTargetScaler:
    """The target scaler of a training set: min-max, centred per drug first when ``settings.target`` says so."""
    smiles = pairs["drug"].map(drug_smiles).to_numpy()
    return MinMaxTargetScaler().fit(
        pairs["value"].to_numpy(), smiles, centre_per_drug=settings.target == "drug_centred"
    )


def harmonised_for_target(genes: list[str], gdsc: Cohort, target_expression: pd.DataFrame) -> ExpressionPreprocessor:
    """Expression preprocessing fitted on GDSC + the target's training samples (no responses used)."""
    return ExpressionPreprocessor(genes).fit(gdsc.expression, target_expression)


def zero_shot(pretrained: TrainedModel, gdsc: Cohort, target_expression: pd.DataFrame) -> TrainedModel:
    """The pre-trained model applied to the target as it is, with the target harmonised onto GDSC."""
    return TrainedModel(
        pretrained.architecture,
        pretrained.model,
        harmonised_for_target(pretrained.expression.genes, gdsc, target_expression),
        pretrained.drugs,
        pretrained.target,
        pretrained.fit_result,
        TARGET_BATCH,
    )


def finetune(
    pretrained: TrainedModel,
    gdsc: Cohort,
    target: Cohort,
    train_pairs: pd.DataFrame,
    settings: TrainingSettings,
    progress: Progress = print_progress,
) -> TrainedModel:
    """Replace the output layer of ``pretrained`` and train every layer on ``train_pairs`` of ``target``."""
    train_samples = train_pairs["sample"].unique()
    expression = harmonised_for_target(pretrained.expression.genes, gdsc, target.expression.loc[train_samples])
    scaler = fitted_target(train_pairs, target.drug_smiles, settings)
    table = build_pair_table(
        expression, pretrained.drugs, scaler, target.expression, train_pairs, target.drug_smiles, TARGET_BATCH
    )
    model = replace_output_layer(pretrained.model, seed=settings.seed)
    result = fit(model, table, settings, progress)
    return TrainedModel(pretrained.architecture, model, expression, pretrained.drugs, scaler, result, TARGET_BATCH)


def train_from_scratch(
    architecture: str,
    genes: list[str],
    gdsc: Cohort,
    target: Cohort,
    train_pairs: pd.DataFrame,
    settings: TrainingSettings,
    config: ModelConfig | None = None,
    progress: Progress = print_progress,
) -> TrainedModel:
    """A freshly initialised ``architecture`` trained on ``train_pairs`` of ``target`` only.

    GDSC is used for one thing: as the ComBat reference, so all models of a cohort share one input space.
    The drug encoder is fitted on every structure of the cohort's drug panel, not only the drugs of
    ``train_pairs``: structures are inputs, not labels, and a descriptor scaling fitted on a handful
    of drugs (a 10-pair training set) sends every other drug to extreme values.
    """
    train_samples = train_pairs["sample"].unique()
    expression = harmonised_for_target(genes, gdsc, target.expression.loc[train_samples])
    drugs = sorted({smiles for smiles in target.drug_smiles.values() if smiles})
    return _train_new_model(
        architecture, config, expression, drugs, target, train_pairs, TARGET_BATCH, settings, progress
    )
