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
import hashlib
from collections.abc import Sequence

import keras
import numpy as np
import pandas as pd

from core.evaluation.metrics import within_drug_fold
from core.transfer.alignment import ALIGNMENTS, REFERENCE, TARGET, make_alignment
from core.transfer.multitask import LOSSES, VARIANTS, MultiTaskNetwork, as_pairs
from core.transfer.study import EXTERNAL_LABEL, Inputs, gdsc_training_pairs, organoid_folds

VARIANT = "mlp512-256"  # the variant the GDSC loss comparison used
FINETUNE_EPOCHS = 20
FINETUNE_LEARNING_RATE = 1e-4


def responses_matrix(pairs: pd.DataFrame) -> pd.DataFrame:
    """Samples x drugs response matrix of long ``pairs`` (sample, drug, value); NaN where not screened."""
    return pairs.pivot_table(index="sample", columns="drug", values="value")


class _NetworkCache:
    """GDSC networks by (features, responses, loss, seed): most alignments give GDSC the same features in every
    fold, so one network serves all folds and alignments that share them."""

    def __init__(self) -> None:
        self.networks: dict[str, MultiTaskNetwork] = {}

    def fit(self, features: pd.DataFrame, responses: pd.DataFrame, loss: str, seed: int) -> MultiTaskNetwork:
        digest = hashlib.sha256(features.to_numpy().tobytes() + responses.to_numpy().tobytes()
                                + f"{loss}/{seed}".encode()).hexdigest()
        if digest not in self.networks:
            settings = dataclasses.replace(VARIANTS[VARIANT], loss=loss)
            self.networks[digest] = MultiTaskNetwork(settings, seed).fit(features, responses)
        return self.networks[digest]


GDSC_NETWORKS = _NetworkCache()


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


def _aligned(inputs: Inputs, alignment_name: str, lines: list[str], organoids: list[str]):
    alignment = make_alignment(alignment_name).fit(inputs.gdsc.loc[lines].to_numpy(),
                                                   inputs.organoids.loc[organoids].to_numpy())

    def features(expression: pd.DataFrame, domain: str) -> pd.DataFrame:
        return pd.DataFrame(alignment.transform(expression.to_numpy(), domain), index=expression.index,
                            columns=expression.columns)

    return features


def _gdsc_network(inputs: Inputs, features, exclude_label: str | None, loss: str, seed: int) -> MultiTaskNetwork:
    responses = responses_matrix(gdsc_training_pairs(inputs, "all_lines", exclude_label))
    return GDSC_NETWORKS.fit(features(inputs.gdsc.loc[responses.index], REFERENCE), responses, loss, seed)


def _long(test: pd.DataFrame, model: str, fold: int, matrix: pd.DataFrame) -> pd.DataFrame:
    return test.assign(model=model, fold=fold, y_pred=as_pairs(matrix, test))


def cross_validated_predictions(inputs: Inputs, seed: int, n_folds: int = 5, losses: Sequence[str] = tuple(LOSSES),
                                progress=print) -> pd.DataFrame:
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
            features = _aligned(inputs, alignment_name, lines, train_samples)
            organoids = features(inputs.organoids, TARGET)
            for loss in losses:
                network = _gdsc_network(inputs, features, None, loss, seed)
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


def external_predictions(inputs: Inputs, seed: int, losses: Sequence[str] = tuple(LOSSES), progress=print) -> pd.DataFrame:
    """GDSC's colorectal lines predicted by networks trained without them: as they are (zero-shot) and after
    fine-tuning on every organoid; one 'fold' (the lines are one cohort)."""
    organoid_samples = sorted(inputs.organoid_pairs["sample"].unique())
    lines = sorted(gdsc_training_pairs(inputs, "all_lines", EXTERNAL_LABEL)["sample"].unique())
    label = inputs.gdsc_pairs["sample"].map(inputs.cell_lines["tcga_label"])
    test = inputs.gdsc_pairs[label == EXTERNAL_LABEL].reset_index(drop=True)
    external = inputs.gdsc.loc[sorted(test["sample"].unique())]
    tables = []
    for alignment_name in ALIGNMENTS:
        features = _aligned(inputs, alignment_name, lines, organoid_samples)
        external_features = features(external, REFERENCE)
        organoids = features(inputs.organoids.loc[organoid_samples], TARGET)
        for loss in losses:
            network = _gdsc_network(inputs, features, EXTERNAL_LABEL, loss, seed)
            name = f"multitask_{loss}_{alignment_name}"
            tuned = finetuned(network, organoids, responses_matrix(inputs.organoid_pairs))
            tables += [_long(test, f"{name}_zeroshot", 0, network.predict(external_features)),
                       _long(test, f"{name}_finetuned", 0, tuned.predict(external_features))]
            progress(f"seed {seed} external {name} done")
    return pd.concat(tables, ignore_index=True).rename(columns={"value": "y_true"})


def with_ensembles(predictions: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` plus, for zero-shot and fine-tuned networks, the mean prediction of every (loss,
    alignment) configuration (``multitask_ensemble_<kind>``): all configurations at once, nothing chosen."""
    ensembles = []
    for kind in ("zeroshot", "finetuned"):
        members = predictions[predictions["model"].str.endswith(f"_{kind}")
                              & ~predictions["model"].str.startswith(("multitask_selected", "multitask_ensemble"))]
        mean = members.groupby(["fold", "sample", "drug"], as_index=False).agg(y_true=("y_true", "first"),
                                                                              y_pred=("y_pred", "mean"))
        ensembles.append(mean.assign(model=f"multitask_ensemble_{kind}"))
    return pd.concat([predictions, *ensembles], ignore_index=True)
