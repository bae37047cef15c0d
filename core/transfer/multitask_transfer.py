"""The multi-task network carried from GDSC to the organoids: does the best network on GDSC cell cold-start
also order organoids, and GDSC's held-out colorectal lines, within a drug?

The network (:mod:`core.transfer.multitask`) is trained on GDSC cell lines (the drugs shared with the
organoids, per-drug z-scored responses) on features aligned to the organoids
(:mod:`core.transfer.alignment`), then applied to the organoids as it is (zero-shot) or after a short,
fixed fine-tuning on the training organoids (no early stopping: a fold has too few organoids to spare a
validation split). The fine-tuning budget and the network variant were fixed before any organoid score was
seen; the *selected* model is chosen per outer fold on that fold's training organoids only, as in
:mod:`core.transfer.study`, and the *ensemble* is the mean of every configuration's predictions (no choice).

Alignments whose GDSC features do not depend on the fold share one GDSC network per seed and loss (no
alignment and ComBat, which leaves the reference as it is, even share the same one); contrastive PCA
needs one per fold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import pandas as pd

from core.evaluation.metrics import within_drug_fold
from core.transfer.alignment import ALIGNMENTS, REFERENCE, TARGET, Alignment
from core.transfer.multitask import LOSSES, VARIANTS, MultiTaskNetwork, as_pairs, responses_matrix
from core.transfer.study import (
    EXTERNAL_LABEL,
    Inputs,
    aligned,
    content_key,
    fit_alignment,
    gdsc_training_pairs,
    organoid_folds,
)

VARIANT = "mlp512-256"  # the variant the GDSC loss comparison used
FINETUNE_EPOCHS = 20
FINETUNE_LEARNING_RATE = 1e-4


_GDSC_NETWORKS: dict[str, MultiTaskNetwork] = {}


def _gdsc_network(
    inputs: Inputs, alignment: Alignment, exclude_label: str | None, loss: str, seed: int
) -> MultiTaskNetwork:
    """The GDSC network of these aligned features, loss and seed, fitted once per :func:`content_key`."""
    responses = responses_matrix(gdsc_training_pairs(inputs, "all_lines", exclude_label))
    features = aligned(alignment, inputs.gdsc.loc[responses.index], REFERENCE)
    key = content_key(features, responses, extra=f"{loss}/{seed}")
    if key not in _GDSC_NETWORKS:
        settings = dataclasses.replace(VARIANTS[VARIANT], loss=loss)
        _GDSC_NETWORKS[key] = MultiTaskNetwork(settings, seed).fit(features, responses)
    return _GDSC_NETWORKS[key]


def finetuned(network: MultiTaskNetwork, features: pd.DataFrame, responses: pd.DataFrame) -> MultiTaskNetwork:
    """A copy of ``network`` trained further on organoid ``features`` and ``responses`` (same drug columns),
    z-scored per drug over these organoids; its predictions come back on the organoids' response scale."""
    tuned = _copy(network)
    responses = responses.reindex(columns=network.drugs)
    tuned.drug_mean, tuned.drug_sd = responses.mean(), responses.std()
    x = ((features.loc[responses.index] - network.gene_mean) / network.gene_sd).to_numpy(np.float32)
    y = ((responses - tuned.drug_mean) / tuned.drug_sd).to_numpy(np.float32)
    tuned.model.compile(keras.optimizers.Adam(FINETUNE_LEARNING_RATE), loss=LOSSES[network.settings.loss])
    tuned.model.fit(x, y, epochs=FINETUNE_EPOCHS, batch_size=network.settings.batch_size, verbose=0, shuffle=True)
    return tuned


def _copy(network: MultiTaskNetwork) -> MultiTaskNetwork:
    """A fitted network with its own Keras model (same weights), so fine-tuning leaves the GDSC one as it is."""
    copy = MultiTaskNetwork(network.settings, network.seed)
    copy.__dict__.update(network.__dict__)
    copy.model = copy._build(network.model.input_shape[-1], len(network.drugs))
    copy.model.set_weights(network.model.get_weights())
    return copy


def _long(test: pd.DataFrame, model: str, fold: int, matrix: pd.DataFrame) -> pd.DataFrame:
    return test.assign(model=model, fold=fold, y_pred=as_pairs(matrix, test))


