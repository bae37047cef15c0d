"""Read and check an uploaded drug-response table: one row per sample and drug, with a response value.

The counterpart of the expression upload (:mod:`core.upload.validate`) for a lab's own screen. Columns are
found by name, case-insensitively: the sample (``sample``, ``organoid``, ``cell_line``, ...), the drug
(``drug``, ``compound``, ...), the value (``value``, ``response`` or a name holding the metric, such as
``auc`` or ``ln_ic50``) and optionally ``smiles`` and ``gdsc_drug_id`` (both help find the structure). The user states the metric and its direction; everything
downstream (z-scores, ranks) reads "lower = more sensitive", so a higher-is-sensitive upload is converted.

Rules, each reported in plain language (rows are dropped and listed, the table is refused only when
what is left cannot be right):

- Rows without a sample or drug name, or without a numeric value, are dropped. More than half of the
  values being text means the wrong column or file: refused.
- Range. AUC is the normalised area under the viability curve, in [0, 1] (GDSC1: 0.006-0.9996). ln IC50 is
  the natural log of the IC50 in micromolar, accepted in [-15, 15]: every GDSC1 value lies in -10.6..13.8,
  and beyond +-15 the IC50 would be below a picomolar or above three molar, i.e. an extrapolation or a unit
  error. Rows outside are dropped; if more than half are outside, the unit is wrong and the table is refused
  with the conversion to apply.
- A sample and drug given more than once (replicate screens) are averaged, as GDSC and the colorectal
  screen do, and counted in the notes.
- A drug given two different structures is dropped: which one was screened cannot be known.

Nothing here writes to disk: the bytes are parsed in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data.cohort import Cohort
from core.data.export import to_safe_csv
from core.data.structures import canonical_smiles
from core.upload.errors import UploadError, name_list
from core.upload.reader import DECIMAL_COMMA, read_grid

WHAT_TO_UPLOAD = (
    "Upload the response table as CSV, TSV, TXT or XLSX with one row per sample and drug and the columns "
    "sample, drug and value (optionally smiles)."
)
MAX_BAD_FRACTION = 0.5  # beyond this share of unusable values the column or the unit is wrong, not a few rows

_SAMPLE_COLUMNS = {
    "sample",
    "sample_id",
    "sample_name",
    "organoid",
    "organoid_id",
    "organoid_name",
    "pdo",
    "pdo_id",
    "cell_line",
    "cell_line_id",
    "cell_line_name",
    "model",
    "model_id",
    "patient",
    "patient_id",
}
_DRUG_COLUMNS = {"drug", "drug_name", "compound", "compound_name", "inhibitor", "treatment", "agent"}
_SMILES_COLUMNS = {"smiles", "canonical_smiles", "isomeric_smiles", "drug_smiles"}
_DRUG_ID_COLUMNS = {"gdsc_drug_id", "gdsc_id", "drug_id"}
_GENERIC_VALUE_COLUMNS = {"value", "response", "response_value"}


@dataclass(frozen=True)
class ResponseMetric:
    """A response metric the models can learn, with the values it may take (lower = more sensitive)."""

    key: str
    label: str
    low: float
    high: float
    unit_hint: str  # what to do when most values are out of range

    def column_matches(self, column: str) -> bool:
        """Whether a normalised header names this metric (``auc_median``, ``ln_ic50``, ``lnic50``)."""
        return "auc" in column if self.key == "auc" else "ic50" in column

    def towards_lower_is_sensitive(self, values: pd.Series) -> tuple[pd.Series, str]:
        """Values of a higher-is-sensitive upload turned into lower-is-sensitive ones, and how."""
        if self.key == "auc":
            return 1.0 - values, "AUC was converted to 1 - AUC"
        return -values, "ln IC50 was negated"

    def unit(self, lower_is_sensitive: bool) -> str:
        """What the stored values are, for labels: the metric itself, or what it was turned into."""
        if lower_is_sensitive:
            return self.label
        return "1 - AUC" if self.key == "auc" else "-ln IC50"


METRICS = {
    "auc": ResponseMetric(
        "auc",
        "AUC",
        0.0,
        1.0,
        "AUC must be the normalised area under the dose-response (viability) curve, between 0 and 1. If your AUC "
        "is in percent, divide it by 100; if it is an area on another scale, divide by the largest possible area.",
    ),
    "ln_ic50": ResponseMetric(
        "ln_ic50",
        "ln IC50",
        -15.0,
        15.0,
        "ln IC50 is the natural logarithm of the IC50 in micromolar (GDSC: -10.6 to 13.8). For an IC50 in "
        "micromolar take its natural log; for log10 IC50 multiply by 2.303; for an IC50 in nanomolar subtract "
        "6.908 (ln 1000) from its natural log.",
    ),
}


@dataclass
class ResponseTable:
    """The usable rows of an uploaded response table and what was done to get them."""

    pairs: pd.DataFrame  # sample, drug, value: one row per pair, lower = more sensitive
    own_smiles: dict[str, str]  # drug -> SMILES as written in the file (drugs with a smiles cell only)
    gdsc_drug_ids: dict[str, str]  # drug -> GDSC drug id, where the file has a gdsc_drug_id column
    metric: ResponseMetric
    unit: str  # label of ``pairs.value``: the metric, or "1 - AUC" / "-ln IC50" after turning it around
    columns: dict[str, str]  # role (sample, drug, value, smiles) -> header used
    file_format: str
    dropped: list[str] = field(default_factory=list)  # what was left out, and why
    notes: list[str] = field(default_factory=list)  # what was changed (averaged, converted)


def read_response_table(data: bytes, filename: str, metric: str, lower_is_sensitive: bool = True) -> ResponseTable:
    """Parse and check a response table; raise :class:`UploadError` when nothing usable is left."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}")
    response_metric = METRICS[metric]
    grid, file_format, decimal_comma_possible = _read_grid(data)
    header = [_normalise(cell) for cell in grid.iloc[0]]
    body = grid.iloc[1:].reset_index(drop=True)
    columns = _find_columns(header, [str(c) for c in grid.iloc[0]], response_metric)
    dropped: list[str] = []
    notes: list[str] = []

    table = pd.DataFrame({role: body.iloc[:, index] for role, index in columns.items()})
    for role in ("sample", "drug"):
        table[role] = table[role].map(lambda cell: "" if pd.isna(cell) else str(cell).strip())
    unnamed = (table["sample"] == "") | (table["drug"] == "")
    if unnamed.any():
        dropped.append(f"{int(unnamed.sum())} row(s) without a sample or drug name.")
    table = table[~unnamed].reset_index(drop=True)
    if table.empty:
        raise UploadError(f"No row names both a sample and a drug. {WHAT_TO_UPLOAD}")

    table["value"], value_notes = _numeric_values(table["value"], decimal_comma_possible, response_metric)
    dropped += value_notes
    table = table.dropna(subset=["value"]).reset_index(drop=True)
    if not lower_is_sensitive:
        table["value"], how = response_metric.towards_lower_is_sensitive(table["value"])
        notes.append(
            f"Higher values meant more sensitive, so {how}: everywhere in the dashboard lower = more " "sensitive."
        )

    own_smiles, smiles_dropped = _own_structures(table) if "smiles" in table else ({}, [])
    drug_ids = _first_per_drug(table, "gdsc_drug_id")
    if smiles_dropped:
        dropped.append(
            f"Drugs given two different structures (which one was screened is unclear): "
            f"{name_list(smiles_dropped, 10)}."
        )
        table = table[~table["drug"].isin(smiles_dropped)]
    counts = table.groupby(["sample", "drug"]).size()
    repeated = counts[counts > 1]
    if len(repeated):
        notes.append(
            f"{len(repeated)} sample-drug pair(s) were given more than once ({int(repeated.sum())} rows, "
            "replicate screens?); their values were averaged."
        )
    pairs = table.groupby(["sample", "drug"], as_index=False, sort=True)["value"].mean()
    return ResponseTable(
        pairs,
        own_smiles,
        drug_ids,
        response_metric,
        response_metric.unit(lower_is_sensitive),
        {role: grid.iloc[0, i] for role, i in columns.items()},
        file_format,
        dropped,
        notes,
    )


