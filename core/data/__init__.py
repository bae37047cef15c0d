"""Data layer: one loader per public dataset, each returning a :class:`Cohort`, and the keys they share:
current gene symbols, canonical drug structures, drug names across datasets, and the gene panels."""
