"""The one rule that turns uploaded profiles into what the models read, used alike by the upload page, the fine-tune
page, the HTML report and ``pdo-rank``, so that a file ranks the same everywhere.

- Profiles from one lab are aligned as one cohort onto the reference organoids
  (:func:`core.labshift.align.align_to_reference`): by default when a file holds at least :data:`MIN_COHORT_SIZE`
  profiles, and from :data:`MIN_TO_ALIGN` on when the person says they come from one lab (with fewer than
  :data:`MIN_COHORT_SIZE` the alignment is rougher, and the explanation says so).
- Fewer, or profiles from several labs: each is read on its own, as it is; a single profile cannot be aligned
  gene-wise, so the out-of-range check says whether it looks like the reference organoids.
- Every profile gets its out-of-range verdict (:func:`core.labshift.range_check.check_profile`).

Both sizes come from ``training_scripts.studies.labshift_study`` (README, "Another lab's organoids"): on simulated labs, the
Spearman r between each organoid's aligned and true drug ranking was 0.45 with 2 organoids, 0.63 with 3, 0.69 with 5,
0.74 with 8 and 0.77 with 11 (no alignment: 0.24 for a moderate lab shift, -0.04 for one as large as GDSC's); 8 is
the smallest size within 10 % of the plateau.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.labshift.align import align_to_reference
from core.labshift.range_check import RangeVerdict, check_profile
from core.labshift.reference import ReferenceProfile

MIN_COHORT_SIZE = 8  # aligned by default from here on
MIN_TO_ALIGN = 3  # aligned on request from here on: still far better than no alignment for another lab
ALIGNED, SEPARATE = "aligned as one cohort", "each profile on its own"


@dataclass(frozen=True)
class PreparedProfiles:
    """What the models read (``expression``: samples x genes, NaN = missing), how it was made, and each verdict."""

    expression: pd.DataFrame
    aligned: bool
    explanation: str
    verdicts: dict[str, RangeVerdict]

    @property
    def alignment(self) -> str:
        return ALIGNED if self.aligned else SEPARATE

    def out_of_range(self) -> list[str]:
        return [sample for sample, verdict in self.verdicts.items() if not verdict.in_range]


def aligns_as_cohort(n_samples: int, same_lab: bool | None) -> bool:
    """The rule: unknown origin, align from :data:`MIN_COHORT_SIZE` profiles; one lab, from :data:`MIN_TO_ALIGN`;
    several labs, never."""
    if same_lab is None:
        return n_samples >= MIN_COHORT_SIZE
    return same_lab and n_samples >= MIN_TO_ALIGN


def prepare_profiles(
    expression: pd.DataFrame, reference: ReferenceProfile, same_lab: bool | None = None
) -> PreparedProfiles:
    """Apply the rule to ``expression`` (validated log2 profiles, samples x genes) and check every profile.

    ``same_lab``: True when the person says the profiles come from one lab and batch, False when they do not,
    None when unknown (then a file of at least :data:`MIN_COHORT_SIZE` profiles counts as one lab's cohort).
    """
    n = len(expression)
    aligned = aligns_as_cohort(n, same_lab)
    model_input = align_to_reference(expression, reference) if aligned else expression
    verdicts = {
        str(sample): check_profile(str(sample), model_input.loc[sample], expression.loc[sample], reference, aligned)
        for sample in expression.index
    }
    return PreparedProfiles(model_input, aligned, _explanation(n, same_lab, aligned, reference), verdicts)


def _explanation(n: int, same_lab: bool | None, aligned: bool, reference: ReferenceProfile) -> str:
    onto = f"the {reference.n_samples} reference organoids"
    if aligned:
        rough = (
            f" With fewer than {MIN_COHORT_SIZE} organoids each gene's mean and spread in your lab are rough estimates, "
            "so the alignment is approximate: add organoids of the same lab and batch where you can."
            if n < MIN_COHORT_SIZE
            else ""
        )
        return (
            f"The {n} profiles were aligned as one lab's cohort: every gene was standardised within them and given "
            f"its mean and spread among {onto}, which removes what your lab, protocol and platform add to each "
            f"gene.{rough}"
        )
    if same_lab and n < MIN_TO_ALIGN:
        return (
            f"{n} profile{'s are' if n > 1 else ' is'} too few to align as a cohort (at least {MIN_TO_ALIGN} from "
            f"one lab are needed, {MIN_COHORT_SIZE} for a good estimate of each gene's mean and spread): each is read "
            f"as it is, against {onto}."
        )
    if same_lab is False:
        return f"Each profile is read on its own, as it is, against {onto} (not aligned as a cohort)."
    return f"Each profile is read on its own, as it is, against {onto}."
