"""About / model card: data, training, versions, manifests and limitations of the bundles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import models_dir
from core.inference.bundle import BundleError
from core.study_design import TRAINING_LABELS
from dashboard.bundles import (
    ARCHITECTURES,
    bundle_evaluation,
    bundle_grid,
    bundle_label,
    no_bundles_message,
    reference_check,
)


def unusable_bundles_section() -> None:
    """Every reference bundle that cannot be used, with the whole reason: the one place that says why."""
    found = reference_check()
    if not found.unusable:
        st.caption(f"All {len(found.usable)} reference bundles passed the check: every file matches its manifest.")
        return
    st.error(
        f"**{len(found.unusable)} of {len(found.usable) + len(found.unusable)} reference bundles cannot be used**; "
        "every page works with the others. Restore these folders from the repository (or rebuild them with "
        "`python -m training_scripts.build.build_bundles`) and reload the page."
    )
    st.markdown("\n".join(f"- **{bundle_label(name)}** (`{name}`): {why}" for name, why in found.unusable.items()))


st.title("About / model card")
st.markdown(
    """
**What it does.** For an uploaded organoid profile, every drug's response (area under the dose-response curve,
AUC; lower = more sensitive) is predicted and expressed as a z-score against the reference cohort's
cross-validated predictions. Two ways of training stand side by side, after Prasse et al., *Cancers* 2022, 14, 3950:
a network **trained from scratch** on the organoids, and one **pre-trained on GDSC cancer cell lines, then
fine-tuned** on the organoids (the zero-shot, pre-trained-only model is shown for comparison). Each model is a
set of cross-validation fold models; predictions are their mean and the uncertainty their spread.

**Data.**
- Pre-training: GDSC1 cell lines (fitted viability AUC; expression as per-cell z-scored RMA over 5,757 genes),
  drugs described by RDKit + Mordred descriptors (tDNN) or SMILES (ConvNN, PaccMann).
- Reference / fine-tuning cohort: 22 colorectal cancer organoids of van de Wetering et al., *Cell* 2015
  (log2 microarray, GEO GSE64392), 19 of them screened with 83 drugs (AUC).
- Gene panels: the union of the GDSC, LINCS L1000 and OncoKB lists restricted to genes measured in both GDSC and
  the organoids (655 genes, tDNN/ConvNN); PaccMann's list restricted the same way (528 genes).
- Pathways: Reactome, WikiPathways, MSigDB Hallmark, ConsensusPathDB and KEGG (the last two academic use only).

**Preprocessing.** Each sample is z-scored over its panel genes; organoid expression (and uploads, treated as
organoids) is moved onto the cell-line scale with ComBat in reference-batch mode, with parameters fitted on GDSC
plus the training organoids of each fold and stored in the bundle.

**Explanations.** Gene contributions are integrated gradients. By default they are *drug-specific*: expected
gradients against the reference organoids (what sets this organoid apart for this drug) minus the organoid's
average over all drugs, so genes that move every drug alike drop out; the paper's absolute view is one switch
away. Checked on GDSC cell lines held out of training, known biomarkers (e.g. SLFN11 for topoisomerase-I and PARP
inhibitors, DUSP6/ETV5 for MEK inhibitors) rank far above random genes, but not every one is found (see the
README). Pathways are tested by ranked enrichment of every panel gene (GSEA preranked) next to the paper's
over-representation test; the background is always the model's gene panel.
"""
)
st.error(
    "**Limitations.** Research use only: this is **not a medical device** and must not be used for treatment "
    "decisions. Only 19 organoids have drug responses, so every accuracy estimate is noisy and many drugs are "
    "predicted no better than their average (see *Model performance*). GDSC's public expression covers only 5,757 "
    "genes, so the models read a 655-gene panel (528 for PaccMann), without BRAF, KRAS or APC. Uploads from other "
    "platforms (RNA-seq, other arrays) are harmonised with the organoid batch's ComBat parameters, which were fitted "
    "on one microarray platform; a systematic platform difference can shift every z-score."
)

grid = bundle_grid()
st.subheader("Model bundles")
st.caption(f"Read from `{models_dir()}` (set `PDO_MODELS_DIR` to use another folder).")
unusable_bundles_section()
if not grid:
    no_bundles_message()
    st.stop()

overview = []
manifests = {}
for architecture, trainings in grid.items():
    for training, name in trainings.items():
        try:
            manifest, _, _ = bundle_evaluation(name)
        except BundleError as error:
            st.error(str(error))
            continue
        manifests[name] = manifest
        cv = manifest.cross_validation
        settings = (manifest.settings or {}).get("training") or {}
        overview.append(
            {
                "bundle": name,
                "architecture": ARCHITECTURES.get(architecture, architecture),
                "training": TRAINING_LABELS.get(training, training),
                "created": manifest.created,
                "drugs": manifest.n_drugs,
                "genes": manifest.n_genes,
                "reference organoids": manifest.n_reference_samples,
                "fold models": cv.n_folds if cv else None,
                "max epochs": settings.get("max_epochs"),
                "learning rate": settings.get("learning_rate"),
                "batch size": settings.get("batch_size"),
            }
        )
st.dataframe(pd.DataFrame(overview), hide_index=True, key="about_bundles")

for name, manifest in manifests.items():
    with st.expander(f"{name}: versions, training settings and full manifest"):
        split = manifest.cross_validation.split if manifest.cross_validation else "?"
        st.markdown(
            f"**Response:** {manifest.response_metric} "
            f"({'lower' if manifest.lower_is_sensitive else 'higher'} = more sensitive); "
            f"**cross-validation:** {split}"
        )
        st.markdown("**Versions:** " + ", ".join(f"{k} {v}" for k, v in (manifest.versions or {}).items()))
        st.json({k: v for k, v in manifest.to_json().items() if k not in ("files", "genes")}, expanded=False)
