"""How much server memory and time one expression upload takes, per organoid, to set the upload limits.

The upload is real organoid expression (van de Wetering 2015, 22 organoids x 12,037 genes, log2 microarray)
with its organoids repeated to the asked-for number of samples, written the way a lab sends it (CSV, genes as
rows, four decimals). Each size is checked by :func:`core.upload.validate_upload` against the union of the
committed bundles' gene panels, as the upload page does, in a fresh Python process that receives the bytes on
its standard input: its peak resident memory (``ru_maxrss``) minus the peak before the check is what one
upload adds to a server, the validated expression's size is what the session keeps afterwards, and "left MB"
is what the process still holds once the upload and its profile are dropped (memory Python does not give back).

Example: ``python -m training_scripts.timing.time_upload_memory --samples 50 200 800``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import time

import pandas as pd

from core.config import data_root, models_dir
from core.inference.bundle import list_bundles
from core.upload import UploadError, validate_upload
from core.upload.limits import MAX_SAMPLES_PER_UPLOAD, MAX_UPLOAD_BYTES

ORGANOIDS = data_root() / "patient" / "colorectal_organoids_vandewetering2015" / "expression_log2_microarray.csv.gz"


def upload_bytes(n_samples: int) -> bytes:
    """``n_samples`` columns of real organoid expression (the 22 organoids over and over), genes as rows.

    Built line by line from the 22 organoids' text, as writing millions of floats with pandas takes minutes.
    """
    organoids = pd.read_csv(ORGANOIDS, index_col="organoid")
    names = [f"{organoids.index[k % len(organoids)]}_{k}" for k in range(n_samples)]
    lines = [",".join(["gene", *names])]
    for line in organoids.T.to_csv(float_format="%.4f", header=False).splitlines():
        gene, values = line.split(",", 1)
        cells = values.split(",")
        lines.append(",".join([gene, *(cells[k % len(cells)] for k in range(n_samples))]))
    return ("\n".join(lines) + "\n").encode()


def panel() -> list[str]:
    """The genes the upload page checks coverage against: every committed bundle's panel, in one list."""
    return list(dict.fromkeys(gene for manifest in list_bundles(models_dir()).values() for gene in manifest.genes))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**2


def measure_one() -> None:
    """Child process: validate the upload on stdin; print peak MB before and after, seconds, the MB the profile
    holds, and the MB the process still holds once the upload and its profile are dropped."""
    genes = panel()
    validate_upload(upload_bytes(3), "warm-up.csv", genes)  # gene mapper and imports loaded, as in a warm server
    data = sys.stdin.buffer.read()
    resident = _resident_mb() - len(data) / 1024**2
    before = _peak_mb()
    start = time.perf_counter()
    try:
        profile = validate_upload(data, "organoids.csv", genes)
        kept_mb = profile.expression.memory_usage(deep=True).sum() / 1024**2
        outcome = f"{profile.check.n_samples} samples"
    except UploadError as error:
        kept_mb, outcome = 0.0, f"refused: {error}"
    seconds = time.perf_counter() - start
    peak = _peak_mb()
    profile = data = None
    gc.collect()
    left = _resident_mb() - resident
    print(f"{before:.1f}\t{peak:.1f}\t{seconds:.2f}\t{kept_mb:.2f}\t{left:.1f}\t{outcome}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[25, 100, 400], help="upload sizes (organoids)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args(argv)
    if args.one:
        measure_one()
        return
    print(f"limits now: {MAX_UPLOAD_BYTES / 1024**2:.0f} MB per file, {MAX_SAMPLES_PER_UPLOAD} organoids per upload")
    print(
        f"{'organoids':>9} {'file MB':>8} {'seconds':>8} {'peak +MB':>9} {'MB/organoid':>12} {'kept MB':>8} "
        f"{'left MB':>8}  outcome"
    )
    for n_samples in args.samples:
        data = upload_bytes(n_samples)
        child = subprocess.run(
            [sys.executable, "-m", "training_scripts.timing.time_upload_memory", "--one"],
            input=data,
            capture_output=True,
            check=True,
        )
        before, after, seconds, kept, left, outcome = child.stdout.decode().strip().split("\t")
        added = float(after) - float(before)
        print(
            f"{n_samples:>9} {len(data) / 1024**2:>8.1f} {float(seconds):>8.2f} {added:>9.0f} "
            f"{added / n_samples:>12.2f} {float(kept):>8.1f} {float(left):>8.0f}  {outcome[:120]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
