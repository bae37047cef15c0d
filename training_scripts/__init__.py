"""Command-line scripts that train, benchmark and export models."""