def _read_grid(data: bytes) -> tuple[pd.DataFrame, str, bool]:
    """All cells as strings (header first, empty rows and columns removed), the format, and whether a
    decimal comma is possible (not in comma-separated text)."""
    try:
        raw = read_grid(data, "a response table", WHAT_TO_UPLOAD)
    except UploadError as error:  # the reader's reasons, told for a response table rather than expression
        reason = str(error).split(". ")[0].rstrip(".")
        raise UploadError(f"{reason}. {WHAT_TO_UPLOAD}") from error
    except Exception as error:  # noqa: BLE001  (csv, pandas, openpyxl raise many types on malformed input)
        raise UploadError(
            f"The file could not be read as a table ({type(error).__name__}). {WHAT_TO_UPLOAD}"
        ) from error
    grid = raw.cells.dropna(how="all")
    grid = grid.loc[:, grid.notna().any()]
    if len(grid) < 2:
        raise UploadError(f"The file has a header but no rows. {WHAT_TO_UPLOAD}")
    return (
        grid.reset_index(drop=True).set_axis(range(grid.shape[1]), axis=1),
        raw.file_format,
        raw.decimal_comma_possible,
    )


def _normalise(cell: object) -> str:
    return "" if pd.isna(cell) else re.sub(r"[^a-z0-9]+", "_", str(cell).strip().lower()).strip("_")