def cross_validated_predictions(
    inputs: Inputs, seed: int, n_folds: int = 5, losses: Sequence[str] = tuple(LOSSES), progress=print
) -> pd.DataFrame:
    """Held-out predictions on the organoids' cell cold-start folds (fold seed 0, the bundles' folds) of every
    (alignment, loss) network, zero-shot and fine-tuned, and the per-fold selected zero-shot configuration."""
    fold_of = organoid_folds(inputs, n_folds, 0)
    pairs = inputs.organoid_pairs.assign(fold=inputs.organoid_pairs["sample"].map(fold_of).to_numpy())
    lines = sorted(gdsc_training_pairs(inputs, "all_lines")["sample"].unique())
    tables = []
    for fold in range(n_folds):
        train, test = pairs[pairs["fold"] != fold], pairs[pairs["fold"] == fold]
        train_samples = sorted(train["sample"].unique())
        selection = []
        for alignment_name in ALIGNMENTS:
            alignment = fit_alignment(inputs, alignment_name, lines, train_samples)
            organoids = aligned(alignment, inputs.organoids, TARGET)
            for loss in losses:
                network = _gdsc_network(inputs, alignment, None, loss, seed)
                name = f"multitask_{loss}_{alignment_name}"
                zero_shot = network.predict(organoids)
                tables.append(_long(test, f"{name}_zeroshot", fold, zero_shot))
                tuned = finetuned(network, organoids.loc[train_samples], responses_matrix(train))
                tables.append(_long(test, f"{name}_finetuned", fold, tuned.predict(organoids)))
                on_training = _long(train, name, 0, zero_shot).rename(columns={"value": "y_true"})
                selection.append((within_drug_fold(on_training), name, zero_shot))
                progress(f"seed {seed} fold {fold + 1}/{n_folds} {name}: training organoids {selection[-1][0]:.3f}")
        best = max(selection, key=lambda item: item[0])
        tables.append(_long(test, "multitask_selected_zeroshot", fold, best[2]).assign(selected=best[1]))
    return pd.concat(tables, ignore_index=True).rename(columns={"value": "y_true"})


def external_predictions(
    inputs: Inputs, seed: int, losses: Sequence[str] = tuple(LOSSES), progress=print
) -> pd.DataFrame:
    """GDSC's colorectal lines predicted by networks trained without them: as they are (zero-shot) and after
    fine-tuning on every organoid; one 'fold' (the lines are one cohort)."""
    organoid_samples = sorted(inputs.organoid_pairs["sample"].unique())
    lines = sorted(gdsc_training_pairs(inputs, "all_lines", EXTERNAL_LABEL)["sample"].unique())
    label = inputs.gdsc_pairs["sample"].map(inputs.cell_lines["tcga_label"])
    test = inputs.gdsc_pairs[label == EXTERNAL_LABEL].reset_index(drop=True)
    external = inputs.gdsc.loc[sorted(test["sample"].unique())]
    tables = []
    for alignment_name in ALIGNMENTS:
        alignment = fit_alignment(inputs, alignment_name, lines, organoid_samples)
        external_features = aligned(alignment, external, REFERENCE)
        organoids = aligned(alignment, inputs.organoids.loc[organoid_samples], TARGET)
        for loss in losses:
            network = _gdsc_network(inputs, alignment, EXTERNAL_LABEL, loss, seed)
            name = f"multitask_{loss}_{alignment_name}"
            tuned = finetuned(network, organoids, responses_matrix(inputs.organoid_pairs))
            tables += [
                _long(test, f"{name}_zeroshot", 0, network.predict(external_features)),
                _long(test, f"{name}_finetuned", 0, tuned.predict(external_features)),
            ]
            progress(f"seed {seed} external {name} done")
    return pd.concat(tables, ignore_index=True).rename(columns={"value": "y_true"})


def with_ensembles(predictions: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` plus, for zero-shot and fine-tuned networks, the mean prediction of every (loss,
    alignment) configuration (``multitask_ensemble_<training>``): all configurations at once, nothing chosen."""
    ensembles = []
    for training in ("zeroshot", "finetuned"):
        members = predictions[
            predictions["model"].str.endswith(f"_{training}")
            & ~predictions["model"].str.startswith(("multitask_selected", "multitask_ensemble"))
        ]
        mean = members.groupby(["fold", "sample", "drug"], as_index=False).agg(
            y_true=("y_true", "first"), y_pred=("y_pred", "mean")
        )
        ensembles.append(mean.assign(model=f"multitask_ensemble_{training}"))
    return pd.concat([predictions, *ensembles], ignore_index=True)
