"""What the app and ``pdo-rank`` do with a profile and the bundles: predict and rank, build the ranking table, the
report and its figures, read the bundle grid and the stored explanations.

The layer above the library packages (data, inference, evaluation, explain, labshift); ``dashboard`` and
``core.usecases.rank_cli`` are its only callers.
"""
