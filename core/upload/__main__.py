"""``python -m core.upload PATH [--panel NAME | --panel-file FILE] [--min-coverage X]``.

Runs the dashboard's upload checks on a file so data managers can vet profiles before a clinic
session, or in scripts. Prints the QC report and exits 0 when usable; exits 2 with the reason on
stderr when not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.data.genes import GeneMapper
from core.upload.errors import UploadError
from core.upload.validate import DEFAULT_MIN_COVERAGE, validate_upload

EXIT_REFUSED = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data = args.path.read_bytes()
        panel = _read_panel_file(args.panel_file) if args.panel_file else _named_panel(args.panel)
    except OSError as exc:
        print(f"Error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    except UploadError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        profile = validate_upload(data, args.path.name, panel, min_coverage=args.min_coverage)
    except UploadError as exc:
        print(f"Not usable: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(profile.check.to_text())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core.upload",
        description="Check an expression file as the dashboard does and print its QC report. "
        "Exit status 0: usable; 2: refused (reason on stderr).",
    )
    parser.add_argument("path", type=Path, help="expression file (CSV, TSV, TXT, XLSX, optionally gzipped)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--panel", default="tdnn", help="name of a model gene panel (default: tdnn)")
    source.add_argument("--panel-file", type=Path, help="text file with one gene symbol per line")
    parser.add_argument(
        "--min-coverage",
        type=_fraction,
        default=DEFAULT_MIN_COVERAGE,
        help=f"refuse below this fraction of panel genes (default: {DEFAULT_MIN_COVERAGE})",
    )
    return parser


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be a fraction between 0 and 1")
    return value


def _named_panel(name: str) -> list[str]:
    from core.data.panels import load_panel  # only --panel needs the panel machinery

    try:
        return load_panel(name)
    except (KeyError, ValueError, OSError) as exc:
        raise UploadError(f"Panel '{name}' could not be loaded: {exc}") from exc


def _read_panel_file(path: Path) -> list[str]:
    """One symbol per line ('#' comments allowed), brought to approved symbols like the model panels."""
    mapper = GeneMapper.from_shared_data()
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [mapper.map_one(gene) or gene for gene in lines if gene]


if __name__ == "__main__":
    sys.exit(main())
