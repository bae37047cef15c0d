"""Input transforms shared by training and prediction, each knowing nothing of models: per-sample
standardisation and ComBat for expression, RDKit + Mordred descriptors and SMILES tokens for drugs."""
