"""Benchmarks that print where the time (and memory) goes: models, pages, uploads, training, explanations."""
