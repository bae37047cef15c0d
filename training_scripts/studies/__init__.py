"""Studies: the benchmark, seed noise, within-drug, lab-shift and other experiments; each writes its tables and
report under trained_models/benchmark/."""
