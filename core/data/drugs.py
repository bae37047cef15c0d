"""Join drug names across datasets and find each drug's structure.

Datasets name the same compound differently ("5-FU", "5-Fluorouracil", "17-AAG (Tanespimycin)",
"Gemcitabin"). A drug is matched to the GDSC catalogue by GDSC drug id where the file has one, else by
a normalised name (case, punctuation, salt words, parenthesised aliases, a short list of known
synonyms). Every match records how it was made, and drugs that match nothing are reported.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from core.config import data_root

_SALT_WORDS = (
    "dihydrochloride",
    "hydrochloride",
    "hcl",
    "dimesylate",
    "mesylate",
    "tosylate",
    "besylate",
    "sulfate",
    "maleate",
    "lactate",
    "citrate",
    "fumarate",
    "tartrate",
    "phosphate",
    "malate",
    "acetate",
    "sodium",
    "potassium",
)
_SALT_PATTERN = re.compile(r"\b(" + "|".join(_SALT_WORDS) + r")\b")

# Spellings and code names seen in the shared datasets, mapped to the GDSC catalogue's normalised name.
KNOWN_SYNONYMS: dict[str, str] = {
    "5fu": "5fluorouracil",
    "gemcitabin": "gemcitabine",
    "etoposid": "etoposide",
    "disulfuram": "disulfiram",
    "17aag": "tanespimycin",
    "azd6244": "selumetinib",
    "pd0332991": "palbociclib",
    "zd6474": "vandetanib",
    "tki258": "dovitinib",
    "pf2341066": "crizotinib",
    "ly317615": "enzastaurin",
    # Nutlin-3a is the active (-) enantiomer of racemic Nutlin-3; GDSC only holds Nutlin-3's
    # structure without stereo centres, which is the same 2D graph.
    "nutlin3a": "nutlin3",
}


def normalise_drug_name(name: str) -> str:
    """Lower-case ASCII letters and digits only, salt words and parenthesised parts removed."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\([^)]*\)", " ", text)
    text = _SALT_PATTERN.sub(" ", text)
    return re.sub(r"[^a-z0-9]", "", text)


def name_keys(name: str) -> list[str]:
    """Every key a name can be matched by: itself, its parenthesised aliases, their synonyms."""
    parts = [name] + re.findall(r"\(([^)]*)\)", str(name))
    keys: list[str] = []
    for part in parts:
        key = normalise_drug_name(part)
        if len(key) < 2:  # "(-)" or "(+)" stereo markers carry no name
            continue
        keys.append(key)
        if key in KNOWN_SYNONYMS:
            keys.append(KNOWN_SYNONYMS[key])
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class DrugMatch:
    """A dataset drug resolved against the GDSC catalogue."""

    gdsc_name: str | None  # GDSC catalogue name, the key for cross-dataset joins (None: not in GDSC)
    gdsc_match: str  # how gdsc_name was found: "gdsc_id", "inchikey", "name" or "unmatched"
    smiles: str | None
    smiles_source: str  # "own_file", "gdsc", "paper_smiles" or "none"


