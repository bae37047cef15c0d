"""Check an uploaded expression profile and turn it into model-ready log2 expression, or refuse it.

:func:`validate_upload` is the one entry point the dashboard and the CLI use. It either returns the
expression with a :class:`UploadCheck` the clinician can read, or raises :class:`UploadError` with a
plain-language reason; bad input never ends in a traceback.

Missing values. A gene without a value in a sample does not cover that sample; it stays NaN in
``expression`` (imputing it is the prediction step's job, which knows the training data). Genes without
a value in any sample are dropped. A sample with no value at all is refused, and so is a sample whose
panel coverage is below ``min_coverage`` ("mostly missing"): the upload is refused as a whole, naming the
samples, because silently dropping a patient's sample from a cohort is worse than asking.

Coverage thresholds. Refuse below 50 % of the panel genes, warn below 80 %. The only real organoid
expression in the shared data (van de Wetering 2015 microarray, 12,037 genes) covers about two thirds
(64.7-67.3 %) of every candidate panel (PaccMann's 2,128 genes, the 1,058 LINCS genes, the GDSC
expression genes), so a refusal threshold above that would reject the project's own reference
organoids. Below 50 % most model inputs would be imputed rather than measured; that is what a targeted
panel or a wrong identifier column looks like. Below 80 % over a fifth of inputs are imputed: usable,
but the user is told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data.genes import GeneMapper, GeneMapping, is_ensembl_id
from core.upload.errors import UploadError, name_list
from core.upload.limits import refuse_many_samples
from core.upload.reader import orient_table, parse_table
from core.upload.scale import Scale, to_log2

DEFAULT_MIN_COVERAGE = 0.5
DEFAULT_WARN_COVERAGE = 0.8

# How Excel stores gene names it mistook for dates (SEPT9 -> 2024-09-09, MARCH1 -> 1-Mar).
_EXCEL_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}( 00:00:00)?|\d{1,2}-(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*", re.IGNORECASE
)


@dataclass
class UploadCheck:
    """What was read, how it was transformed and how well it covers the model's genes."""

    filename: str
    file_format: str
    samples: list[str]
    orientation: str  # "samples as rows" or "genes as rows"
    identifier_type: str  # "HGNC symbols", "Ensembl gene IDs" or "mixed symbols and Ensembl IDs"
    scale: Scale
    transformation: str
    n_identifiers: int  # distinct gene identifiers in the file
    n_mapped: int  # of those, mapped to an approved HGNC symbol
    n_genes: int  # distinct approved symbols with at least one value (columns of the expression)
    renamed: dict[str, str]  # previous/alias symbol or Ensembl ID -> approved symbol
    ambiguous: list[str]
    unknown: list[str]
    n_duplicates_aggregated: int  # approved symbols fed by several identifiers, averaged
    panel_size: int
    coverage_per_sample: dict[str, float]
    coverage_overall: float  # fraction of panel genes with a value in at least one sample
    missing_panel_genes: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def n_renamed(self) -> int:
        return len(self.renamed)

    @property
    def n_ensembl_mapped(self) -> int:
        """Ensembl gene IDs given their approved symbol (the rest of :attr:`renamed` are old or alias symbols)."""
        return sum(old.upper().startswith("ENSG") for old in self.renamed)

    def renaming(self) -> str:
        """What was renamed, in words: "11,890 Ensembl IDs mapped to gene symbols, 12 previous/alias symbols
        renamed to approved ones"."""
        n_symbols = self.n_renamed - self.n_ensembl_mapped
        parts = [
            f"{self.n_ensembl_mapped:,} Ensembl IDs mapped to gene symbols" if self.n_ensembl_mapped else "",
            f"{n_symbols:,} previous/alias symbols renamed to approved ones" if n_symbols else "",
        ]
        return ", ".join(part for part in parts if part) or "none renamed"

    @property
    def n_ambiguous(self) -> int:
        return len(self.ambiguous)

    @property
    def n_unknown(self) -> int:
        return len(self.unknown)

    def to_text(self) -> str:
        """Readable summary for the CLI and logs."""
        coverage = self.coverage_per_sample
        if len(coverage) <= 20:
            per_sample = ", ".join(f"{name} {value:.1%}" for name, value in coverage.items())
        else:
            values = pd.Series(coverage)
            per_sample = (
                f"min {values.min():.1%} ({values.idxmin()}), median {values.median():.1%}, " f"max {values.max():.1%}"
            )
        lines = [
            f"File:            {self.filename} ({self.file_format})",
            f"Samples:         {self.n_samples} ({name_list(self.samples, 5)})",
            f"Layout:          {self.orientation}; identifiers are {self.identifier_type}",
            f"Scale:           {self.scale} -> transformation: {self.transformation}",
            f"Identifiers:     {self.n_identifiers:,} found, {self.n_mapped:,} mapped "
            f"({self.renaming()}; {self.n_ambiguous:,} ambiguous, {self.n_unknown:,} unknown)",
            f"Genes:           {self.n_genes:,} distinct approved symbols "
            f"(duplicated genes averaged: {self.n_duplicates_aggregated:,})",
            f"Panel coverage:  {self.coverage_overall:.1%} of {self.panel_size:,} panel genes overall",
            f"  per sample:    {per_sample}",
        ]
        if self.renamed:
            examples = name_list((f"{old} -> {new}" for old, new in self.renamed.items()), 5)
            lines.append(f"Renamed:         {examples}")
        if self.missing_panel_genes:
            lines.append(
                f"Missing panel genes ({len(self.missing_panel_genes):,}): "
                f"{name_list(self.missing_panel_genes, 20)}"
            )
        lines.append("Warnings:" if self.warnings else "Warnings:        none")
        lines.extend(f"  - {warning}" for warning in self.warnings)
        return "\n".join(lines)


