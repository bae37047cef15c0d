"""Training: fitting the inference objects (:mod:`core.inference`) on training data, the fit loop with early
stopping, the paper's three protocols (pre-train on GDSC, fine-tune with a new output layer, train from
scratch), and building bundles from the fitted models."""
