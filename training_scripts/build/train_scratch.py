"""Train each architecture from scratch on a target cohort, cross-validated over its organoids, and save
the bundles (the paper's comparison for fine-tuning).

Example: ``python -m training_scripts.build.train_scratch --models tdnn convnn``.
"""

from __future__ import annotations

import argparse

from training_scripts.build.cohort_bundles import add_common_arguments, build_and_save


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    build_and_save(["scratch"], parser.parse_args(argv))


if __name__ == "__main__":
    main()