def _find_columns(header: list[str], shown: list[str], metric: ResponseMetric) -> dict[str, int]:
    """Column index of each role; a plain error naming the columns found when one is missing or ambiguous."""
    found = f"Columns found: {name_list(shown, 8)}."
    roles = {}
    for role, names in (("sample", _SAMPLE_COLUMNS), ("drug", _DRUG_COLUMNS)):
        hits = [i for i, name in enumerate(header) if name in names]
        if not hits:
            wide = (
                (
                    "The table has many columns: a matrix with one column per drug, sample or gene (an expression "
                    "table?) is not the long format needed. "
                )
                if len(header) > 3
                else ""
            )
            raise UploadError(
                f"No column names the {role}s (expected a header such as '{role}'). {wide}" f"{WHAT_TO_UPLOAD} {found}"
            )
        if len(hits) > 1:
            raise UploadError(
                f"Several columns could name the {role}s ({name_list([shown[i] for i in hits])}); " f"keep one. {found}"
            )
        roles[role] = hits[0]
    roles["value"] = _value_column(header, shown, metric, found)
    for role, names in (("smiles", _SMILES_COLUMNS), ("gdsc_drug_id", _DRUG_ID_COLUMNS)):
        hits = [i for i, name in enumerate(header) if name in names]
        if hits:
            roles[role] = hits[0]
    return roles


def _value_column(header: list[str], shown: list[str], metric: ResponseMetric, found: str) -> int:
    """The response column: one naming the chosen metric, else a generic ``value``/``response``."""
    other = [m for m in METRICS.values() if m.key != metric.key]
    named = [i for i, name in enumerate(header) if metric.column_matches(name)]
    generic = [i for i, name in enumerate(header) if name in _GENERIC_VALUE_COLUMNS]
    candidates = named or generic
    if not candidates:
        mismatched = [shown[i] for i, name in enumerate(header) if any(m.column_matches(name) for m in other)]
        if mismatched:
            raise UploadError(
                f"The response column '{mismatched[0]}' does not hold {metric.label}, the metric chosen. "
                f"Choose the metric the table holds, or name the column 'value'. {found}"
            )
        raise UploadError(
            f"No response column found: name it 'value' (or after the metric, e.g. " f"'{metric.key}'). {found}"
        )
    if len(candidates) > 1:
        raise UploadError(
            f"Several columns could hold the response ({name_list([shown[i] for i in candidates])}); "
            f"rename the one to use 'value' and remove the others. {found}"
        )
    column = header[candidates[0]]
    if metric.key == "ln_ic50" and named and not re.search(r"(^|_)(ln|log|loge)(_|$)|^ln|^log", column):
        raise UploadError(
            f"The column '{shown[candidates[0]]}' seems to hold the IC50 itself, not its natural "
            f"logarithm. {metric.unit_hint}"
        )
    if metric.key == "ln_ic50" and "log10" in column:
        raise UploadError(f"The column '{shown[candidates[0]]}' holds log10 IC50. {metric.unit_hint}")
    return candidates[0]


