"""One canonical SMILES per drug structure, the key that joins drugs across datasets, models and bundles.

The same drug arrives from several tables in different SMILES spellings (salts, other atom orders). The
loaders canonicalise every structure they read, and the descriptor featuriser
(:mod:`core.preprocessing.drug_features`) computes on the same parent structure, so this lives in the
data layer: loading a cohort needs RDKit for this, but not the Mordred featuriser.

Structure rules (chosen so that a drug and its salt form get the same key and the same features):

- Organic salts and solvates keep only the largest organic fragment
  (RDKit ``LargestFragmentChooser(preferOrganic=True)``), which is then neutralised where possible
  (``Uncharger``): ``erlotinib.HCl`` -> erlotinib, ``dovitinib lactate`` -> dovitinib.
  Alkali and alkaline-earth cations (Na, K, Ca, ...) count as removable counter-ions.
- If any other metal is present (platinum drugs such as cisplatin, carboplatin, oxaliplatin are
  written as disconnected ligands + metal ion), **all fragments are kept unchanged**: the metal
  complex is the drug, and largest-fragment selection would turn carboplatin into
  cyclobutane-1,1-dicarboxylic acid and cisplatin into ammonia. Their molecular weights therefore
  match the real complexes (cisplatin 300.05, carboplatin 371.25, oxaliplatin 397.29).
"""

from __future__ import annotations

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize

# Elements that are not metals for our purpose (metalloids B, Si, As, Te included: bortezomib has B).
_NON_METALS = frozenset("H He B C N O F Ne Si P S Cl Ar As Se Br Kr Te I Xe At Rn".split())
# Metals that only ever appear as counter-ions of organic drugs, never as the active part.
_COUNTER_ION_METALS = frozenset("Li Na K Rb Cs Mg Ca Sr Ba".split())


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """RDKit molecule or None, without RDKit's error spam for the unparsable ones."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles.strip())
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def _is_metal_complex(mol: Chem.Mol) -> bool:
    """True when a metal that is part of the drug (not a Na/K/... counter-ion) is present."""
    symbols = {atom.GetSymbol() for atom in mol.GetAtoms()}
    return bool(symbols - _NON_METALS - _COUNTER_ION_METALS)


def parent_molecule(mol: Chem.Mol) -> Chem.Mol:
    """The structure a drug is keyed and featurised by (see the module docstring for the rules)."""
    if _is_metal_complex(mol):
        return mol
    largest = rdMolStandardize.LargestFragmentChooser(preferOrganic=True).choose(mol)
    return rdMolStandardize.Uncharger().uncharge(largest)


def canonical_smiles(smiles: str) -> str | None:
    """RDKit canonical isomeric SMILES of the parent structure; None for unparsable input."""
    mol = parse_smiles(smiles)
    if mol is None:
        return None
    return Chem.MolToSmiles(parent_molecule(mol))
