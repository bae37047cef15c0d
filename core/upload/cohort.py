"""A lab's own screen, uploaded as two files (expression + drug responses), checked and turned into a
:class:`~core.data.cohort.Cohort` that fine-tuning and training from scratch accept like any dataset.

:func:`validate_cohort_upload` is the one entry point of the dashboard page, the command line and the
benchmark. Each file goes through its own checks (:func:`core.upload.validate_upload`,
:func:`core.upload.responses.read_response_table`); here the two are joined:

- Samples are matched by exact name. Samples found in one file only are listed and left out.
- Drugs get a structure from the table's ``smiles`` column (parsed by RDKit) or from the GDSC catalogue
  (:class:`core.data.drugs.GdscDrugCatalogue`) by ``gdsc_drug_id`` where given, else by name (salts,
  synonyms). Drugs without a usable
  structure are listed and left out.
- A drug whose response is the same in every kept sample, or that was measured in one sample only,
  says nothing about differences between organoids (and breaks the within-drug score): left out.
- What is left must allow a cross-validation over organoids: at least ``MIN_SAMPLES`` samples (one per
  fold of a 5-fold split), ``MIN_DRUGS`` drugs and ``MIN_PAIRS`` pairs; else the upload is refused with
  the reasons.
- Panel genes. The models read a fixed gene panel; a missing value of a panel gene is set to that
  gene's mean over the cohort's other samples, and a panel gene measured in no sample to each sample's
  average level (a per-sample z-score of 0: uninformative). Both are counted in the report.

Nothing is written to disk; the cohort records the uploads only by the SHA-256 of their bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pandas as pd

from core.data.cohort import Cohort
from core.data.datasets.common import resolve_drug_structures
from core.upload.errors import UploadError, name_list
from core.upload.responses import ResponseTable, read_response_table
from core.upload.validate import UploadCheck, ValidatedProfile, validate_upload

MIN_SAMPLES = 5
MIN_DRUGS = 3
MIN_PAIRS = 100
EXPRESSION_HASH = "upload/expression (sha256 of the bytes)"
RESPONSES_HASH = "upload/responses (sha256 of the bytes)"


@dataclass
class CohortCheck:
    """What was kept of an uploaded cohort, what was left out and why, and what was changed."""

    label: str
    metric: str
    n_samples: int
    n_drugs: int
    n_pairs: int
    expression: UploadCheck
    response_format: str
    response_columns: dict[str, str]
    structures: pd.DataFrame  # drug, source (file SMILES or GDSC catalogue), gdsc_name
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        """Readable summary for the command line."""
        changes = self.notes + self.expression.warnings
        lines = [
            f"Cohort:          {self.label}: {self.n_samples} samples x {self.n_drugs} drugs, {self.n_pairs} pairs "
            f"({self.metric}, lower = more sensitive)",
            f"Expression:      {self.expression.filename} ({self.expression.scale}; "
            f"{self.expression.coverage_overall:.1%} of the panel genes)",
            f"Response table:  {self.response_format}; columns "
            + ", ".join(f"{role} = {name!r}" for role, name in self.response_columns.items()),
            "Left out:" if self.dropped else "Left out:        nothing",
            *(f"  - {line}" for line in self.dropped),
            "Changed:" if changes else "Changed:         nothing",
            *(f"  - {line}" for line in changes),
        ]
        return "\n".join(lines)


@dataclass
class UploadedCohort:
    """The cohort to train on and the report to show the user."""

    cohort: Cohort
    check: CohortCheck


def validate_cohort_upload(
    expression_data: bytes,
    expression_filename: str,
    response_data: bytes,
    response_filename: str,
    *,
    metric: str,
    lower_is_sensitive: bool,
    panel: list[str],
    name: str = "session",
    label: str = "uploaded cohort",
) -> UploadedCohort:
    """Check both files and join them into a cohort named ``name``; raise :class:`UploadError` with the
    reasons when it cannot be trained on. ``panel``: every gene a model to be trained reads."""
    try:
        profile = validate_upload(expression_data, expression_filename, panel)
    except UploadError as error:
        raise UploadError(f"Expression file: {error}") from error
    try:
        table = read_response_table(response_data, response_filename, metric, lower_is_sensitive)
    except UploadError as error:
        raise UploadError(f"Response table: {error}") from error
    hashes = {
        EXPRESSION_HASH: hashlib.sha256(expression_data).hexdigest(),
        RESPONSES_HASH: hashlib.sha256(response_data).hexdigest(),
    }
    return build_cohort(profile, table, panel, name, label, hashes)


def training_expression_again(
    data: bytes, filename: str, data_files: dict[str, str], samples: list[str], panel: list[str]
) -> pd.DataFrame:
    """The expression a saved bundle was trained on, from the same file uploaded again (for the reference
    cohort's gene rankings: bundles keep predictions, never expression).

    Only the very file is accepted: its SHA-256 must equal the one recorded in the bundle's ``data_files``.
    The result is rebuilt exactly as at training time (same checks, ``samples`` completed over ``panel``).
    """
    recorded = data_files.get(EXPRESSION_HASH)
    if recorded is None:
        raise UploadError(
            "These models were not trained on an uploaded cohort, so there is no expression file to " "give again."
        )
    if hashlib.sha256(data).hexdigest() != recorded:
        raise UploadError(
            f"{filename} is not the expression file these models were trained on (its SHA-256 "
            "differs from the one they recorded). Upload that very file, unchanged."
        )
    profile = validate_upload(data, filename, panel)
    expression, _ = _complete_panel(profile.expression.loc[samples], panel)
    return expression


# INN stems of protein drugs: monoclonal antibodies (cetuximab, bevacizumab) and receptor fusion proteins
# (aflibercept). GDSC screens some of them (cetuximab) but gives them no structure.
BIOLOGIC_STEMS = ("mab", "cept")


def is_biologic(drug: str) -> bool:
    """True for a drug named like an antibody or fusion protein (any word of its name ends in a biologic stem)."""
    return any(word.endswith(BIOLOGIC_STEMS) for word in re.findall(r"[a-z]+", drug.lower()))


def build_cohort(
    profile: ValidatedProfile, table: ResponseTable, panel: list[str], name: str, label: str, data_files: dict[str, str]
) -> UploadedCohort:
    """Join a validated expression profile and response table (see the module docstring for the rules)."""
    dropped, notes = list(table.dropped), list(table.notes)
    pairs = _matched_samples(table.pairs, profile.expression.index, dropped, notes)
    drugs = sorted(pairs["drug"].unique())
    given = pd.DataFrame(
        {
            "drug": drugs,
            "smiles": [table.own_smiles.get(d) for d in drugs],
            "gdsc_drug_id": [table.gdsc_drug_ids.get(d) for d in drugs],
        }
    )
    smiles, sources, gdsc_names, unmatched = resolve_drug_structures(given)
    unreadable = [d for d in unmatched if d in table.own_smiles]
    if unreadable:
        dropped.append(
            "Drugs whose SMILES RDKit could not read: "
            + name_list([f"{d} ({table.own_smiles[d]})" for d in unreadable], 10)
            + "."
        )
    biologics = [d for d in unmatched if d not in table.own_smiles and is_biologic(d)]
    if biologics:
        dropped.append(
            "Antibodies and other biologics, which these models cannot encode (they read a small molecule's "
            f"structure, and a protein has none they can use): {name_list(biologics, 10)}."
        )
    unknown = [d for d in unmatched if d not in table.own_smiles and d not in biologics]
    if unknown:
        dropped.append(
            f"Drugs without a structure (not found in the GDSC catalogue by name and the table gives "
            f"neither a SMILES nor a GDSC drug id; add a smiles or gdsc_drug_id column): "
            f"{name_list(unknown, 10)}."
        )
    pairs = pairs[~pairs["drug"].isin(unmatched)]
    spread = pairs.groupby("drug")["value"].nunique()
    constant = sorted(spread.index[spread < 2])
    if constant:
        dropped.append(
            f"Drugs with the same response in every sample, or measured in one sample only (nothing to "
            f"learn about differences between organoids): {name_list(constant, 10)}."
        )
    pairs = pairs[~pairs["drug"].isin(constant)].reset_index(drop=True)
    _refuse_too_small(pairs, dropped)

    samples = sorted(pairs["sample"].unique())
    expression, gene_notes = _complete_panel(profile.expression.loc[samples], panel)
    kept = sorted(pairs["drug"].unique())
    cohort = Cohort(
        name=name,
        responses=pairs.assign(metric=table.metric.key),
        drug_smiles={d: smiles[d] for d in kept},
        metric=table.metric.key,
        lower_is_sensitive=True,
        provenance=(
            f"{label}: uploaded by a user in one session ({len(samples)} samples x {len(kept)} drugs, "
            f"{table.metric.label}); the files are identified by their SHA-256 only."
        ),
        expression=expression,
        drug_gdsc_names={d: gdsc_names[d] for d in kept},
        data_files=data_files,
        response_unit=table.unit,
    )
    structures = pd.DataFrame(
        {
            "drug": kept,
            "structure from": [_source_label(sources[d]) for d in kept],
            "GDSC name": [gdsc_names[d] for d in kept],
        }
    )
    check = CohortCheck(
        label,
        table.unit,
        len(samples),
        len(kept),
        len(pairs),
        profile.check,
        table.file_format,
        table.columns,
        structures,
        dropped,
        notes + gene_notes,
    )
    return UploadedCohort(cohort, check)


def _matched_samples(pairs: pd.DataFrame, expressed: pd.Index, dropped: list[str], notes: list[str]) -> pd.DataFrame:
    screened = pd.Index(pairs["sample"].unique())
    only_screened = screened.difference(expressed)
    only_expressed = expressed.difference(screened)
    if len(only_screened) == len(screened):
        folded = {str(s).lower() for s in expressed} & {str(s).lower() for s in screened}
        hint = (
            f" {len(folded)} would match if upper and lower case were ignored; spell them the same way in both "
            "files."
            if folded
            else " Use the same sample names in both files."
        )
        raise UploadError(
            f"No sample of the response table ({name_list(screened)}) has expression in the expression "
            f"file ({name_list(expressed)}).{hint}"
        )
    if len(only_screened):
        dropped.append(f"Samples in the response table without expression: {name_list(only_screened, 10)}.")
    if len(only_expressed):
        notes.append(
            f"Samples with expression but no responses, not used for training: " f"{name_list(only_expressed, 10)}."
        )
    return pairs[pairs["sample"].isin(expressed)]


def _refuse_too_small(pairs: pd.DataFrame, dropped: list[str]) -> None:
    n_samples, n_drugs = pairs["sample"].nunique(), pairs["drug"].nunique()
    problems = []
    if n_samples < MIN_SAMPLES:
        problems.append(f"{n_samples} sample(s) (at least {MIN_SAMPLES} are needed to cross-validate over organoids)")
    if n_drugs < MIN_DRUGS:
        problems.append(f"{n_drugs} drug(s) (at least {MIN_DRUGS} needed)")
    if len(pairs) < MIN_PAIRS:
        problems.append(f"{len(pairs)} sample-drug pairs (at least {MIN_PAIRS} needed)")
    if problems:
        left_out = f" Left out: {' '.join(dropped)}" if dropped else ""
        raise UploadError(f"Too little is left to train on: {'; '.join(problems)}.{left_out}")


def _complete_panel(expression: pd.DataFrame, panel: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Expression over exactly the panel genes, gaps filled (see the module docstring); the notes say how many."""
    table = expression.reindex(columns=list(dict.fromkeys(panel)))
    nowhere = table.columns[table.isna().all()]
    n_gaps = int(table.drop(columns=nowhere).isna().sum().sum())
    table = table.fillna(table.mean())
    table = table.T.fillna(table.mean(axis=1)).T
    notes = []
    if n_gaps:
        notes.append(f"{n_gaps} missing value(s) of panel genes were set to the gene's mean over the other samples.")
    if len(nowhere):
        notes.append(
            f"{len(nowhere)} of the {table.shape[1]} panel genes were measured in no sample "
            f"(e.g. {name_list(nowhere)}); they were set to each sample's average level, which the models "
            "read as uninformative."
        )
    return table.astype("float32"), notes


def _source_label(source: str) -> str:
    """'own_file (GDSC match: name)' -> a short phrase for the report table."""
    origin = source.split(" ")[0]
    return {
        "own_file": "SMILES in the table",
        "gdsc": "GDSC catalogue (by name)",
        "paper_smiles": "Prasse et al.'s GDSC1 SMILES (by name)",
    }.get(origin, origin)
