"""Steps every loader shares: gene symbols to current HGNC, drug names to structures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from core.data.drugs import GdscDrugCatalogue
from core.data.genes import GeneMapper
from core.data.structures import canonical_smiles


def harmonise_gene_columns(expression: pd.DataFrame) -> pd.DataFrame:
    """Rename columns to approved HGNC symbols, drop unknown/ambiguous ones, average collisions.

    Two old symbols can now name one gene; their values are averaged rather than one being dropped
    arbitrarily. The result is float32, columns sorted for a stable order.
    """
    result = GeneMapper.from_shared_data().map_identifiers(list(expression.columns))
    kept = expression[list(result.mapping)]
    kept.columns = [result.mapping[c] for c in kept.columns]
    if kept.columns.has_duplicates:
        kept = kept.T.groupby(level=0).mean().T
    return kept.sort_index(axis=1).astype("float32")


def resolve_drug_structures(
    drugs: pd.DataFrame,
) -> tuple[dict[str, str | None], dict[str, str], dict[str, str | None], list[str]]:
    """Structures for a dataset's drugs.

    ``drugs`` has a ``drug`` column and optionally ``gdsc_drug_id``, ``smiles`` (the dataset's own
    structure file) and ``inchikey``. Returns drug -> canonical SMILES (None if none is usable),
    drug -> where the SMILES came from, drug -> GDSC catalogue name (cross-dataset key), and the list
    of drugs with no usable structure.
    """
    catalogue = GdscDrugCatalogue.from_shared_data()
    smiles: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    gdsc_names: dict[str, str | None] = {}
    for row in drugs.to_dict("records"):
        match = catalogue.match(
            row["drug"], _clean(row.get("gdsc_drug_id")), _clean(row.get("smiles")), _clean(row.get("inchikey"))
        )
        canonical = canonical_smiles(match.smiles) if match.smiles else None
        smiles[row["drug"]] = canonical
        sources[row["drug"]] = f"{match.smiles_source} (GDSC match: {match.gdsc_match})"
        gdsc_names[row["drug"]] = match.gdsc_name
    unmatched = sorted(d for d, s in smiles.items() if s is None)
    return smiles, sources, gdsc_names, unmatched


def file_sha256(path: Path) -> str:
    """Hash recorded in provenance so a model manifest can say exactly which file it was built from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _clean(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None
