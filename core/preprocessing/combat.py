"""ComBat batch correction whose fitted parameters can be stored and re-applied to new samples.

Prasse et al. fit ComBat on the pre-training (GDSC) and training samples only; test samples and later
uploads must be corrected with those stored parameters, never by refitting (refitting would let the
test samples shape the correction). pycombat's ``Combat`` estimates the parameters (parametric
empirical Bayes, Johnson et al. 2007), but its ``transform`` insists on seeing every fitted batch at
once, so a single new sample cannot be corrected with it. The apply step is therefore implemented
here from the parameters pycombat fitted; the tests check that it matches pycombat's own transform.

Per gene ``g`` and batch ``b`` the stored parameters are the grand mean ``alpha_g`` (batch means
weighted by batch size), the pooled within-batch variance ``sigma2_g``, and the empirical-Bayes
batch location ``gamma*_bg`` and squared scale ``delta*2_bg``. A sample ``x`` of batch ``b`` becomes
``((x - alpha) / sigma - gamma*_b) / delta*_b * sigma + alpha``.

Constant genes break ComBat: a gene constant over all samples has pooled variance 0, and pycombat's
0/0 then turns every gene's parameters into NaN (the empirical-Bayes priors pool over genes); a gene
constant within one batch has a within-batch variance of 0, an estimate only the prior papers over.
As in sva's ComBat, genes constant (variance <= 1e-12) within any fitted batch are therefore left out
of the fit and passed through unchanged: their parameters are stored as the identity
(``alpha=0, sigma2=1, gamma*=0, delta*2=1``) and they are listed in ``unadjusted_genes``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pycombat import Combat

FORMAT = "combat-harmoniser-v1"
_CONSTANT_VARIANCE = 1e-12  # within-batch variance at or below this counts as constant


class ComBatHarmoniser:
    """Fit ComBat on reference + training samples, then correct samples of a fitted batch one by one."""

    def __init__(self, convergence: float = 1e-4):
        self.convergence = convergence
        self.genes: list[str] = []
        self.batches: list[str] = []
        self.batch_sizes: dict[str, int] = {}
        self.unadjusted_genes: list[str] = []
        self._grand_mean = np.empty(0)
        self._pooled_var = np.empty(0)
        self._gamma_star = np.empty((0, 0))
        self._delta_star_sq = np.empty((0, 0))

    @property
    def is_fitted(self) -> bool:
        return bool(self.genes)

    def fit(self, expression: pd.DataFrame, batches: pd.Series | list[str]) -> "ComBatHarmoniser":
        """Estimate the ComBat parameters from ``expression`` (samples x genes) and its batch labels.

        ``batches`` is a list in row order, or a Series indexed by the sample names. At least two
        batches with at least two samples each are needed.
        """
        labels = _batch_labels(expression, batches)
        values = _finite_values(expression)
        names, sizes = np.unique(labels, return_counts=True)
        _check_batch_sizes(names, sizes)
        constant = _constant_within_a_batch(values, labels, names)
        if constant.all():
            raise ValueError("Every gene is constant within some batch; ComBat has nothing to adjust.")
        combat = Combat(mode="p", conv=self.convergence).fit(values[:, ~constant], labels)

        n_genes, n_batches = values.shape[1], len(names)
        self.genes = [str(gene) for gene in expression.columns]
        self.batches = [str(name) for name in combat.batches_]
        self.batch_sizes = {str(name): int(size) for name, size in zip(names, sizes)}
        self.unadjusted_genes = [gene for gene, flag in zip(self.genes, constant) if flag]
        self._grand_mean = _fill(np.zeros(n_genes), ~constant, combat.intercept_)
        self._pooled_var = _fill(np.ones(n_genes), ~constant, combat.epsilon_)
        self._gamma_star = _fill(np.zeros((n_batches, n_genes)), ~constant, combat.gamma_)
        self._delta_star_sq = _fill(np.ones((n_batches, n_genes)), ~constant, combat.delta_sq_)
        return self

    def transform(self, expression: pd.DataFrame, batch: str) -> pd.DataFrame:
        """Correct samples that all belong to the fitted batch ``batch`` with the stored parameters.

        Works for any number of rows (a single sample included) and never refits. Columns may come in
        any order but must be exactly the fitted genes; the output follows the fitted gene order and
        is float32.
        """
        return self._adjust(expression, batch, reference=None)

    def transform_to_reference(self, expression: pd.DataFrame, batch: str, reference: str) -> pd.DataFrame:
        """Move samples of ``batch`` onto the distribution of the fitted batch ``reference``.

        Reference-batch ComBat (sva's ``ref.batch``): the batch effect of ``batch`` is removed and that of
        ``reference`` put back, so reference samples need no correction at all. This keeps a model
        pre-trained on the reference (GDSC) independent of which target samples were in the fit.
        """
        return self._adjust(expression, batch, reference)

    def _adjust(self, expression: pd.DataFrame, batch: str, reference: str | None) -> pd.DataFrame:
        self._check_fitted()
        row = self._batch_row(batch)
        values = _finite_values(self._aligned(expression))
        scale = np.sqrt(self._pooled_var)
        standard = (values - self._grand_mean) / scale
        adjusted = (standard - self._gamma_star[row]) / np.sqrt(self._delta_star_sq[row])
        if reference is not None:
            ref_row = self._batch_row(reference)
            adjusted = adjusted * np.sqrt(self._delta_star_sq[ref_row]) + self._gamma_star[ref_row]
        corrected = adjusted * scale + self._grand_mean
        return pd.DataFrame(corrected.astype(np.float32), index=expression.index, columns=self.genes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters (plain lists of floats and strings) for storing in a model bundle."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "convergence": self.convergence,
            "genes": list(self.genes),
            "batches": list(self.batches),
            "batch_sizes": dict(self.batch_sizes),
            "unadjusted_genes": list(self.unadjusted_genes),
            "grand_mean": self._grand_mean.tolist(),
            "pooled_variance": self._pooled_var.tolist(),
            "gamma_star": self._gamma_star.tolist(),
            "delta_star_squared": self._delta_star_sq.tolist(),
        }

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> "ComBatHarmoniser":
        """Rebuild a fitted harmoniser from :meth:`to_dict` output, checking that the shapes agree."""
        if params.get("format") != FORMAT:
            raise ValueError(f"Not a ComBat parameter set of format {FORMAT!r}: got {params.get('format')!r}")
        harmoniser = cls(convergence=float(params["convergence"]))
        harmoniser.genes = [str(gene) for gene in params["genes"]]
        harmoniser.batches = [str(batch) for batch in params["batches"]]
        harmoniser.batch_sizes = {str(k): int(v) for k, v in params["batch_sizes"].items()}
        harmoniser.unadjusted_genes = [str(gene) for gene in params["unadjusted_genes"]]
        harmoniser._grand_mean = np.asarray(params["grand_mean"], dtype=np.float64)
        harmoniser._pooled_var = np.asarray(params["pooled_variance"], dtype=np.float64)
        harmoniser._gamma_star = np.asarray(params["gamma_star"], dtype=np.float64)
        harmoniser._delta_star_sq = np.asarray(params["delta_star_squared"], dtype=np.float64)
        harmoniser._check_shapes()
        return harmoniser

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("ComBatHarmoniser is not fitted; call fit() or from_dict() first.")

    def _check_shapes(self) -> None:
        n_genes, n_batches = len(self.genes), len(self.batches)
        expected = {
            "grand_mean": (self._grand_mean.shape, (n_genes,)),
            "pooled_variance": (self._pooled_var.shape, (n_genes,)),
            "gamma_star": (self._gamma_star.shape, (n_batches, n_genes)),
            "delta_star_squared": (self._delta_star_sq.shape, (n_batches, n_genes)),
        }
        wrong = {name: shapes for name, shapes in expected.items() if shapes[0] != shapes[1]}
        if wrong:
            raise ValueError(f"ComBat parameters have inconsistent shapes (got, expected): {wrong}")

    def _batch_row(self, batch: str) -> int:
        if batch not in self.batches:
            raise ValueError(
                f"Unknown batch {batch!r}: ComBat was fitted on batches {self.batches}. Samples of a new "
                "batch cannot be corrected with stored parameters; refit including that batch."
            )
        return self.batches.index(batch)

    def _aligned(self, expression: pd.DataFrame) -> pd.DataFrame:
        """Reorder columns to the fitted genes; refuse any other gene set."""
        if expression.columns.has_duplicates:
            raise ValueError("The expression matrix has duplicated gene columns; collapse them first.")
        columns = set(map(str, expression.columns))
        missing = [gene for gene in self.genes if gene not in columns]
        unexpected = sorted(columns.difference(self.genes))
        if missing or unexpected:
            raise ValueError(
                f"Genes differ from those ComBat was fitted on ({len(self.genes)} genes): "
                f"{len(missing)} missing {_preview(missing)}, {len(unexpected)} unexpected {_preview(unexpected)}."
            )
        return expression.rename(columns=str).loc[:, self.genes]


def _batch_labels(expression: pd.DataFrame, batches: pd.Series | list[str]) -> np.ndarray:
    """Batch labels as strings in the row order of ``expression``."""
    if isinstance(batches, pd.Series):
        missing = expression.index.difference(batches.index)
        if len(missing) > 0:
            raise ValueError(f"No batch label for {len(missing)} sample(s): {_preview(missing.tolist())}")
        if batches.index.has_duplicates:
            raise ValueError("The batch Series has duplicated sample names.")
        batches = batches.reindex(expression.index).tolist()
    if len(batches) != len(expression):
        raise ValueError(f"Got {len(batches)} batch labels for {len(expression)} samples.")
    return np.asarray([str(label) for label in batches])


def _check_batch_sizes(names: np.ndarray, sizes: np.ndarray) -> None:
    if len(names) < 2:
        raise ValueError(f"ComBat needs at least two batches; got {names.tolist()}.")
    small = {str(name): int(size) for name, size in zip(names, sizes) if size < 2}
    if small:
        raise ValueError(f"Every batch needs at least two samples to estimate its variance: {small}.")


def _finite_values(expression: pd.DataFrame) -> np.ndarray:
    values = expression.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("The expression matrix has missing or infinite values; ComBat needs complete data.")
    return values


def _constant_within_a_batch(values: np.ndarray, labels: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Genes whose variance is (numerically) zero inside at least one batch."""
    variances = np.vstack([values[labels == name].var(axis=0) for name in names])
    return (variances <= _CONSTANT_VARIANCE).any(axis=0)


def _fill(identity: np.ndarray, columns: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Place fitted parameters in the adjusted gene columns; the rest keep the identity values."""
    identity[..., columns] = fitted
    return identity


def _preview(items: list, limit: int = 10) -> str:
    shown = ", ".join(map(str, items[:limit]))
    return "[" + shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "") + "]"
