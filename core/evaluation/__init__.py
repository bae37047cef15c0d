"""Cross-validation folds, naive baselines, metrics and paired statistics, each defined once."""
