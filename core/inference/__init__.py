"""Inference: what a trained model carries to turn raw profiles and drug structures into responses.

The fitted preprocessing (expression panel and ComBat, drug encoder, target scaler), the pair table a
model reads, the trained model with its one batched predict loop, and the bundle format that stores all
of it. Training builds these objects and prediction, explanation and the dashboard only use them, so
this package sits below ``core.training`` and never imports it: reading a bundle needs no training code.

Nothing is imported here, so ``core.inference.bundle`` can read manifests without loading TensorFlow.
"""
