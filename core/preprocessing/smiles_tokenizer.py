"""SMILES -> integer sequences for sequence models (token-level, lossless).

Tokens are chemically meaningful units rather than characters, so ``Cl`` is never read as
carbon + ``l`` and a bracket atom such as ``[C@@H]`` or ``[nH+]`` (element, isotope, chirality,
hydrogens, charge) stays one symbol. The tokenizer is total: a character that matches no SMILES
rule becomes its own one-character token, so joining the tokens always gives back the input exactly.
The vocabulary does not canonicalise; pass it canonical SMILES (``core.data.structures.canonical_smiles``)
so that one drug always gives one sequence.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
PAD_ID = 0
UNK_ID = 1
VOCABULARY_FORMAT = "pdo-smiles-vocabulary/1"

# Order matters: longer alternatives first (Cl/Br before C/B, %nn before a single digit).
_TOKEN_PATTERN = re.compile(
    r"""
    \[[^\[\]]*\]          # bracket atom: [nH], [C@@H], [Pt+2], [13CH3], [O-]
    | Br | Cl             # the two-letter organic-subset elements
    | [BCNOPSFI]          # aliphatic organic-subset atoms
    | [bcnops]            # aromatic atoms
    | \*                  # wildcard atom
    | %\([0-9]+\)         # ring bond >= 100: %(123)
    | %[0-9]{2}           # ring bond 10-99: %10
    | [0-9]               # ring bond 0-9
    | [=\#$:~/\\.-]       # bonds (incl. cis/trans / and \) and the fragment separator .
    | [()]                # branches
    | @@                  # double stereo mark outside brackets (extended SMILES); @ falls to the next rule
    | .                   # anything else: one token per character, keeps the tokenizer lossless
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; ``"".join(tokenize(s)) == s`` for every string."""
    return _TOKEN_PATTERN.findall(smiles)


def max_token_length(smiles: Iterable[str]) -> int:
    """Number of tokens of the longest SMILES (the ``max_length`` that never truncates)."""
    return max((len(tokenize(s)) for s in smiles), default=0)


class SmilesVocabulary:
    """Token <-> id mapping built from training SMILES; id 0 is ``<pad>``, id 1 is ``<unk>``."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if list(tokens[:2]) != [PAD_TOKEN, UNK_TOKEN]:
            raise ValueError(f"the first two tokens must be {PAD_TOKEN!r} and {UNK_TOKEN!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("duplicate tokens in vocabulary")
        self.tokens: tuple[str, ...] = tuple(tokens)
        self._ids = {token: index for index, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, smiles: Iterable[str], min_count: int = 1) -> SmilesVocabulary:
        """Vocabulary of tokens seen at least ``min_count`` times, most frequent first (ties by name).

        The order only has to be deterministic so that the same training set gives the same ids.
        """
        counts = Counter(token for s in smiles for token in tokenize(s))
        kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        return cls([PAD_TOKEN, UNK_TOKEN, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SmilesVocabulary) and self.tokens == other.tokens

    def token_id(self, token: str) -> int:
        """Id of a token; ``UNK_ID`` for tokens not seen in training."""
        return self._ids.get(token, UNK_ID)

    def encode(self, smiles: Sequence[str], max_length: int) -> np.ndarray:
        """``(len(smiles), max_length)`` int32 ids, right-padded with ``PAD_ID``.

        Truncation rule: a SMILES longer than ``max_length`` tokens keeps its first ``max_length``
        tokens (the tail is dropped); choose ``max_length`` with :func:`max_token_length` to avoid it.
        """
        if max_length < 1:
            raise ValueError("max_length must be >= 1")
        ids = np.full((len(smiles), max_length), PAD_ID, dtype=np.int32)
        for row, s in enumerate(smiles):
            encoded = [self.token_id(token) for token in tokenize(s)[:max_length]]
            ids[row, : len(encoded)] = encoded
        return ids

    def decode(self, ids: np.ndarray) -> list[str]:
        """SMILES strings back from ``encode`` output; pads are dropped, unknowns read ``<unk>``."""
        rows = np.atleast_2d(np.asarray(ids))
        return ["".join(self.tokens[i] for i in row if i != PAD_ID) for row in rows.tolist()]

    def to_dict(self) -> dict[str, object]:
        """JSON-safe state for model bundles."""
        return {"format": VOCABULARY_FORMAT, "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, state: dict[str, object]) -> SmilesVocabulary:
        """Rebuild from :meth:`to_dict`."""
        if state.get("format") != VOCABULARY_FORMAT:
            raise ValueError(f"not a SMILES vocabulary: format={state.get('format')!r}")
        return cls(list(state["tokens"]))  # type: ignore[arg-type]

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SmilesVocabulary:
        """Read a vocabulary written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
