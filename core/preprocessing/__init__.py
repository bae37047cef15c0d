"""Expression preprocessing shared by training and prediction: per-sample standardisation and ComBat."""
