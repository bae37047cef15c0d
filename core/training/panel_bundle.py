"""A zero-shot bundle for another drug panel: the GDSC-pre-trained model ranking, for any uploaded
profile, the drugs of a cohort whose organoids have no public expression (e.g. the 25 drugs of the
pancreatic screen of Tiriac et al.).

The model never saw organoid responses, so no cross-validation is needed; the z-score reference is the
pre-trained model's predictions for the organoids of ``reference`` (a cohort with expression) against
this panel, with ComBat fitted on GDSC + those organoids. There are no responses to benchmark against:
the manifest says so, and the dashboard shows no accuracy for it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from core.data.cohort import Cohort
from core.inference.bundle import BundleMember, ModelBundle
from core.inference.manifest import Manifest
from core.inference.model import TrainedModel
from core.training.bundles import package_versions
from core.training.protocols import zero_shot


def build_panel_bundle(
    pretrained: TrainedModel, gdsc: Cohort, panel: Cohort, reference: Cohort, pretraining_manifest: dict
) -> ModelBundle:
    """Bundle named ``<panel>-panel_<model>_zeroshot`` ranking ``panel``'s drugs against ``reference``."""
    model = zero_shot(pretrained, gdsc, reference.expression)
    drugs = sorted(d for d, smiles in panel.drug_smiles.items() if smiles)
    smiles = [panel.drug_smiles[d] for d in drugs]
    grid = pd.DataFrame([(s, d) for s in reference.expression.index for d in drugs], columns=["sample", "drug"])
    grid["y_pred"] = model.predict_pairs(reference.expression, grid, panel.drug_smiles)
    grid["y_true"] = float("nan")
    grid["fold"] = -1
    name = f"{panel.name}-panel_{pretrained.architecture}_zeroshot"
    manifest = Manifest(
        name=name,
        architecture=pretrained.architecture,
        training="zeroshot",
        target_cohort=reference.name,
        drug_panel_cohort=panel.name,
        response_metric=f"{gdsc.metric} (GDSC pre-training scale)",
        lower_is_sensitive=True,
        genes=tuple(model.expression.genes),
        n_genes=len(pretrained.expression.genes),
        n_drugs=len(drugs),
        n_reference_samples=len(reference.expression),
        benchmark_note=f"none: {panel.name} has no public expression, so these rankings cannot be scored",
        data_files={**gdsc.data_files, **panel.data_files, **reference.data_files},
        pretraining=pretraining_manifest,
        metrics={},
        versions=package_versions(),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    drug_table = pd.DataFrame(
        {"drug": drugs, "smiles": smiles, "gdsc_name": [panel.drug_gdsc_names.get(d) for d in drugs]}
    )
    member = BundleMember(model, model.drugs.transform(smiles))
    return ModelBundle(name, manifest, drug_table, [member], grid)
