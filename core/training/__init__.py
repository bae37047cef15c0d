"""Training: input preparation, the fit loop with early stopping, and the paper's three protocols
(pre-train on GDSC, fine-tune with a new output layer, train from scratch)."""
