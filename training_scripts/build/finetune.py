"""Fine-tune the GDSC-pre-trained models on a target cohort (new output layer, every layer trained),
cross-validated over its organoids, and save the bundles. Also writes the zero-shot bundles, which
need no training beyond pre-training.

Example: ``python -m training_scripts.build.finetune --models tdnn``. Needs ``training_scripts.build.pretrain`` first.
"""

from __future__ import annotations

import argparse

from training_scripts.build.cohort_bundles import add_common_arguments, build_and_save


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    build_and_save(["zeroshot", "finetuned"], parser.parse_args(argv))


if __name__ == "__main__":
    main()