@dataclass
class ValidatedProfile:
    """``expression``: samples x approved HGNC symbols found in the file, log2 scale, float32, NaN = missing."""

    expression: pd.DataFrame
    check: UploadCheck


def validate_upload(
    data: bytes,
    filename: str,
    panel: list[str],
    *,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    warn_coverage: float = DEFAULT_WARN_COVERAGE,
) -> ValidatedProfile:
    """Read, check and convert an uploaded profile; raise :class:`UploadError` when it is not usable.

    ``panel`` lists the approved symbols the model needs; it decides coverage, while ``expression``
    keeps every recognised gene so that other models' panels can be served from the same upload.
    """
    panel_genes = list(dict.fromkeys(panel))
    if not panel_genes:
        raise ValueError("panel must list at least one gene")
    if not 0.0 <= min_coverage <= 1.0 or not 0.0 <= warn_coverage <= 1.0:
        raise ValueError("coverage thresholds are fractions between 0 and 1")
    mapper = GeneMapper.from_shared_data()
    parsed = parse_table(data, filename, mapper)
    oriented = orient_table(parsed, mapper)
    refuse_many_samples(len(oriented.values))
    _refuse_bad_samples(oriented.values)
    scaled = to_log2(oriented.values)
    expression, mapping, duplicated = _to_approved_symbols(scaled.values, mapper)

    present = expression.reindex(columns=pd.Index(panel_genes)).notna()
    per_sample = present.mean(axis=1)
    found = present.any(axis=0).to_numpy()
    overall = float(found.mean())
    _refuse_low_coverage(per_sample, overall, len(panel_genes), min_coverage)

    warnings = parsed.notes + oriented.notes + scaled.warnings + _mapping_warnings(mapping)
    if duplicated:
        values = "standardised values (as uploaded)" if scaled.scale is Scale.STANDARDISED else "log2 values"
        warnings.append(
            f"Genes given more than once had their {values} averaged: {len(duplicated):,} "
            f"(e.g. {name_list(duplicated)})."
        )
    warnings += _coverage_warnings(per_sample, overall, len(panel_genes), warn_coverage)
    check = UploadCheck(
        filename=filename,
        file_format=parsed.file_format,
        samples=[str(sample) for sample in expression.index],
        orientation=oriented.orientation,
        identifier_type=_identifier_type(mapping),
        scale=scaled.scale,
        transformation=scaled.transformation,
        n_identifiers=mapping.n_mapped + len(mapping.ambiguous) + len(mapping.unknown),
        n_mapped=mapping.n_mapped,
        n_genes=expression.shape[1],
        renamed=mapping.renamed,
        ambiguous=mapping.ambiguous,
        unknown=mapping.unknown,
        n_duplicates_aggregated=len(duplicated),
        panel_size=len(panel_genes),
        coverage_per_sample={str(name): float(value) for name, value in per_sample.items()},
        coverage_overall=overall,
        missing_panel_genes=[gene for gene, hit in zip(panel_genes, found) if not hit],
        warnings=warnings,
    )
    return ValidatedProfile(expression.astype(np.float32), check)


