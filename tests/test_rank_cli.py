"""``pdo-rank`` on real files: the rows the app shows, the alignment rule, and plain refusals (exit 2, no traceback).

Run against the committed bundles (tDNN ones only, to keep it quick); the files are built in tmp_path from the
real organoid and GDSC matrices.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.config import REPO_ROOT, data_root, models_dir
from core.data.cohort import Cohort
from core.inference.bundle import load_bundle
from core.labshift.prepare import ALIGNED, MIN_COHORT_SIZE, SEPARATE
from core.usecases.rank_cli import main
from core.usecases.ranking import organoid_ranking

BUNDLE = "colorectal_tdnn_finetuned"
COLUMNS = [
    "sample",
    "bundle",
    "drug",
    "predicted",
    "z_score",
    "p_more_sensitive",
    "coin",
    "rank",
    "alignment",
    "in_range",
    "range_problem",
]


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.fixture(scope="module")
def bundle():
    return load_bundle(models_dir() / BUNDLE)


def test_rows_are_the_apps_ranking(colorectal: Cohort, bundle, tmp_path: Path, capsys) -> None:
    organoids = colorectal.expression.iloc[:3]
    path = tmp_path / "three organoids.csv"
    organoids.T.rename_axis("gene").to_csv(path)
    status, err = run([str(path), "--bundle", BUNDLE, "--out", str(tmp_path / "out.csv")], capsys)
    assert status == 0, err
    rows = pd.read_csv(tmp_path / "out.csv", dtype={"sample": str})
    assert list(rows.columns[: len(COLUMNS) - 3]) == COLUMNS[:-3] and set(COLUMNS) <= set(rows.columns)
    assert len(rows) == 3 * len(bundle.drugs) and set(rows["alignment"]) == {SEPARATE}
    assert rows["in_range"].all()  # reference organoids
    app = organoid_ranking(bundle, organoids.loc[["P11"]])
    mine = rows[rows["sample"] == "P11"].reset_index(drop=True)
    assert list(mine["drug"]) == list(app["drug"]) and list(mine["rank"]) == list(app["rank"])
    np.testing.assert_allclose(mine["z_score"], app["z_score"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mine["p_more_sensitive"], app["p_more_sensitive"], rtol=1e-4, atol=1e-4)


def test_another_source_is_aligned_by_default(gdsc1: Cohort, tmp_path: Path, capsys) -> None:
    """Ten GDSC colorectal lines (another lab, platform and scale): read one by one they are out of range and their
    z-scores explode; as one cohort (the default for a file of this size) they are aligned and stay in range."""
    lines = pd.read_csv(data_root() / "invitro/gdsc_deepdr2023/cell_lines.csv").set_index("cell_line_id")
    chosen = [s for s in gdsc1.expression.index if lines["tcga_label"].get(s) == "COREAD"][:10]
    assert len(chosen) >= MIN_COHORT_SIZE
    path = tmp_path / "lines.csv"
    gdsc1.expression.loc[chosen].T.rename_axis("gene").to_csv(path)
    shares = {}
    for mode in ([], ["--separate"]):
        out = tmp_path / f"out{len(mode)}.csv"
        status, err = run([str(path), "--bundle", BUNDLE, "--out", str(out), *mode], capsys)
        assert status == 0, err
        rows = pd.read_csv(out)
        shares[ALIGNED if not mode else SEPARATE] = float((rows["z_score"].abs() > 3).mean())
        assert set(rows["alignment"]) == {ALIGNED if not mode else SEPARATE}
        if mode:
            assert not rows["in_range"].any() and "OUT OF RANGE" in err
    assert shares[ALIGNED] <= 0.01 < 0.5 < shares[SEPARATE]


def test_a_bad_file_is_refused_plainly_by_the_command(tmp_path: Path) -> None:
    """The process a pipeline runs: exit status 2, the reason on stderr, no traceback, nothing on standard output.
    One file only: each run imports TensorFlow and loads the bundle (13 s of CPU); other refusals run in-process."""
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n binary")
    done = subprocess.run(
        [sys.executable, "-m", "core.usecases.rank_cli", str(path), "--bundle", BUNDLE],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 2 and "Not ranked" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_file_too_small_to_rank_is_refused_plainly(tmp_path: Path, capsys) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("gene,P1\nTP53,1\n")
    assert main([str(path), "--bundle", BUNDLE]) == 2
    printed = capsys.readouterr()
    assert printed.err.startswith("Not ranked: Only 1 row or column names were recognised as genes")
    assert "Traceback" not in printed.err and printed.out == ""


def test_unknown_bundle_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.csv"
    path.write_text("gene,P1\nTP53,1\n")
    status, err = run([str(path), "--bundle", "no_such_bundle"], capsys)
    assert status == 2 and "no bundle named no_such_bundle" in err
