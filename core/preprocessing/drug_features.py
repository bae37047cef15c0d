"""Drug structure -> fixed-length numeric descriptor vector (RDKit 2D + Mordred 2D).

The same drug arrives from several tables in different SMILES spellings (salts, other atom orders),
so everything is keyed by :func:`core.data.structures.canonical_smiles`, and descriptors are computed on
the parent structure it defines (salts stripped, metal complexes kept whole; the rules are there).
Descriptors are cached on disk per molecule, because Mordred is the slow step and the drug set barely
changes between runs. Platinum drugs keep their metal, so Mordred cannot compute 570-780 of its 1,613
descriptors for them (see :class:`DescriptorStandardiser`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mordred
import numpy as np
import pandas as pd
import rdkit
from mordred import descriptors as mordred_descriptors
from rdkit import Chem
from rdkit.Chem import Descriptors

from core.config import cache_dir
from core.data.structures import canonical_smiles, parent_molecule, parse_smiles

CACHE_SUBDIR = "drug_descriptors"
# Bump when the way descriptors are computed changes without an rdkit/mordred version change.
CACHE_SCHEMA = 1
STANDARDISER_FORMAT = "pdo-descriptor-standardiser/1"


# --------------------------------------------------------------------------- descriptors


@lru_cache(maxsize=1)
def _mordred_calculator() -> mordred.Calculator:
    """Mordred 2D calculator, built once per process (building it walks all descriptor classes)."""
    return mordred.Calculator(mordred_descriptors, ignore_3D=True)


def descriptor_versions() -> dict[str, str]:
    """Library versions the descriptor values depend on (cache key and standardiser check)."""
    return {"rdkit": rdkit.__version__, "mordred": version("mordredcommunity")}


@lru_cache(maxsize=1)
def descriptor_columns() -> tuple[str, ...]:
    """Column names of the descriptor table, in order: ``rdkit_<name>`` then ``mordred_<name>``."""
    rdkit_names = [f"rdkit_{name}" for name, _ in Descriptors.descList]
    mordred_names = [f"mordred_{descriptor}" for descriptor in _mordred_calculator().descriptors]
    return tuple(rdkit_names + mordred_names)


def _as_float(value: Any) -> float:
    """Numeric value as float; Mordred error objects, strings and +-inf become NaN."""
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        number = float(value)
        return number if math.isfinite(number) else math.nan
    return math.nan


def rdkit_descriptor_matrix(mols: Sequence[Chem.Mol]) -> np.ndarray:
    """RDKit ``Descriptors.descList`` values, one row per molecule (float64, NaN where it fails)."""
    rows = []
    for mol in mols:
        values = Descriptors.CalcMolDescriptors(mol, missingVal=math.nan)
        rows.append([_as_float(values[name]) for name, _ in Descriptors.descList])
    return np.asarray(rows, dtype=np.float64).reshape(len(mols), len(Descriptors.descList))


def mordred_descriptor_matrix(mols: Sequence[Chem.Mol], n_jobs: int = 1) -> np.ndarray:
    """Mordred 2D values, one row per molecule (float64, NaN for Mordred's missing/error values).

    ``n_jobs > 1`` uses Mordred's own process pool; it only pays off for tens of molecules or more.
    """
    calculator = _mordred_calculator()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        results = calculator.map(list(mols), nproc=n_jobs, quiet=True)
        rows = [[_as_float(value) for value in result.values()] for result in results]
    return np.asarray(rows, dtype=np.float64).reshape(len(mols), len(calculator.descriptors))


@dataclass
class FeaturisationTimings:
    """Where :func:`compute_descriptors` spent its time (seconds), accumulated over calls."""

    parse_s: float = 0.0
    cache_read_s: float = 0.0
    rdkit_s: float = 0.0
    mordred_s: float = 0.0
    cache_write_s: float = 0.0
    n_cached: int = 0
    n_computed: int = 0


def _cache_path(smiles: str) -> Path:
    """File of one molecule's descriptor vector; the versions are part of the key."""
    key = json.dumps({"smiles": smiles, "schema": CACHE_SCHEMA, **descriptor_versions()}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return cache_dir() / CACHE_SUBDIR / f"{digest}.npy"


def _read_cached(smiles: str) -> np.ndarray | None:
    """Cached vector, or None if absent or unreadable / of the wrong length (then recomputed)."""
    path = _cache_path(smiles)
    if not path.is_file():
        return None
    try:
        vector = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return vector if vector.shape == (len(descriptor_columns()),) else None


def _write_cached(smiles: str, vector: np.ndarray) -> None:
    """Write atomically (temp file + rename) so parallel runs never see half a file."""
    path = _cache_path(smiles)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as tmp:
            np.save(tmp, vector.astype(np.float64), allow_pickle=False)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _canonical_unique(smiles: Iterable[str]) -> list[str]:
    """Canonical SMILES in first-seen order without duplicates; error listing unparsable inputs."""
    canonical, unparsable = [], []
    for raw in smiles:
        parsed = canonical_smiles(raw)
        if parsed is None:
            unparsable.append(raw)
        else:
            canonical.append(parsed)
    if unparsable:
        raise ValueError(f"{len(unparsable)} unparsable SMILES (filter with canonical_smiles first): {unparsable[:5]}")
    return list(dict.fromkeys(canonical))


def _compute_vectors(smiles: Sequence[str], n_jobs: int, timings: FeaturisationTimings) -> np.ndarray:
    """RDKit + Mordred descriptors for canonical SMILES, bypassing the cache."""
    mols = [parent_molecule(parse_smiles(s)) for s in smiles]
    start = time.perf_counter()
    rdkit_part = rdkit_descriptor_matrix(mols)
    timings.rdkit_s += time.perf_counter() - start
    start = time.perf_counter()
    mordred_part = mordred_descriptor_matrix(mols, n_jobs=n_jobs)
    timings.mordred_s += time.perf_counter() - start
    return np.hstack([rdkit_part, mordred_part])


def _cached_vectors(index: Sequence[str], timings: FeaturisationTimings) -> dict[str, np.ndarray | None]:
    """Cached vector per canonical SMILES, None where it has to be computed."""
    start = time.perf_counter()
    vectors = {s: _read_cached(s) for s in index}
    timings.cache_read_s += time.perf_counter() - start
    timings.n_cached += sum(v is not None for v in vectors.values())
    return vectors


_CACHE_WRITES = ContextVar("descriptor_cache_writes", default=True)


@contextmanager
def descriptor_cache_read_only() -> Iterator[None]:
    """Within this block (in this thread), newly computed descriptors are not written to the disk cache.

    For user uploads: a structure a person uploads must not outlive their session on the server's disk,
    while the public structures already cached are still read from it.
    """
    token = _CACHE_WRITES.set(False)
    try:
        yield
    finally:
        _CACHE_WRITES.reset(token)


def _computed_vectors(
    smiles: Sequence[str], n_jobs: int, use_cache: bool, timings: FeaturisationTimings
) -> dict[str, np.ndarray]:
    """Freshly computed vectors, written to the cache when it is in use and writable."""
    computed = dict(zip(smiles, _compute_vectors(smiles, n_jobs, timings)))
    timings.n_computed += len(computed)
    if use_cache and _CACHE_WRITES.get():
        start = time.perf_counter()
        for s, vector in computed.items():
            _write_cached(s, vector)
        timings.cache_write_s += time.perf_counter() - start
    return computed


def compute_descriptors(
    smiles: Iterable[str],
    n_jobs: int = 1,
    use_cache: bool = True,
    timings: FeaturisationTimings | None = None,
) -> pd.DataFrame:
    """Descriptor table (float64, NaN where a descriptor is undefined), indexed by canonical SMILES.

    Inputs are canonicalised first, so salt forms and different spellings of one drug share a row;
    duplicates are collapsed, first-seen order is kept. Raises ``ValueError`` on unparsable SMILES.
    Each molecule's vector is cached under ``cache_dir()/drug_descriptors``; one process by default.
    """
    timings = timings if timings is not None else FeaturisationTimings()
    start = time.perf_counter()
    index = _canonical_unique(smiles)
    timings.parse_s += time.perf_counter() - start

    vectors = _cached_vectors(index, timings) if use_cache else dict.fromkeys(index)
    missing = [s for s in index if vectors[s] is None]
    if missing:
        vectors.update(_computed_vectors(missing, n_jobs, use_cache, timings))

    columns = list(descriptor_columns())
    matrix = np.vstack([vectors[s] for s in index]) if index else np.empty((0, len(columns)))
    return pd.DataFrame(matrix, index=pd.Index(index, name="smiles"), columns=columns, dtype=np.float64)


# --------------------------------------------------------------------------- standardisation


class DescriptorStandardiser:
    """Column selection + z-scoring of descriptor tables, fitted on the *training* drugs only.

    ``fit`` drops columns that are constant, or missing (NaN) in more than ``max_missing_fraction``
    of the training drugs (default 0: any missing value drops the column), then stores the kept
    columns with their training mean and standard deviation (population SD, ddof=0, so the training
    drugs come out with exactly zero mean and unit SD).

    Missing-value rule: a kept column that is NaN for a drug (a new drug at ``transform`` time, or a
    training drug when ``max_missing_fraction > 0``) is imputed with the training mean, i.e. 0 after
    scaling, and a ``UserWarning`` names the drugs, once per standardiser for the same drugs (a training run
    encodes the same drugs for every fold and split: ten identical warnings told nothing new). ``strict=True``
    raises instead. A kept column
    that is absent from the table altogether raises ``KeyError`` (different descriptor set/version).

    With the default rule a few atypical training drugs decide the column set: on the 416 GDSC
    structures 890 of 1,830 columns are kept, 1,351 without cisplatin and oxaliplatin (which lack
    570-780 Mordred values each); ``max_missing_fraction`` trades columns against imputation.
    """

    def __init__(self, max_missing_fraction: float = 0.0) -> None:
        if not 0.0 <= max_missing_fraction < 1.0:
            raise ValueError("max_missing_fraction must be in [0, 1)")
        self.max_missing_fraction = max_missing_fraction
        self.columns: list[str] = []
        self.mean: np.ndarray = np.empty(0)
        self.std: np.ndarray = np.empty(0)
        self.versions: dict[str, str] = {}
        self._reported: set[tuple[str, ...]] = set()  # drug sets already warned about (see _impute)

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` or ``from_dict`` has set the columns."""
        return bool(self.columns)

    def fit(self, descriptors: pd.DataFrame) -> DescriptorStandardiser:
        """Choose columns and learn mean/SD from the training drugs' descriptor table."""
        if descriptors.empty:
            raise ValueError("cannot fit on an empty descriptor table")
        values = descriptors.to_numpy(dtype=np.float64)
        missing_fraction = np.isnan(values).mean(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns; dropped below anyway
            mean = np.nanmean(values, axis=0)
            std = np.nanstd(values, axis=0)
            # max == min, not std == 0: float rounding gives identical values a tiny non-zero SD.
            varies = np.nanmax(values, axis=0) > np.nanmin(values, axis=0)
        keep = (missing_fraction <= self.max_missing_fraction) & varies & (std > 0) & np.isfinite(std)
        if not keep.any():
            raise ValueError("no descriptor column is both non-constant and complete enough in the training drugs")
        self.columns = [str(c) for c in descriptors.columns[keep]]
        self.mean, self.std = mean[keep], std[keep]
        self.versions = descriptor_versions()
        return self

    def transform(self, descriptors: pd.DataFrame, strict: bool = False) -> pd.DataFrame:
        """Kept columns, z-scored with the training statistics, as float32 (same index as the input)."""
        if not self.is_fitted:
            raise RuntimeError("DescriptorStandardiser is not fitted")
        absent = [c for c in self.columns if c not in descriptors.columns]
        if absent:
            raise KeyError(f"{len(absent)} descriptor columns used in training are absent, e.g. {absent[:5]}")
        values = descriptors[self.columns].to_numpy(dtype=np.float64)
        values = self._impute(values, descriptors.index, strict)
        scaled = (values - self.mean) / self.std
        return pd.DataFrame(scaled.astype(np.float32), index=descriptors.index, columns=self.columns)

    def _impute(self, values: np.ndarray, index: pd.Index, strict: bool) -> np.ndarray:
        """Replace NaN with the training mean; warn (or raise if strict) naming the affected drugs."""
        holes = np.isnan(values)
        if not holes.any():
            return values
        counts = holes.sum(axis=1)
        affected = dict(sorted((str(drug), int(n)) for drug, n in zip(index, counts) if n))  # same drugs, same text
        shown = dict(list(affected.items())[:10])
        message = f"missing descriptor values in {len(affected)} drugs (drug -> number of columns): {shown}"
        if strict:
            raise ValueError(message)
        if tuple(affected) not in self._reported:
            self._reported.add(tuple(affected))
            warnings.warn(f"{message}; imputed with the training mean", UserWarning, stacklevel=3)
        return np.where(holes, self.mean, values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state for model bundles."""
        if not self.is_fitted:
            raise RuntimeError("DescriptorStandardiser is not fitted")
        return {
            "format": STANDARDISER_FORMAT,
            "max_missing_fraction": self.max_missing_fraction,
            "versions": dict(self.versions),
            "columns": list(self.columns),
            "mean": [float(x) for x in self.mean],
            "std": [float(x) for x in self.std],
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DescriptorStandardiser:
        """Rebuild from :meth:`to_dict`; warns if the stored rdkit/mordred versions differ from ours."""
        if state.get("format") != STANDARDISER_FORMAT:
            raise ValueError(f"not a descriptor standardiser state: format={state.get('format')!r}")
        lengths = {len(state["columns"]), len(state["mean"]), len(state["std"])}
        if len(lengths) != 1:
            raise ValueError("columns, mean and std have different lengths")
        standardiser = cls(max_missing_fraction=float(state["max_missing_fraction"]))
        standardiser.columns = list(state["columns"])
        standardiser.mean = np.asarray(state["mean"], dtype=np.float64)
        standardiser.std = np.asarray(state["std"], dtype=np.float64)
        standardiser.versions = dict(state["versions"])
        if standardiser.versions != descriptor_versions():
            warnings.warn(
                f"descriptor standardiser was fitted with {standardiser.versions}, "
                f"running {descriptor_versions()}: descriptor values may differ",
                UserWarning,
                stacklevel=2,
            )
        return standardiser
