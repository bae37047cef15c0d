"""Transfer of the within-drug signal from GDSC cell lines to organoids: domain alignment of expression,
per-drug linear models on drug-centred targets, and the study that scores them (issue 12)."""