class GdscDrugCatalogue:
    """GDSC drug names, ids and SMILES (invitro/drugs.csv) plus the paper's GDSC1 SMILES table."""

    def __init__(self, drugs: pd.DataFrame, paper_smiles: pd.DataFrame, aliases: pd.DataFrame | None = None):
        """``aliases`` (columns ``drug``, ``gdsc_drug_id``): names other screens give GDSC drugs (e.g. the
        colorectal organoids' "ABT-263" for Navitoclax), accepted by name wherever the GDSC name is."""
        self._by_id: dict[str, str] = {}
        for name, ids in zip(drugs["drug_name"], drugs["gdsc_drug_id"].fillna("")):
            for drug_id in str(ids).split(";"):
                if drug_id:
                    self._by_id[drug_id] = name
        self._smiles = {n: s for n, s in zip(drugs["drug_name"], drugs["smiles"]) if isinstance(s, str)}
        self._by_skeleton = {
            key.split("-")[0]: name
            for name, key in zip(drugs["drug_name"], drugs["inchikey"])
            if isinstance(key, str) and name in self._smiles
        }
        self._by_key: dict[str, str] = {}
        for name in drugs["drug_name"]:
            for key in name_keys(name):
                # A name with a structure wins a key over a name without one (e.g. two screens' spellings).
                if key not in self._by_key or (name in self._smiles and self._by_key[key] not in self._smiles):
                    self._by_key[key] = name
        for alias, drug_id in zip(*(([], []) if aliases is None else (aliases["drug"], aliases["gdsc_drug_id"]))):
            name = self._by_id.get(str(drug_id))
            for key in name_keys(alias) if name else []:
                self._by_key.setdefault(key, name)
        self._paper_smiles: dict[str, str] = {}
        for name, smiles in zip(paper_smiles["inhibitor"], paper_smiles["canonical_smiles"]):
            if isinstance(smiles, str):
                for key in name_keys(name):
                    self._paper_smiles.setdefault(key, smiles)

    @classmethod
    def from_shared_data(cls) -> "GdscDrugCatalogue":
        return _default_catalogue()

    def smiles_of(self, gdsc_name: str) -> str | None:
        return self._smiles.get(gdsc_name)

    def gdsc_name(
        self, name: str, gdsc_drug_id: str | int | None = None, inchikey: str | None = None
    ) -> tuple[str | None, str]:
        """GDSC catalogue name for a dataset drug and how it was found.

        Order: GDSC drug id, then the InChIKey skeleton (first block: same connectivity, any salt
        form or stereo), then the normalised name.
        """
        if gdsc_drug_id is not None and str(gdsc_drug_id) in self._by_id:
            return self._by_id[str(gdsc_drug_id)], "gdsc_id"
        if isinstance(inchikey, str) and inchikey.split("-")[0] in self._by_skeleton:
            return self._by_skeleton[inchikey.split("-")[0]], "inchikey"
        found = self._by_name(name)
        parts = str(name).split("/")
        if found is None and len(parts) == 2 and any(c.isdigit() for c in parts[0]):
            # "code/name" (e.g. "GSK2118436/Dabrafenib"): the parts that resolve must agree. Two names
            # ("Carboplatin/Etoposide") are a combination, never one of its drugs.
            named = {self._by_name(part) for part in parts} - {None}
            found = named.pop() if len(named) == 1 else None
        return (found, "name") if found else (None, "unmatched")

    def _by_name(self, name: str) -> str | None:
        return next((self._by_key[key] for key in name_keys(name) if key in self._by_key), None)

    def match(
        self,
        name: str,
        gdsc_drug_id: str | int | None = None,
        own_smiles: str | None = None,
        inchikey: str | None = None,
    ) -> DrugMatch:
        """Resolve a drug: its own file's SMILES first, then GDSC's, then the paper's GDSC1 table.

        A GDSC id match without a GDSC structure (e.g. "Nutlin-3a", id 1047) still falls through to
        the name-based sources, which find Nutlin-3's structure through the synonym list.
        """
        gdsc_name, how = self.gdsc_name(name, gdsc_drug_id, inchikey)
        if isinstance(own_smiles, str) and own_smiles.strip():
            return DrugMatch(gdsc_name, how, own_smiles.strip(), "own_file")
        if gdsc_name and self.smiles_of(gdsc_name):
            return DrugMatch(gdsc_name, how, self.smiles_of(gdsc_name), "gdsc")
        for key in name_keys(name) + (name_keys(gdsc_name) if gdsc_name else []):
            other = self._by_key.get(key)
            if other and self.smiles_of(other):
                return DrugMatch(gdsc_name or other, how if gdsc_name else "name", self.smiles_of(other), "gdsc")
            if key in self._paper_smiles:
                return DrugMatch(gdsc_name, how, self._paper_smiles[key], "paper_smiles")
        return DrugMatch(gdsc_name, how, None, "none")


@lru_cache(maxsize=1)
def _default_catalogue() -> GdscDrugCatalogue:
    root = data_root()
    drugs = pd.read_csv(root / "invitro" / "gdsc_deepdr2023" / "drugs.csv", dtype={"gdsc_drug_id": str})
    paper = pd.read_csv(root / "paper_resources" / "gdsc_compound_smiles.csv")
    aliases = pd.read_csv(
        root / "patient" / "colorectal_organoids_vandewetering2015" / "drugs.csv", dtype={"gdsc_drug_id": str}
    )
    return GdscDrugCatalogue(drugs, paper, aliases)
