"""Scripts that build what trained_models/ ships: pre-training, the bundles, their explanations and evidence, the
reference profile, and a lab's own bundles (pdo-finetune-own-cohort)."""
