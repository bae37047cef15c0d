"""Data layer: one loader per public dataset, each returning a :class:`Cohort`."""