def _numeric_values(
    cells: pd.Series, decimal_comma_possible: bool, metric: ResponseMetric
) -> tuple[pd.Series, list[str]]:
    """Numbers (NaN where unusable) and a sentence per kind of row dropped; refuses a wrong column or unit."""
    text = cells.map(lambda cell: "" if pd.isna(cell) else str(cell).strip())
    present = text != ""
    if decimal_comma_possible and text[present].str.fullmatch(DECIMAL_COMMA).mean() > 0.5:
        text = text.str.replace(",", ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").where(present)
    values[~np.isfinite(values.fillna(0.0))] = np.nan
    not_numeric = present & values.isna()
    dropped = []
    if (~present).any():
        dropped.append(f"{int((~present).sum())} row(s) without a response value.")
    if not_numeric.sum() > MAX_BAD_FRACTION * max(int(present.sum()), 1):
        raise UploadError(
            f"Most response values are not numbers (e.g. {name_list(text[not_numeric].unique())}). " f"{WHAT_TO_UPLOAD}"
        )
    if not_numeric.any():
        dropped.append(
            f"{int(not_numeric.sum())} row(s) whose value is not a number "
            f"(e.g. {name_list(text[not_numeric].unique())})."
        )
    outside = values.notna() & ((values < metric.low) | (values > metric.high))
    if outside.sum() > MAX_BAD_FRACTION * max(int(values.notna().sum()), 1):
        raise UploadError(
            f"Most values lie outside {metric.low:g} to {metric.high:g}, the range of {metric.label} "
            f"(found {values.min():.4g} to {values.max():.4g}). {metric.unit_hint}"
        )
    if outside.any():
        dropped.append(
            f"{int(outside.sum())} row(s) with {metric.label} outside {metric.low:g} to {metric.high:g} "
            f"(e.g. {name_list(values[outside].map('{:.4g}'.format).unique())})."
        )
    return values.where(~outside), dropped


def _first_per_drug(table: pd.DataFrame, column: str) -> dict[str, str]:
    """Drug -> the first non-empty cell of an optional per-drug column."""
    if column not in table:
        return {}
    given = table[["drug", column]].dropna()
    given = given.assign(**{column: given[column].astype(str).str.strip()})
    given = given[given[column] != ""].drop_duplicates("drug")
    return dict(zip(given["drug"], given[column]))


def _own_structures(table: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """Drug -> the SMILES given in the file, and the drugs given structures that differ after canonicalisation."""
    given = table[["drug", "smiles"]].dropna()
    given = given.assign(smiles=given["smiles"].astype(str).str.strip())
    given = given[given["smiles"] != ""].drop_duplicates()
    canonical = given["smiles"].map(lambda s: canonical_smiles(s) or s)
    conflicting = sorted(
        given.assign(canonical=canonical).groupby("drug")["canonical"].nunique().loc[lambda n: n > 1].index
    )
    own = {drug: smiles for drug, smiles in zip(given["drug"], given["smiles"]) if drug not in conflicting}
    return own, conflicting


def example_response_table(cohort: Cohort, n_samples: int = 3) -> bytes:
    """A response table in the layout :func:`read_response_table` reads (sample, drug, value, gdsc_drug_id), made
    from the first ``n_samples`` samples of a public screen: a template a lab can fill in."""
    responses = cohort.responses
    samples = sorted(responses["sample"].unique())[:n_samples]
    rows = responses[responses["sample"].isin(samples)].sort_values(["sample", "drug"])
    columns = ["sample", "drug", "value"] + (["gdsc_drug_id"] if "gdsc_drug_id" in rows.columns else [])
    return to_safe_csv(rows[columns], index=False).encode("utf-8")
