"""Time GDSC1 pre-training epochs of each architecture on the real pre-training pairs, on any machine.

Here: ``python -m training_scripts.timing.time_pretraining --epochs 2`` builds the inputs from the data and
times the epochs. For a machine without the data or RDKit (a GPU box), export the inputs first with
``--export inputs.npz``, then run ``python -m training_scripts.timing.time_pretraining --arrays inputs.npz``
there; only Keras and NumPy are needed (any Keras backend: TensorFlow, JAX or PyTorch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np

from core.inference.pairs import PairTable
from core.models import SPECS, build_model
from core.study_design import PRETRAINING_COHORT
from core.training.fit import TrainingSettings, fit


def export_inputs(path: Path) -> None:
    """Write each architecture's GDSC pre-training inputs (all usable pairs) to one .npz file."""
    from core.data.panels import load_panel
    from core.data.registry import load_cohort
    from core.inference.drug_encoding import new_encoder
    from core.inference.expression import REFERENCE_BATCH, ExpressionPreprocessor
    from core.inference.model import build_pair_table
    from core.inference.target import MinMaxTargetScaler
    from core.training.protocols import training_pairs

    gdsc = load_cohort(PRETRAINING_COHORT)
    pairs = training_pairs(gdsc)
    arrays: dict[str, np.ndarray] = {}
    for architecture in SPECS:
        genes = load_panel(SPECS[architecture].panel)
        encoder = new_encoder(architecture).fit(sorted({gdsc.drug_smiles[d] for d in pairs["drug"].unique()}))
        scaler = MinMaxTargetScaler().fit(pairs["value"].to_numpy())
        table = build_pair_table(
            ExpressionPreprocessor(genes).fit(gdsc.expression, None),
            encoder,
            scaler,
            gdsc.expression,
            pairs,
            gdsc.drug_smiles,
            REFERENCE_BATCH,
        )
        for key in ("genes", "drugs", "sample_index", "drug_index", "target"):
            arrays[f"{architecture}.{key}"] = getattr(table, key)
        arrays[f"{architecture}.drug_input_name"] = np.array(table.drug_input_name)
    np.savez_compressed(path, **arrays)


def table_from(arrays: np.lib.npyio.NpzFile, architecture: str) -> PairTable:
    return PairTable(
        *(arrays[f"{architecture}.{k}"] for k in ("genes", "drugs")),
        str(arrays[f"{architecture}.drug_input_name"]),
        *(arrays[f"{architecture}.{k}"] for k in ("sample_index", "drug_index", "target")),
    )


def model_for(architecture: str, table: PairTable) -> keras.Model:
    if SPECS[architecture].drug_input == "descriptors":
        return build_model(architecture, n_genes=table.genes.shape[1], n_drug_features=table.drugs.shape[1])
    return build_model(
        architecture,
        n_genes=table.genes.shape[1],
        smiles_length=table.drugs.shape[1],
        vocabulary_size=int(table.drugs.max()) + 1,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arrays", type=Path, help="inputs written by --export (skip building from data)")
    parser.add_argument("--export", type=Path, help="only write the inputs to this .npz and stop")
    parser.add_argument("--models", nargs="+", choices=list(SPECS), default=list(SPECS))
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs (the first includes tracing)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--max-pairs", type=int, help="time on a random subset of pairs")
    args = parser.parse_args(argv)
    if args.export:
        export_inputs(args.export)
        print(f"wrote {args.export}")
        return
    if args.arrays is None:
        args.arrays = Path("/tmp/pdo_pretraining_inputs.npz")
        export_inputs(args.arrays)
    arrays = np.load(args.arrays)
    print(f"Keras {keras.__version__}, backend {keras.backend.backend()}; batch {args.batch_size}")
    for architecture in args.models:
        table = table_from(arrays, architecture)
        if args.max_pairs and args.max_pairs < len(table):
            table = table.subset(np.random.default_rng(0).permutation(len(table))[: args.max_pairs])
        model = model_for(architecture, table)
        epoch_seconds: list[float] = []
        settings = TrainingSettings(batch_size=args.batch_size, max_epochs=args.epochs, patience=args.epochs)
        fit(model, table, settings, progress=lambda report: epoch_seconds.append(report.seconds))
        print(
            f"{architecture:9s} {model.count_params():>10,d} parameters, {len(table):,d} pairs: "
            + ", ".join(f"epoch {i + 1} {s:.1f} s" for i, s in enumerate(epoch_seconds)),
            flush=True,
        )


if __name__ == "__main__":
    main()
