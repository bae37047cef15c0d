"""Turn uploaded bytes into a numeric table of samples x gene identifiers, in memory only.

Uploads come in many shapes: CSV/TSV/TXT/XLSX, gzipped or not, genes as rows or as columns, one
sample or many, or a header-less GDC HTSeq file. This module parses and orients them, refusing files
that are not expression tables at all (images, archives, drug-response tables); whether the numbers
are usable is decided in :mod:`core.upload.validate`. Nothing here writes to disk, because
patient data must not outlive the request that brought it.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import pandas as pd

from core.data.genes import GeneMapper, is_ensembl_id
from core.upload.errors import UploadError
from core.upload.limits import MAX_TEXT_BYTES, refuse_large_file, refuse_large_text, refuse_many_samples

# A handful of stray text cells ("-", "#DIV/0!") in a large matrix are blanked; more means the wrong file.
MAX_TEXT_CELL_FRACTION = 0.01
# Fewer recognised genes cannot be an expression profile (model panels hold 1,000+ genes), while
# sample names look like genes surprisingly often: of the 22 colorectal organoids (P10, P7, ...), 9 are
# HGNC aliases of one gene and the other 13 of several. Only unambiguous hits are counted.
MIN_RECOGNISED_GENES = 20

WHAT_TO_UPLOAD = (
    "Upload a gene-expression table as CSV, TSV, TXT or XLSX (gzip allowed), with HGNC gene symbols or "
    "Ensembl gene IDs on one axis and sample names on the other."
)

_SNIFF_LINES = 30
_SNIFF_BYTES = 8192
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\xd0\xcf\x11\xe0": "an old-style Office file (.xls/.doc; save it as .xlsx or CSV)",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"PAR1": "a Parquet file",
    b"\x89HDF": "an HDF5 file",
}
_DELIMITERS = {
    "\t": "tab-separated text",
    ",": "comma-separated text",
    ";": "semicolon-separated text",
    "|": "pipe-separated text",
}
_WHITESPACE = r"\s+"
_DRUG_WORDS = {"drug", "drugs", "compound", "compounds", "inhibitor", "inhibitors", "treatment", "agent"}
_RESPONSE_WORDS = {"auc", "aac", "ic50", "ec50", "gi50", "response", "viability", "dss", "sensitivity"}
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d*([eE][+-]?\d+)?")
# Suffixes GDC and common pipelines add to a file name; what is left names the sample of a header-less file.
_FILE_SUFFIXES = {"gz", "txt", "tsv", "csv", "tab", "xlsx", "fpkm", "fpkm-uq", "tpm", "counts", "htseq", "htseq_counts"}


@dataclass
class ParsedTable:
    """A table as laid out in the file, split into text (label) columns and numeric columns."""

    labels: pd.DataFrame  # text columns, first column always included (row names), by row position
    values: pd.DataFrame  # numeric columns (float64, NaN = missing), column labels = header names
    file_format: str
    notes: list[str] = field(default_factory=list)


@dataclass
class OrientedTable:
    """Values as samples x input gene identifiers, whichever way round the file had them."""

    values: pd.DataFrame
    orientation: str  # "samples as rows" or "genes as rows"
    notes: list[str] = field(default_factory=list)


def parse_table(data: bytes, filename: str, mapper: GeneMapper) -> ParsedTable:
    """Parse uploaded bytes; any parser failure becomes an :class:`UploadError`.

    Third-party parsers (csv, pandas, openpyxl, zipfile, gzip) raise many exception types on
    malformed input; the user must see one plain message, never a traceback, hence the broad catch.
    """
    try:
        return _parse(data, filename, mapper)
    except UploadError:
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UploadError(f"The file could not be read as a table ({detail}). {WHAT_TO_UPLOAD}") from exc


def orient_table(parsed: ParsedTable, mapper: GeneMapper) -> OrientedTable:
    """Put samples on rows, choosing the axis whose names are recognised as genes far more often.

    Sample names such as P10 or P7 happen to be HGNC aliases, so a few hits on the sample axis are
    normal: the gene axis needs ``MIN_RECOGNISED_GENES`` hits and at least twice those of the other
    axis. A near tie means the layout is genuinely unclear; guessing could silently swap genes and samples.
    """
    n_in_columns = _n_recognised(list(parsed.values.columns), mapper)
    label_hits = [_n_recognised(list(parsed.labels.iloc[:, j]), mapper) for j in range(parsed.labels.shape[1])]
    gene_column = int(np.argmax(label_hits))
    n_in_rows = label_hits[gene_column]
    if max(n_in_columns, n_in_rows) < MIN_RECOGNISED_GENES:
        raise UploadError(
            f"Only {max(n_in_columns, n_in_rows)} row or column names were recognised as genes. Name genes by "
            "HGNC symbol (e.g. TP53) or Ensembl gene ID (e.g. ENSG00000141510); if this is a drug-response "
            "table, upload the expression profile instead (responses are what the dashboard predicts)."
        )
    if 2 * min(n_in_columns, n_in_rows) > max(n_in_columns, n_in_rows):
        raise UploadError(
            f"Gene identifiers were found both as row names ({n_in_rows}) and as column names "
            f"({n_in_columns}), so the layout is unclear. Put genes on one axis and sample names on the other."
        )
    notes = []
    if n_in_columns > n_in_rows:
        values = parsed.values.set_axis(pd.Index(parsed.labels.iloc[:, 0]), axis=0)
        orientation, used = "samples as rows", 0
    else:
        values = parsed.values.T.set_axis(pd.Index(parsed.labels.iloc[:, gene_column]), axis=1)
        orientation, used = "genes as rows", gene_column
        if gene_column:
            notes.append(f"Gene identifiers were read from column '{parsed.labels.columns[gene_column]}'.")
    ignored = [str(name) for j, name in enumerate(parsed.labels.columns) if j not in (0, used)]
    if ignored:
        notes.append(f"Text columns were not used as expression: {', '.join(ignored[:5])}.")
    values, skipped_note = _drop_non_gene_rows(values.rename_axis(index="sample"))
    return OrientedTable(values, orientation, notes + skipped_note)


def sample_name_from_filename(filename: str) -> str:
    """Sample id for a one-sample, header-less file (GDC names files <uuid>.FPKM.txt.gz)."""
    parts = re.split(r"[\\/]", filename)[-1].split(".")
    while len(parts) > 1 and parts[-1].lower() in _FILE_SUFFIXES:
        parts.pop()
    return ".".join(parts).strip() or "sample"


@dataclass
class RawGrid:
    """Every cell of an uploaded table as text, before any meaning is given to rows or columns."""

    cells: pd.DataFrame
    file_format: str  # e.g. "gzip-compressed tab-separated text"
    decimal_comma_possible: bool  # not in comma-separated text
    notes: list[str]


def read_grid(data: bytes, table_kind: str, advice: str) -> RawGrid:
    """Unpack (gzip by magic bytes), refuse binary files, and read CSV/TSV/TXT or XLSX into cells.

    ``table_kind`` ("an expression table") and ``advice`` (what to upload instead) go into the messages,
    so the expression and response-table readers share one way of opening files. Files beyond the upload
    limits (:mod:`core.upload.limits`) are refused before their cells are read.
    """
    refuse_large_file(len(data))
    data, gzipped = _gunzip(data)
    if not data.strip():
        raise UploadError(f"The file is empty. {advice}")
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UploadError(f"The file is {kind}, not {table_kind}. {advice}")
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        raise UploadError(f"The file is JSON, not {table_kind}. {advice}")
    if data.startswith(_ZIP_MAGIC):
        grid, kind, notes = _xlsx_grid(data)
        decimal_comma_possible = False
    else:
        grid, delimiter = _text_grid(data)
        kind, notes = _DELIMITERS.get(delimiter, "whitespace-separated text"), []
        decimal_comma_possible = delimiter != ","
    return RawGrid(grid, f"gzip-compressed {kind}" if gzipped else kind, decimal_comma_possible, notes)


def _parse(data: bytes, filename: str, mapper: GeneMapper) -> ParsedTable:
    raw = read_grid(data, "an expression table", WHAT_TO_UPLOAD)
    header, body, header_notes = _split_header(raw.cells, filename, mapper)
    _refuse_response_table(header)
    labels, values, value_notes = _split_numeric(header, body, raw.decimal_comma_possible)
    return ParsedTable(labels, values, raw.file_format, raw.notes + header_notes + value_notes)


def _gunzip(data: bytes) -> tuple[bytes, bool]:
    """Decompress when the bytes say gzip, whatever the file is called; bounded against gzip bombs."""
    if not data.startswith(_GZIP_MAGIC):
        return data, False
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(MAX_TEXT_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise UploadError(f"The gzip file is damaged or incomplete. {WHAT_TO_UPLOAD}") from exc
    refuse_large_text(len(out))
    return out, True


def _xlsx_grid(data: bytes) -> tuple[pd.DataFrame, str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        is_workbook = "xl/workbook.xml" in archive.namelist()
    if not is_workbook:
        raise UploadError("The file is a zip archive. Unpack it and upload the expression table inside.")
    with pd.ExcelFile(io.BytesIO(data), engine="openpyxl") as book:
        sheets = book.sheet_names
        grid = pd.read_excel(book, sheet_name=sheets[0], header=None, dtype=str)
    notes = (
        [f"The workbook has {len(sheets)} sheets; only the first, '{sheets[0]}', was read."] if len(sheets) > 1 else []
    )
    return grid, "Excel workbook (.xlsx)", notes


def _text_grid(data: bytes) -> tuple[pd.DataFrame, str]:
    """All cells as strings (NaN = empty), header row included, and the delimiter used."""
    text = _decode(data)
    lines = [line for line in islice(io.StringIO(text, newline=None), 10 * _SNIFF_LINES) if line.strip()]
    delimiter, width, header_short = _sniff_delimiter([line.rstrip("\n") for line in lines[:_SNIFF_LINES]])
    # Samples lie along one axis, genes along the other: too many on both sides means too many samples.
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    refuse_many_samples(min(n_lines, width) - 1)
    grid = pd.read_csv(
        io.StringIO(text, newline=None),
        sep=delimiter,
        header=None,
        names=range(width),
        dtype=str,
        skip_blank_lines=True,
    )
    if header_short:  # R's write.table omits the row-name cell of the header
        grid.iloc[0] = [np.nan, *grid.iloc[0, :-1]]
    return grid, delimiter


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text" export
        return data.decode("utf-16")
    head = data[:_SNIFF_BYTES]
    if sum(byte < 9 or 13 < byte < 32 for byte in head) > len(head) // 100:
        raise UploadError(f"The file is binary, not a text table. {WHAT_TO_UPLOAD}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _sniff_delimiter(lines: list[str]) -> tuple[str, int, bool]:
    """Delimiter giving the most columns with the same count on every line (header may be one short)."""
    best: tuple[str, int, bool] | None = None
    for delimiter in _DELIMITERS:
        try:
            width, header_short = _consistent_width([len(row) for row in csv.reader(lines, delimiter=delimiter)])
        except csv.Error:  # e.g. a whole wide line read as one field under the wrong delimiter (> 131,072 chars)
            continue
        if width > 1 and (best is None or width > best[1]):
            best = (delimiter, width, header_short)
    if best is None:
        width, header_short = _consistent_width([len(line.split()) for line in lines])
        if width > 1:
            best = (_WHITESPACE, width, header_short)
    if best is None:
        raise UploadError(
            f"No consistent columns were found (tried tab, comma, semicolon, pipe and spaces). {WHAT_TO_UPLOAD}"
        )
    return best


def _consistent_width(widths: list[int]) -> tuple[int, bool]:
    body = widths[1:] or widths
    if len(set(body)) != 1 or widths[0] not in (body[0], body[0] - 1):
        return 0, False
    return body[0], widths[0] == body[0] - 1


def _refuse_response_table(header: list[str]) -> None:
    """Drug-response tables share the samples-by-something shape; name the mix-up instead of 'no genes'."""
    words = [set(re.split(r"[^a-z0-9]+", cell.lower())) for cell in header]
    drug_columns = [cell for cell, cell_words in zip(header, words) if cell_words & _DRUG_WORDS]
    response_columns = [cell for cell, cell_words in zip(header, words) if cell_words & _RESPONSE_WORDS]
    if drug_columns and response_columns:
        raise UploadError(
            f"This looks like a drug-response table (columns '{drug_columns[0]}' and '{response_columns[0]}'), "
            "not gene expression. Upload the organoid's gene-expression profile instead: drug responses are "
            "what the dashboard predicts."
        )


def _split_header(grid: pd.DataFrame, filename: str, mapper: GeneMapper) -> tuple[list[str], pd.DataFrame, list[str]]:
    """First row as header, unless it is already data (GDC HTSeq files have no header)."""
    grid = grid.dropna(how="all")
    grid = grid.loc[:, grid.notna().any()]  # trailing delimiters leave empty columns
    grid = grid.set_axis(range(grid.shape[1]), axis=1).reset_index(drop=True)
    if grid.shape[1] < 2:
        raise UploadError(f"The file has a single column, so it holds no gene/value pairs. {WHAT_TO_UPLOAD}")
    first = grid.iloc[0]
    if _is_data_row(first, mapper):
        stem = sample_name_from_filename(filename)
        n_samples = grid.shape[1] - 1
        names = [stem] if n_samples == 1 else [f"{stem}_{i}" for i in range(1, n_samples + 1)]
        note = f"No header row: the sample{'s were' if n_samples > 1 else ' was'} named after the file ({stem})."
        return ["", *names], grid, [note]
    header = ["" if pd.isna(cell) else str(cell).strip() for cell in first]
    return header, grid.iloc[1:].reset_index(drop=True), []


def _is_data_row(row: pd.Series, mapper: GeneMapper) -> bool:
    label = row.iloc[0]
    if pd.isna(label) or pd.to_numeric(row.iloc[1:], errors="coerce").isna().any():
        return False
    return is_ensembl_id(str(label)) or mapper.map_one(str(label)) is not None


def _split_numeric(
    header: list[str], body: pd.DataFrame, decimal_comma_possible: bool
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Separate text columns (row names, annotations) from numeric ones; refuse text inside the numbers."""
    if body.empty:
        raise UploadError(f"The file has a header but no values. {WHAT_TO_UPLOAD}")
    cells = body.to_numpy(dtype=object)
    flat = pd.Series(cells.ravel(), dtype=object).str.strip()
    present = flat.notna() & (flat != "")
    numbers = pd.to_numeric(flat, errors="coerce")
    notes = []
    failed = present & numbers.isna()
    if decimal_comma_possible and failed.any() and flat[failed].str.fullmatch(DECIMAL_COMMA).mean() > 0.5:
        numbers = pd.to_numeric(flat.str.replace(",", ".", regex=False), errors="coerce")
        notes.append("Decimal commas were read as decimal points.")
    present_grid = present.to_numpy().reshape(cells.shape)
    number_grid = numbers.to_numpy(dtype=float, na_value=np.nan).reshape(cells.shape)
    text_grid = present_grid & np.isnan(number_grid)

    n_present, n_text = present_grid.sum(axis=0), text_grid.sum(axis=0)
    is_label = (n_present > 0) & (n_text == n_present)
    is_label[0] = True
    value_columns = np.flatnonzero(~is_label)
    if value_columns.size == 0:
        examples = ", ".join(f"'{v}'" for v in pd.unique(cells[:, 1:][text_grid[:, 1:]])[:3])
        raise UploadError(
            f"The file holds no numeric expression values (found text such as {examples}). " f"{WHAT_TO_UPLOAD}"
        )
    values = number_grid[:, value_columns]
    stray = text_grid[:, value_columns]
    if stray.any():
        examples = ", ".join(f"'{v}'" for v in pd.unique(cells[:, value_columns][stray])[:3])
        if stray.sum() > MAX_TEXT_CELL_FRACTION * present_grid[:, value_columns].sum():
            raise UploadError(
                f"{stray.sum()} cells hold text instead of numbers (e.g. {examples}). "
                "Expression values must be numbers; remove text and annotation from the value cells."
            )
        notes.append(f"{stray.sum()} cells held text instead of a number (e.g. {examples}) and count as missing.")
        values[stray] = np.nan
    if np.isinf(values).any():
        notes.append(f"{int(np.isinf(values).sum())} infinite values (e.g. log of 0) count as missing.")
        values[np.isinf(values)] = np.nan
    label_columns = np.flatnonzero(is_label)
    labels = pd.DataFrame(cells[:, label_columns], columns=[header[j] for j in label_columns])
    labels = labels.apply(lambda column: column.map(lambda cell: "" if pd.isna(cell) else str(cell).strip()))
    return labels, pd.DataFrame(values, columns=[header[j] for j in value_columns]), notes


def _n_recognised(identifiers: list[str], mapper: GeneMapper) -> int:
    return mapper.map_identifiers(pd.unique(pd.Series(identifiers, dtype=str))).n_mapped


def _drop_non_gene_rows(values: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Remove HTSeq summary lines (__no_feature ...) and GDC's all-zero _PAR_Y copies of X genes.

    Both would otherwise distort results: summary lines inflate the library size of counts, and a
    _PAR_Y copy averaged with its X twin would halve that gene's value.
    """
    names = pd.Series(values.columns.astype(str))
    skip = (names.str.startswith("__") | names.str.upper().str.endswith("_PAR_Y")).to_numpy()
    if not skip.any():
        return values, []
    note = f"{int(skip.sum())} non-gene rows were skipped (HTSeq summary lines like __no_feature, _PAR_Y copies)."
    return values.loc[:, ~skip], [note]
