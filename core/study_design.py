"""The study's fixed vocabulary: which cohort pre-trains, which one the models target, and the three trainings.

One definition each, so a new target cohort or training is named here and nowhere else. A leaf module
(imports nothing) so the app can read it without loading data code.
"""

from __future__ import annotations

PRETRAINING_COHORT = "gdsc1"  # the cell-line screen every pre-trained model learns from
TARGET_COHORT = "colorectal"  # the organoid cohort the shipped models are fine-tuned on and the app ranks against

# The paper's two cross-validation settings: new organoids for drugs in training (cell cold-start) and new drugs.
CELL, DRUG = "precision_oncology", "drug_development"

# The three ways a bundle's fold models are made, in the order menus list them.
TRAININGS = ("scratch", "finetuned", "zeroshot")
TRAINING_LABELS = {
    "scratch": "from scratch",
    "finetuned": "fine-tuned",
    "zeroshot": "zero-shot",
    "pretrain": "pre-trained, fine-tuned",  # the paper's stored results' name for fine-tuned
}
TRAINING_TITLES = {  # headings over a training's ranking and menu entries
    "scratch": "Trained from scratch",
    "finetuned": "Pre-trained on GDSC, fine-tuned",
    "zeroshot": "Pre-trained on GDSC only (zero-shot)",
}


def model_key(architecture: str, training: str) -> str:
    """A model's name in benchmark tables and bundle scores: ``<architecture>_<training>``."""
    return f"{architecture}_{training}"


def bundle_name(cohort: str, architecture: str, training: str) -> str:
    """The folder name of a bundle trained (or, zero-shot, referenced) on ``cohort``: ``<cohort>_<model key>``."""
    return f"{cohort}_{model_key(architecture, training)}"
