"""How much one upload may hold, so that a few uploads at once cannot exhaust the server's memory.

Measured with ``python -m training_scripts.timing.time_upload_memory --samples 100 400 500 650`` (real organoid
expression, 12,037 genes, CSV with genes as rows; shared 2-core machine): checking an upload raises the
server's peak memory by 1.1-1.3 MB per organoid (111 MB for 100 organoids, 532 MB for 400, 642 MB for 500),
about 16 MB per MB of table text, and takes 7-9 s per 100 organoids. The validated profile a session keeps is
0.05 MB per organoid (23 MB for 500). So the largest upload allowed peaks near 0.65 GB for 500 microarray
organoids and near 1.6 GB for 100 MB of text (e.g. RNA-seq with 60,000 genes), while a 200 MB file, which
took 4.7 GB and 66 s before these limits, is refused in milliseconds. A PDO cohort is tens to a few hundred
organoids, inside them.

The checks run before the expensive parsing: the file's size first, then (for text) its number of lines and
columns, and the exact number of samples once the table is oriented.
"""

from __future__ import annotations

from core.upload.errors import UploadError

MEGABYTE = 1024**2
MAX_UPLOAD_BYTES = 50 * MEGABYTE  # the file as sent (gzip counts compressed); .streamlit/config.toml agrees
MAX_TEXT_BYTES = 100 * MEGABYTE  # the table's text once decompressed: memory grows with it
MAX_SAMPLES_PER_UPLOAD = 500

_FEWER = f"Upload at most {MAX_SAMPLES_PER_UPLOAD} organoids per file, in several files if needed."


def refuse_large_file(n_bytes: int) -> None:
    """Refuse a file larger than :data:`MAX_UPLOAD_BYTES` before anything reads it."""
    if n_bytes > MAX_UPLOAD_BYTES:
        raise UploadError(
            f"The file is {n_bytes / MEGABYTE:,.0f} MB, more than the {MAX_UPLOAD_BYTES // MEGABYTE} MB one upload "
            f"may hold. {_FEWER}"
        )


def refuse_large_text(n_bytes: int) -> None:
    """Refuse a compressed file whose text exceeds :data:`MAX_TEXT_BYTES` (also bounds a gzip bomb)."""
    if n_bytes > MAX_TEXT_BYTES:
        raise UploadError(
            f"The file is larger than {MAX_TEXT_BYTES // MEGABYTE} MB once decompressed, more than one upload may "
            f"hold. {_FEWER}"
        )


def refuse_many_samples(n_samples: int) -> None:
    """Refuse a table with more than :data:`MAX_SAMPLES_PER_UPLOAD` samples."""
    if n_samples > MAX_SAMPLES_PER_UPLOAD:
        raise UploadError(
            f"The file holds {n_samples:,} samples, more than the {MAX_SAMPLES_PER_UPLOAD} one upload may hold. "
            f"{_FEWER}"
        )