def _refuse_bad_samples(values: pd.DataFrame) -> None:
    names = pd.Series([str(name).strip() for name in values.index])
    if (names == "").any():
        raise UploadError("A sample has no name (empty row name or column header). Give every sample a unique name.")
    duplicated = names[names.duplicated()].unique()
    if len(duplicated):
        raise UploadError(
            f"Sample names occur more than once: {name_list(duplicated)}. Give every sample a "
            "unique name (average technical replicates before uploading)."
        )
    empty = values.index[values.isna().all(axis=1).to_numpy()]
    if len(empty):
        raise UploadError(
            f"Sample {name_list(empty)} has no usable value: every cell is empty, not a number, or "
            "infinite (e.g. the log of 0). Remove it or fill in its expression."
        )


def _to_approved_symbols(values: pd.DataFrame, mapper: GeneMapper) -> tuple[pd.DataFrame, GeneMapping, list[str]]:
    """Rename columns to approved symbols, drop unmapped or empty ones, average genes present twice.

    Averaging happens on the log2 scale (a geometric mean of linear values), which keeps one odd
    probe or Ensembl version from dominating the gene.
    """
    identifiers = values.columns.astype(str)
    mapping = mapper.map_identifiers(pd.unique(identifiers))
    symbols = identifiers.map(mapping.mapping)
    keep = symbols.notna() & values.notna().any(axis=0).to_numpy()
    kept = values.loc[:, keep].set_axis(symbols[keep], axis=1)
    if kept.shape[1] == 0:
        raise UploadError(
            "None of the gene identifiers could be matched unambiguously to a current HGNC symbol with a value. "
            "Name genes by approved HGNC symbol (e.g. TP53) or Ensembl gene ID."
        )
    duplicated = list(kept.columns[kept.columns.duplicated()].unique())
    if duplicated:
        kept = kept.T.groupby(level=0, sort=False).mean().T
    return kept.rename_axis(index="sample", columns=None), mapping, duplicated


def _refuse_low_coverage(per_sample: pd.Series, overall: float, panel_size: int, min_coverage: float) -> None:
    if overall < min_coverage:
        raise UploadError(
            f"Only {overall:.0%} of the {panel_size:,} genes the model needs were found (at least {min_coverage:.0%} "
            "needed). Upload a genome-wide profile (RNA-seq or microarray) rather than a targeted panel, with genes "
            "named by HGNC symbol or Ensembl gene ID."
        )
    low = per_sample[per_sample < min_coverage]
    if len(low):
        raise UploadError(
            f"Sample {name_list(low.index)} has values for only {low.min():.0%} of the genes the model needs "
            f"(at least {min_coverage:.0%} needed): mostly missing. Remove it or upload its complete profile."
        )


def _mapping_warnings(mapping: GeneMapping) -> list[str]:
    warnings = []
    dates = [identifier for identifier in mapping.unknown if _EXCEL_DATE.fullmatch(identifier.strip())]
    if dates:
        warnings.append(
            f"Gene names that look like dates were lost: {len(dates)} (e.g. {dates[0]}). Excel turns "
            "names such as SEPT9 or MARCH1 into dates; export from the original source instead."
        )
    if mapping.unknown:
        warnings.append(
            f"Identifiers not recognised as human genes were ignored: {len(mapping.unknown):,} "
            f"(e.g. {name_list(mapping.unknown)})."
        )
    if mapping.ambiguous:
        warnings.append(
            f"Identifiers matching several genes were ignored: {len(mapping.ambiguous):,} "
            f"(e.g. {name_list(mapping.ambiguous)})."
        )
    return warnings


def _coverage_warnings(per_sample: pd.Series, overall: float, panel_size: int, warn_coverage: float) -> list[str]:
    warnings = []
    if overall < warn_coverage:
        warnings.append(
            f"Only {overall:.0%} of the {panel_size:,} genes the model needs were found; the missing "
            "ones are imputed, so predictions are less certain."
        )
    patchy = per_sample[(per_sample < warn_coverage) & (per_sample < overall)]
    if len(patchy):
        warnings.append(
            f"Sample {name_list(patchy.index)} lacks values for some model genes (coverage down to "
            f"{patchy.min():.0%}); those values are imputed."
        )
    return warnings


def _identifier_type(mapping: GeneMapping) -> str:
    recognised = [*mapping.mapping, *mapping.ambiguous]
    n_ensembl = sum(is_ensembl_id(identifier) for identifier in recognised)
    if n_ensembl == len(recognised):
        return "Ensembl gene IDs"
    return "HGNC symbols" if n_ensembl == 0 else "mixed symbols and Ensembl IDs"
