"""Uploads beyond the limits (core.upload.limits) are refused with a plain message before their cells are read."""

from __future__ import annotations

import gzip
import io
import tomllib

import pandas as pd
import pytest

from core.config import REPO_ROOT
from core.upload import UploadError, validate_upload
from core.upload.limits import MAX_SAMPLES_PER_UPLOAD, MAX_TEXT_BYTES, MAX_UPLOAD_BYTES, MEGABYTE
from core.upload.responses import read_response_table
from training_scripts.timing.time_upload_memory import panel, upload_bytes

PLAIN_ADVICE = f"Upload at most {MAX_SAMPLES_PER_UPLOAD} organoids per file"


@pytest.fixture(scope="module")
def too_many_organoids() -> bytes:
    """Real organoid expression, genes as rows, with more organoids than one upload may hold (about 53 MB)."""
    return upload_bytes(MAX_SAMPLES_PER_UPLOAD + 150)


def test_an_oversized_file_is_refused_by_its_size(too_many_organoids: bytes) -> None:
    assert len(too_many_organoids) > MAX_UPLOAD_BYTES
    with pytest.raises(UploadError) as refused:
        validate_upload(too_many_organoids, "organoids.csv", panel())
    message = str(refused.value)
    assert message.startswith(f"The file is {len(too_many_organoids) / MEGABYTE:,.0f} MB, more than the 50 MB")
    assert PLAIN_ADVICE in message and "Traceback" not in message


def test_a_compressed_file_with_too_many_organoids_is_refused_by_its_shape(too_many_organoids: bytes) -> None:
    compressed = gzip.compress(too_many_organoids, compresslevel=1)
    assert len(compressed) < MAX_UPLOAD_BYTES
    with pytest.raises(UploadError, match=f"holds {MAX_SAMPLES_PER_UPLOAD + 150} samples, more than the 500"):
        validate_upload(compressed, "organoids.csv.gz", panel())


def test_a_gzip_bomb_is_refused_by_its_decompressed_size() -> None:
    bomb = gzip.compress(b"0" * (MAX_TEXT_BYTES + 1))
    with pytest.raises(UploadError, match="larger than 100 MB once decompressed"):
        validate_upload(bomb, "bomb.csv.gz", panel())


def test_a_workbook_with_too_many_organoids_is_refused_once_read() -> None:
    organoids = pd.read_csv(io.BytesIO(upload_bytes(MAX_SAMPLES_PER_UPLOAD + 1)), index_col="gene")
    genes_as_columns = organoids.iloc[:40].T  # a workbook small enough to write quickly, samples as rows
    workbook = io.BytesIO()
    genes_as_columns.to_excel(workbook)
    with pytest.raises(UploadError, match=f"holds {MAX_SAMPLES_PER_UPLOAD + 1} samples"):
        validate_upload(workbook.getvalue(), "organoids.xlsx", panel())


def test_an_oversized_response_table_is_refused_in_plain_words() -> None:
    rows = b"sample,drug,auc\n" + b"P10,Oxaliplatin,0.5\n" * (MAX_UPLOAD_BYTES // 20 + 1)
    with pytest.raises(UploadError, match="more than the 50 MB one upload may hold. Upload the response table"):
        read_response_table(rows, "responses.csv", "auc")


def test_streamlit_refuses_the_same_size_in_the_browser() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * MEGABYTE == MAX_UPLOAD_BYTES  # Streamlit counts MiB
