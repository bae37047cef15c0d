"""The honest benchmark: every model of the paper's protocol, classical and naive baselines, on the same folds."""
