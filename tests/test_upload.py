"""Upload checks on files built from the real colorectal organoid matrix (van de Wetering 2015).

Good files must come back as the same log2 values; bad files must be refused with a message naming
the problem. Everything is built in memory (or tmp_path for the CLI) from real data.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.config import REPO_ROOT, data_root
from core.data.genes import GeneMapper
from core.upload import Scale, UploadError, validate_upload

N_GENES = 3000  # first genes of the matrix used by most tests: keeps the suite fast, still genome-scale
PANEL_SIZE = 1000


@pytest.fixture(scope="module")
def mapper() -> GeneMapper:
    return GeneMapper.from_shared_data()


@pytest.fixture(scope="module")
def full_matrix() -> pd.DataFrame:
    path = data_root() / "patient" / "colorectal_organoids_vandewetering2015" / "expression_log2_microarray.csv.gz"
    return pd.read_csv(path, index_col="organoid")


@pytest.fixture(scope="module")
def matrix(full_matrix: pd.DataFrame, mapper: GeneMapper) -> pd.DataFrame:
    """Organoids x genes whose column names are already approved and unique, so values compare 1:1."""
    approved = [gene for gene in full_matrix.columns if mapper.map_one(gene) == gene]
    return full_matrix[approved[:N_GENES]]


@pytest.fixture(scope="module")
def panel(matrix: pd.DataFrame) -> list[str]:
    return list(matrix.columns[:PANEL_SIZE])


@pytest.fixture(scope="module")
def hgnc() -> pd.DataFrame:
    return pd.read_csv(data_root() / "genes" / "hgnc_complete_set_slim_2024-10-18.tsv.gz", sep="\t", dtype=str)


@pytest.fixture(scope="module")
def to_ensembl(hgnc: pd.DataFrame, mapper: GeneMapper) -> dict[str, str]:
    """Approved symbol -> Ensembl ID, only where the ID maps back to the same symbol."""
    pairs = hgnc.dropna(subset=["ensembl_gene_id"])
    return {
        symbol: ensembl
        for symbol, ensembl in zip(pairs["symbol"], pairs["ensembl_gene_id"])
        if mapper.map_one(ensembl) == symbol
    }


def csv_bytes(frame: pd.DataFrame, sep: str = ",", **kwargs) -> bytes:
    return frame.to_csv(sep=sep, **kwargs).encode()


def refused(data: bytes, filename: str, panel: list[str], **kwargs) -> str:
    with pytest.raises(UploadError) as caught:
        validate_upload(data, filename, panel, **kwargs)
    return str(caught.value)


# ---------------------------------------------------------------- good files


def test_full_csv_samples_as_rows(full_matrix: pd.DataFrame, panel: list[str]) -> None:
    profile = validate_upload(csv_bytes(full_matrix), "organoids.csv", panel)
    check = profile.check
    text = "Identifiers:     12,037 found, 12,031 mapped (305 previous/alias symbols renamed to approved ones; 3 ambiguous, 3 unknown)"
    assert text in check.to_text()
    assert check.n_samples == 22 and check.samples == list(full_matrix.index)
    assert check.orientation == "samples as rows"
    assert check.identifier_type == "HGNC symbols"
    assert check.file_format == "comma-separated text"
    assert check.scale is Scale.LOG2 and check.transformation.startswith("none")
    assert (check.n_identifiers, check.n_mapped, check.n_ambiguous, check.n_unknown) == (12037, 12031, 3, 3)
    assert check.renamed["NOV"] == "CCN3" and check.n_renamed == 305
    assert check.coverage_overall == 1.0 and set(check.coverage_per_sample.values()) == {1.0}
    assert check.missing_panel_genes == []
    assert profile.expression.dtypes.unique().tolist() == [np.dtype("float32")]
    assert profile.expression.shape == (22, check.n_genes)
    np.testing.assert_allclose(profile.expression[panel], full_matrix[panel], atol=1e-4)
    assert profile.expression["CCN3"].tolist() == pytest.approx(full_matrix["NOV"].tolist(), abs=1e-4)


def test_wide_export_of_linear_values_loads(full_matrix: pd.DataFrame, panel: list[str]) -> None:
    """Genes as columns, one long line per sample (12,000 linear values: over 131,072 characters, the csv
    module's field limit when a wrong delimiter is tried first)."""
    linear = 2.0 ** full_matrix.iloc[:2]
    data = csv_bytes(linear, float_format="%.8f")
    assert max(len(line) for line in data.splitlines()) > 131_072
    profile = validate_upload(data, "wide_linear.csv", panel)
    assert profile.check.n_samples == 2 and profile.check.orientation == "samples as rows"
    assert profile.check.scale is not Scale.LOG2  # recognised as linear and log-transformed
    assert "log2" in profile.check.transformation
    np.testing.assert_allclose(profile.expression[panel[:50]], np.log2(linear[panel[:50]] + 1), atol=1e-3)


def test_tsv_genes_as_rows(matrix: pd.DataFrame, panel: list[str]) -> None:
    profile = validate_upload(csv_bytes(matrix.T, sep="\t"), "organoids.txt", panel)
    assert profile.check.orientation == "genes as rows"
    assert profile.check.file_format == "tab-separated text"
    assert profile.check.samples == list(matrix.index)
    np.testing.assert_allclose(profile.expression[matrix.columns], matrix, atol=1e-4)


def test_r_style_header_one_cell_short(matrix: pd.DataFrame, panel: list[str]) -> None:
    text = matrix.T.to_csv(sep="\t")
    header, body = text.split("\n", 1)
    data = (header.split("\t", 1)[1] + "\n" + body).encode()  # R write.table drops the row-name header cell
    profile = validate_upload(data, "organoids.tsv", panel)
    assert profile.check.samples == list(matrix.index)
    np.testing.assert_allclose(profile.expression[panel], matrix[panel], atol=1e-4)


def test_xlsx(matrix: pd.DataFrame, panel: list[str]) -> None:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        matrix.iloc[:5, :1500].to_excel(writer, sheet_name="expression")
        pd.DataFrame({"note": ["made by a test"]}).to_excel(writer, sheet_name="notes")
    profile = validate_upload(buffer.getvalue(), "organoids.xlsx", panel)
    assert profile.check.file_format == "Excel workbook (.xlsx)"
    assert any("only the first, 'expression'" in warning for warning in profile.check.warnings)
    np.testing.assert_allclose(profile.expression[panel], matrix.iloc[:5][panel], atol=1e-4)


def test_gzip_detected_by_magic_bytes_not_name(matrix: pd.DataFrame, panel: list[str]) -> None:
    profile = validate_upload(gzip.compress(csv_bytes(matrix)), "organoids.csv", panel)
    assert profile.check.file_format == "gzip-compressed comma-separated text"
    np.testing.assert_allclose(profile.expression[panel], matrix[panel], atol=1e-4)


def test_previous_symbols_are_renamed_back(
    matrix: pd.DataFrame, panel: list[str], hgnc: pd.DataFrame, mapper: GeneMapper
) -> None:
    previous = hgnc.dropna(subset=["prev_symbol"]).set_index("symbol")["prev_symbol"]
    renames = {}
    for gene in panel:
        for old in str(previous.get(gene, "")).split("|"):
            if old and old not in matrix.columns and mapper.map_one(old) == gene:
                renames[gene] = old
                break
        if len(renames) == 5:
            break
    assert len(renames) == 5
    profile = validate_upload(csv_bytes(matrix.rename(columns=renames)), "old_names.csv", panel)
    assert {old: profile.check.renamed[old] for old in renames.values()} == {v: k for k, v in renames.items()}
    assert profile.check.coverage_overall == 1.0
    np.testing.assert_allclose(profile.expression[list(renames)], matrix[list(renames)], atol=1e-4)


def test_ensembl_ids_with_and_without_version(
    matrix: pd.DataFrame, panel: list[str], to_ensembl: dict[str, str]
) -> None:
    genes = [gene for gene in matrix.columns if gene in to_ensembl]
    ids = {gene: to_ensembl[gene] + (f".{i % 20 + 1}" if i % 2 else "") for i, gene in enumerate(genes)}
    frame = matrix[genes].rename(columns=ids)
    profile = validate_upload(csv_bytes(frame.T), "ensembl.csv", panel)
    assert profile.check.identifier_type == "Ensembl gene IDs"
    assert profile.check.n_mapped == len(genes)
    assert profile.check.renaming() == f"{len(genes):,} Ensembl IDs mapped to gene symbols"  # not "renamed"
    expected_coverage = len(set(panel) & set(genes)) / len(panel)
    assert profile.check.coverage_overall == pytest.approx(expected_coverage)
    np.testing.assert_allclose(profile.expression[genes], matrix[genes], atol=1e-4)


def test_gdc_htseq_fpkm_two_column_file(matrix: pd.DataFrame, panel: list[str], to_ensembl: dict[str, str]) -> None:
    genes = [gene for gene in matrix.columns if gene in to_ensembl]
    log2 = matrix.loc["P10", genes]
    lines = [f"{to_ensembl[gene]}.13\t{2.0 ** value - 1!r}" for gene, value in log2.items()]
    lines.append(f"{to_ensembl[genes[0]]}.13_PAR_Y\t0")  # GDC's all-zero chrY copy must not halve the gene
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    profile = validate_upload(data, "P10.FPKM.txt.gz", panel)
    check = profile.check
    assert check.samples == ["P10"]
    assert check.orientation == "genes as rows" and check.identifier_type == "Ensembl gene IDs"
    assert check.scale is Scale.LINEAR and check.transformation == "log2(x + 1)"
    assert any("converted to log2(x + 1)" in warning for warning in check.warnings)
    np.testing.assert_allclose(profile.expression.loc["P10", genes], log2, atol=1e-3)


def test_htseq_counts_become_log2_cpm(matrix: pd.DataFrame, panel: list[str], to_ensembl: dict[str, str]) -> None:
    genes = [gene for gene in matrix.columns if gene in to_ensembl]
    counts = np.round(2.0 ** matrix.loc["P11", genes] * 50).astype(int)
    lines = [f"{to_ensembl[gene]}.5\t{count}" for gene, count in counts.items()]
    lines += ["__no_feature\t9000000", "__ambiguous\t120000", "__alignment_not_unique\t5000000"]
    profile = validate_upload("\n".join(lines).encode(), "abc123.htseq.counts", panel)
    check = profile.check
    assert check.samples == ["abc123"] and check.scale is Scale.COUNTS
    assert check.transformation.startswith("log2(CPM + 1)")
    assert any("CPM" in warning and "approximate" in warning for warning in check.warnings)
    expected = np.log2(counts / counts.sum() * 1e6 + 1)  # library size excludes the HTSeq summary lines
    np.testing.assert_allclose(profile.expression.loc["abc123", genes], expected, atol=1e-4)


def test_single_sample_row(matrix: pd.DataFrame, panel: list[str]) -> None:
    profile = validate_upload(csv_bytes(matrix.loc[["P7"]]), "P7.csv", panel)
    assert profile.check.samples == ["P7"] and profile.check.orientation == "samples as rows"
    np.testing.assert_allclose(profile.expression.loc["P7", panel], matrix.loc["P7", panel], atol=1e-4)


def test_standardised_input_passes_unchanged_with_warning(matrix: pd.DataFrame, panel: list[str]) -> None:
    zscores = (matrix - matrix.mean()) / matrix.std()
    profile = validate_upload(csv_bytes(zscores), "z.csv", panel)
    assert profile.check.scale is Scale.STANDARDISED
    assert any("standardised" in warning for warning in profile.check.warnings)
    # A gene given twice: its standardised values are averaged, and said so (not "log2 values").
    twice = validate_upload(csv_bytes(pd.concat([zscores, zscores.iloc[:, :1]], axis=1)), "z.csv", panel)
    averaged = next(w for w in twice.check.warnings if "given more than once" in w)
    assert averaged.startswith("Genes given more than once had their standardised values (as uploaded) averaged")
    np.testing.assert_allclose(profile.expression[panel], zscores[panel], atol=1e-4)


def test_log2_without_pseudocount(matrix: pd.DataFrame, panel: list[str]) -> None:
    fpkm = (2.0**matrix - 1) / 16
    profile = validate_upload(csv_bytes(np.log2(fpkm)), "log2fpkm.csv", panel)
    assert profile.check.scale is Scale.LOG2_NO_PSEUDOCOUNT
    np.testing.assert_allclose(profile.expression[panel], np.log2(fpkm[panel] + 1), atol=1e-4)


def test_semicolon_and_decimal_comma(matrix: pd.DataFrame, panel: list[str]) -> None:
    profile = validate_upload(csv_bytes(matrix.iloc[:3], sep=";", decimal=","), "european.csv", panel)
    assert profile.check.file_format == "semicolon-separated text"
    assert "Decimal commas were read as decimal points." in profile.check.warnings
    np.testing.assert_allclose(profile.expression[panel], matrix.iloc[:3][panel], atol=1e-4)


def test_symbols_in_second_column_after_probe_ids(matrix: pd.DataFrame, panel: list[str]) -> None:
    table = matrix.T.reset_index(names="symbol")
    table.insert(0, "probe", [f"probe_{i}" for i in range(len(table))])
    profile = validate_upload(table.to_csv(index=False).encode(), "array.csv", panel)
    assert "Gene identifiers were read from column 'symbol'." in profile.check.warnings
    np.testing.assert_allclose(profile.expression[panel], matrix[panel], atol=1e-4)


def test_duplicated_genes_are_averaged(matrix: pd.DataFrame, panel: list[str], to_ensembl: dict[str, str]) -> None:
    gene = next(gene for gene in panel if gene in to_ensembl)
    frame = matrix.copy()
    frame[to_ensembl[gene]] = matrix[gene] + 2.0
    profile = validate_upload(csv_bytes(frame), "dups.csv", panel)
    assert profile.check.n_duplicates_aggregated == 1
    assert any("averaged" in warning and gene in warning for warning in profile.check.warnings)
    np.testing.assert_allclose(profile.expression[gene], matrix[gene] + 1.0, atol=1e-4)


def test_missing_values_count_as_not_covered(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.copy()
    frame.loc["P10", panel[:100]] = np.nan
    profile = validate_upload(csv_bytes(frame), "gaps.csv", panel)
    coverage = profile.check.coverage_per_sample
    assert coverage["P10"] == pytest.approx(0.9) and coverage["P11"] == 1.0
    assert profile.check.coverage_overall == 1.0
    assert profile.expression.loc["P10", panel[:100]].isna().all()


def test_partial_coverage_warns_and_lists_missing_genes(matrix: pd.DataFrame, panel: list[str]) -> None:
    dropped = panel[::3][:300]  # 30 % of the panel
    profile = validate_upload(csv_bytes(matrix.drop(columns=dropped)), "partial.csv", panel)
    assert profile.check.coverage_overall == pytest.approx(0.7)
    assert sorted(profile.check.missing_panel_genes) == sorted(dropped)
    assert any("Only 70% of the 1,000 genes" in warning for warning in profile.check.warnings)


def test_few_text_cells_become_missing_with_warning(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.astype(object)
    frame.loc["P10", panel[0]] = "#DIV/0!"
    profile = validate_upload(csv_bytes(frame), "typo.csv", panel)
    assert np.isnan(profile.expression.loc["P10", panel[0]])
    assert any("'#DIV/0!'" in warning for warning in profile.check.warnings)


# ---------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", "empty"),
        (b"\n \n\t\n", "empty"),
        (gzip.compress(b"", mtime=0), "empty"),  # no timestamp: one test id in every xdist worker
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
        (bytes(range(256)) * 40, "binary"),
        (b"\x1f\x8b\x08\x00garbage", "damaged"),
    ],
)
def test_refuses_non_tables(data: bytes, expected: str, panel: list[str]) -> None:
    assert expected in refused(data, "upload.csv", panel)


def test_refuses_plain_zip(matrix: pd.DataFrame, panel: list[str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("expression.csv", csv_bytes(matrix))
    assert "zip archive" in refused(buffer.getvalue(), "expression.zip", panel)


def test_refuses_drug_response_table(panel: list[str]) -> None:
    path = data_root() / "patient" / "colorectal_organoids_vandewetering2015" / "response_median.csv.gz"
    responses = pd.read_csv(path)[["organoid", "drug", "auc_median"]].rename(columns={"auc_median": "auc"})
    message = refused(csv_bytes(responses, index=False), "responses.csv", panel)
    assert "drug-response table" in message and "'drug'" in message and "'auc'" in message


@pytest.mark.parametrize("genes_as_rows", [False, True])
def test_refuses_duplicated_sample_names(matrix: pd.DataFrame, panel: list[str], genes_as_rows: bool) -> None:
    frame = matrix.rename(index={"P11": "P10"})
    message = refused(csv_bytes(frame.T if genes_as_rows else frame), "dups.csv", panel)
    assert "more than once" in message and "P10" in message


def test_refuses_text_instead_of_numbers(matrix: pd.DataFrame, panel: list[str]) -> None:
    words = pd.DataFrame(np.where(matrix > 7, "high", "low"), index=matrix.index, columns=matrix.columns)
    message = refused(csv_bytes(words), "calls.csv", panel)
    assert "no numeric expression values" in message and "'high'" in message and "P10" not in message
    mixed = matrix.astype(object).to_numpy()
    rows, columns = np.indices(mixed.shape)
    mixed[(rows + columns) % 10 == 0] = "n.d."  # 10 % of the cells, scattered
    mixed = pd.DataFrame(mixed, index=matrix.index, columns=matrix.columns)
    message = refused(csv_bytes(mixed), "mixed.csv", panel)
    assert "hold text instead of numbers" in message and "'n.d.'" in message


def test_refuses_all_missing_sample(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.copy()
    frame.loc["P13"] = np.nan
    message = refused(csv_bytes(frame), "blank.csv", panel)
    assert "P13" in message and "has no usable value" in message


def test_refuses_mostly_missing_sample(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.copy()
    frame.loc["P11", panel[:600]] = np.nan
    message = refused(csv_bytes(frame), "gaps.csv", panel)
    assert "P11" in message and "only 40%" in message and "mostly missing" in message


def test_refuses_too_few_panel_genes_and_threshold_is_a_parameter(matrix: pd.DataFrame, panel: list[str]) -> None:
    data = csv_bytes(matrix.drop(columns=panel[300:]))  # 30 % of the panel left
    message = refused(data, "panel30.csv", panel)
    assert "Only 30% of the 1,000 genes the model needs" in message and "at least 50%" in message
    profile = validate_upload(data, "panel30.csv", panel, min_coverage=0.25)
    assert profile.check.coverage_overall == pytest.approx(0.3)
    assert len(profile.check.missing_panel_genes) == 700


def test_refuses_unknown_gene_names(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.set_axis([f"NOTAGENE{i}" for i in range(matrix.shape[1])], axis=1)
    message = refused(csv_bytes(frame), "anon.csv", panel)
    assert "row or column names were recognised as genes" in message and "HGNC symbol" in message


def test_refuses_untrustworthy_counts(matrix: pd.DataFrame, panel: list[str]) -> None:
    shallow = np.round(2.0**matrix / 200).astype(int)
    message = refused(csv_bytes(shallow), "shallow_counts.csv", panel)
    assert "read counts" in message and "1,000,000 needed" in message
    corrected = (2.0**matrix).astype(int) - 50  # negative "counts" after batch correction
    assert "cannot be negative" in refused(csv_bytes(corrected), "combat.csv", panel)


def test_refuses_mixed_scales(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.copy()
    frame.loc["P10"] = 2.0 ** frame.loc["P10"] - 1
    message = refused(csv_bytes(frame), "mixed.csv", panel)
    assert "different scales" in message and "P10" in message


def test_refuses_ragged_rows_without_traceback(panel: list[str]) -> None:
    data = b"gene,P1,P2\n" + b"TP53,1.0,2.0\n" * 40 + b"MYC,1,2,3,4,5\n"  # ragged after the sniffed lines
    assert "could not be read as a table" in refused(data, "ragged.csv", panel)


def test_excel_date_mangled_genes_are_flagged(matrix: pd.DataFrame, panel: list[str]) -> None:
    frame = matrix.rename(columns={matrix.columns[-1]: "2024-09-09 00:00:00"})
    profile = validate_upload(csv_bytes(frame), "excel.csv", panel)
    assert any("look like dates" in warning for warning in profile.check.warnings)


# ---------------------------------------------------------------- command line


def test_cli_exit_codes(matrix: pd.DataFrame, panel: list[str], tmp_path) -> None:
    panel_file = tmp_path / "panel.txt"
    panel_file.write_text("\n".join(panel) + "\n")
    good, bad = tmp_path / "organoids.csv.gz", tmp_path / "responses.csv"
    good.write_bytes(gzip.compress(csv_bytes(matrix)))
    bad.write_bytes(b"organoid,drug,auc\nP10,Nutlin-3a,0.8\n")
    command = [sys.executable, "-m", "core.upload", "--panel-file", str(panel_file)]
    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Samples:         22" in ok.stdout and "100.0% of 1,000 panel genes" in ok.stdout
    no = subprocess.run([*command, str(bad)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert no.returncode == 2 and "drug-response table" in no.stderr and no.stdout == ""


def test_a_reference_organoids_own_profile_is_recognised_and_no_other() -> None:
    from core.data.panels import load_panel
    from core.data.registry import load_cohort
    from core.upload.reference_match import identical_references

    reference = load_cohort("colorectal").expression
    upload = reference.loc[["P10", "P11"]].rename(index={"P10": "patient A"})
    # Exported as a lab would, with 2 decimals and a third organoid that differs from P14 as a replicate might.
    upload.loc["patient B"] = reference.loc["P14"] + np.random.default_rng(0).normal(0, 0.1, reference.shape[1])
    data = upload.T.rename_axis("gene").to_csv(float_format="%.2f").encode()
    read = validate_upload(data, "organoids.csv", load_panel("tdnn")).expression
    assert identical_references(read, reference) == {"patient A": "P10", "P11": "P11"}
    assert identical_references(read.iloc[:, :20], reference) == {}  # too few genes to tell
