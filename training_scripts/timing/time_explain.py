"""Benchmark the explanation pipeline at real sizes and cross-check integrated gradients against shap.

For each architecture (random weights and random inputs - z-scores, standardised descriptors, padded
SMILES ids - unless ``--bundle ARCH=NAME`` names a trained bundle, whose first member is then explained
on the real reference organoids and the bundle's drugs):

1. IG timings for one organoid x one drug and one organoid x all drugs, and where the time goes
   (drug branch once per pair, gradient passes, NumPy path building; plus what the same passes cost
   without :func:`core.explain.integrated_gradients.split_model`).
2. Completeness sweep: the fewest Gauss-Legendre steps that bring ``|sum(attr) - (F(x) - F(0))|`` within
   ``max(abs_tol, rel_tol * |F(x) - F(0)|)`` on 95 % and on all pairs.
3. Rank agreement (Spearman of |attributions|) with shap's GradientExplainer (all-zeros background:
   same baseline as integrated gradients, so it checks the implementation; cohort background: shap's
   sampled expected gradients, against our deterministic ones with the cohort as references) and
   DeepExplainer (DeepLIFT, all-zeros reference) on the genes input, the drug input held fixed.

Then ORA and ranked-enrichment (GSEA preranked) timings per drug and collection on each drug's attributions.
Run: ``python -m training_scripts.timing.time_explain`` (about 2 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import shap
import tensorflow as tf
from scipy.stats import spearmanr
from tensorflow.python.eager import execute as tf_execute

from core.config import models_dir
from core.data.panels import PANEL_NAMES, load_panel
from core.data.registry import load_cohort
from core.explain.enrichment import (
    COLLECTIONS,
    PRERANK_PERMUTATIONS,
    load_collection,
    over_representation,
    ranked_enrichment,
)
from core.explain.gene_ranking import TOP_GENES_TESTED, top_genes
from core.explain.integrated_gradients import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_STEPS,
    completeness_gap,
    endpoint_difference,
    expected_gradients,
    explain_organoid,
    explain_pair,
    gauss_legendre,
    integrated_gradients,
    pair_grid,
    split_model,
)
from core.inference.bundle import load_bundle
from core.models import GENES, SPECS, build_model

SWEEP_STEPS = (16, 32, 64, 128, 256, 512, 1024)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Time integrated gradients and ORA at real sizes, measure the steps IG needs for "
        "completeness, and compare IG gene rankings with shap explainers.",
    )
    parser.add_argument("--architectures", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument(
        "--bundle",
        action="append",
        default=[],
        metavar="ARCH=BUNDLE",
        help="explain member 0 of a trained bundle on real inputs (repeatable)",
    )
    parser.add_argument("--panel", choices=PANEL_NAMES, default="tdnn", help="gene panel naming the gene input")
    parser.add_argument("--drugs", type=int, default=80, help="drugs per organoid (default 80)")
    parser.add_argument("--drug-features", type=int, default=1200, help="tDNN descriptor count (default 1200)")
    parser.add_argument("--smiles-length", type=int, default=150)
    parser.add_argument("--vocabulary-size", type=int, default=40)
    parser.add_argument(
        "--steps",
        type=int,
        default=DEFAULT_STEPS,
        help=f"IG steps for timings and the shap comparison (default {DEFAULT_STEPS})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"interpolated rows per gradient pass (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is reported")
    parser.add_argument("--sweep-pairs", type=int, default=24, help="pairs in the completeness sweep")
    parser.add_argument("--max-steps", type=int, default=1024, help="largest step count in the sweep")
    parser.add_argument("--abs-tol", type=float, default=1e-3)
    parser.add_argument("--rel-tol", type=float, default=0.01)
    parser.add_argument("--shap-organoids", type=int, default=24, help="organoids in the shap comparison")
    parser.add_argument(
        "--references",
        type=int,
        default=19,
        help="reference organoids of the expected gradients (the colorectal cohort has 19)",
    )
    parser.add_argument("--members", type=int, default=5, help="fold models per bundle the app averages (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    return median_wall_and_cpu(action, repeats)[0]


def median_wall_and_cpu(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and process CPU seconds: on a shared machine the CPU time, divided by the cores TF
    uses, estimates the wall time an idle machine would give."""
    timings = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    walls, cpus = zip(*timings)
    return float(np.median(walls)), float(np.median(cpus))


@dataclass
class Subject:
    """A model to benchmark with its inputs: real bundle inputs where ``--bundle`` names one, else random."""

    model: keras.Model
    weights: str
    drugs: dict[str, np.ndarray] | None = None  # one row per drug
    organoids: np.ndarray | None = None  # model-ready gene inputs of real organoids


def load_subjects(args: argparse.Namespace, n_genes: int) -> dict[str, Subject]:
    """Architecture -> subject: random weights, or member 0 of a trained bundle with its real inputs."""
    bundles = dict(entry.split("=", 1) for entry in args.bundle)
    sizes = {
        "n_drug_features": args.drug_features,
        "smiles_length": args.smiles_length,
        "vocabulary_size": args.vocabulary_size,
    }
    subjects = {}
    for name in args.architectures:
        if name not in bundles:
            subjects[name] = Subject(build_model(name, n_genes=n_genes, **sizes), "random weights")
            continue
        bundle = load_bundle(models_dir() / bundles[name])
        member = bundle.members[0]
        trained = member.trained
        expression = load_cohort(bundle.manifest.target_cohort).expression
        subjects[name] = Subject(
            trained.model,
            f"trained: {bundle.name}",
            {trained.drugs.input_name: member.drug_inputs[: args.drugs]},
            trained.expression.transform(expression, trained.domain),
        )
    return subjects


def random_drugs(model: keras.Model, n_drugs: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One input row per drug for every non-gene input of ``model``."""
    drugs = {}
    for name, tensor in model.input.items():
        if name == GENES:
            continue
        width = tensor.shape[1]
        if np.issubdtype(np.dtype(tensor.dtype), np.integer):
            vocabulary = model.get_layer("smiles_embedding").input_dim
            tokens = rng.integers(1, vocabulary, (n_drugs, width)).astype("int32")
            tokens[np.arange(width) >= rng.integers(min(30, width), width + 1, n_drugs)[:, None]] = 0
            drugs[name] = tokens
        else:
            drugs[name] = rng.normal(size=(n_drugs, width)).astype("float32")
    return drugs


def first_rows(drugs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The first drug's row of every drug input."""
    return {name: rows[0] for name, rows in drugs.items()}


def time_breakdown(
    model: keras.Model, inputs: dict[str, np.ndarray], steps: int, batch_size: int, repeats: int
) -> dict[str, float]:
    """Seconds in the drug branch, in the head's gradient passes, and in the same passes without the split."""
    stem, head = split_model(model, GENES)
    others = {name: array for name, array in inputs.items() if name != GENES}
    per_batch = max(1, batch_size // steps)
    starts = range(0, len(inputs[GENES]), per_batch)
    nodes, _ = gauss_legendre(steps)
    width = inputs[GENES].shape[1]
    paths = [
        tf.constant((nodes[None, :, None] * inputs[GENES][i : i + per_batch, None, :]).reshape(-1, width))
        for i in starts
    ]
    encoded = [
        keras.tree.flatten(stem({k: v[i : i + per_batch] for k, v in others.items()}, training=False)) for i in starts
    ]
    repeated = [{k: np.repeat(v[i : i + per_batch], steps, axis=0) for k, v in others.items()} for i in starts]

    @tf.function(reduce_retracing=True)
    def head_gradient(path: tf.Tensor, values: list[tf.Tensor]) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(path)
            output = head([path, *[tf.repeat(value, steps, axis=0) for value in values]], training=False)
        return tape.gradient(output, path)

    @tf.function(reduce_retracing=True)
    def full_gradient(path: tf.Tensor, batch: dict[str, tf.Tensor]) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(path)
            output = model({**batch, GENES: path}, training=False)
        return tape.gradient(output, path)

    for path, values, batch in zip(paths, encoded, repeated):  # trace every batch shape before timing
        head_gradient(path, values)
        full_gradient(path, batch)
    return {
        "drug branch (once per pair)": median_seconds(lambda: stem(others, training=False), repeats),
        "head gradient passes": median_seconds(lambda: [head_gradient(*b) for b in zip(paths, encoded)], repeats),
        "same passes, unsplit model": median_seconds(
            lambda: [full_gradient(*b) for b in zip(paths, repeated)], repeats
        ),
    }


def steps_needed(model: keras.Model, inputs: dict[str, np.ndarray], args: argparse.Namespace) -> pd.DataFrame:
    """Completeness gap per step count on the sweep pairs."""
    target = np.abs(endpoint_difference(model, inputs))
    tolerance = np.maximum(args.abs_tol, args.rel_tol * target)
    rows = []
    for steps in (s for s in SWEEP_STEPS if s <= args.max_steps):
        attributions = integrated_gradients(model, inputs, steps=steps, batch_size=args.batch_size)
        gap = completeness_gap(model, inputs, attributions)
        rows.append(
            {
                "steps": steps,
                "max gap": gap.max(),
                "median rel gap": np.median(gap / target),
                "pairs within tol": np.mean(gap <= tolerance),
            }
        )
    return pd.DataFrame(rows)


def fixed_drug_model(model: keras.Model, drug_row: dict[str, np.ndarray]) -> keras.Model:
    """A genes-only model with one drug's inputs baked in, the form shap's explainers accept."""
    genes = keras.Input(model.input[GENES].shape[1:], name=GENES)

    def constant(row: np.ndarray) -> keras.layers.Lambda:
        def tile(batch: keras.KerasTensor) -> keras.KerasTensor:
            return keras.ops.tile(keras.ops.convert_to_tensor(row)[None], (keras.ops.shape(batch)[0], 1))

        return keras.layers.Lambda(tile)

    inputs = {name: constant(row)(genes) for name, row in drug_row.items()}
    return keras.Model(genes, model({**inputs, GENES: genes}))


def shap_values(make_explainer: Callable[[], object], expression: np.ndarray) -> np.ndarray:
    """shap values (organoids, genes) of one explainer, with TF's gradient recording restored afterwards.

    DeepExplainer patches TF's gradient recording and does not undo it when it meets an op it does not
    support (shap 0.51, ``deep_tf.py``); every later gradient in the process would then fail.
    """
    record_gradient = tf_execute.record_gradient
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(make_explainer().shap_values(expression)).reshape(expression.shape)
    finally:
        tf_execute.record_gradient = record_gradient


def shap_agreement(
    model: keras.Model, expression: np.ndarray, drug_row: dict[str, np.ndarray], steps: int
) -> pd.DataFrame:
    """Spearman of |attributions| between ours and shap's explainers, per pair and for the summed ranking: the
    zeros-baseline explainers against integrated gradients from zeros, the cohort-background one (shap's
    sampled expected gradients) against :func:`expected_gradients` with the cohort as references (the
    patient view)."""
    pairs = pair_grid(expression, {k: v[None] for k, v in drug_row.items()})
    ours = {
        "zeros": integrated_gradients(model, pairs, steps=steps),
        "cohort": expected_gradients(model, pairs, expression),
    }
    wrapped = fixed_drug_model(model, drug_row)
    zeros = np.zeros((1, expression.shape[1]), dtype="float32")
    explainers: dict[str, tuple[str, Callable[[], object]]] = {
        "GradientExplainer, zeros background": ("zeros", lambda: shap.GradientExplainer(wrapped, zeros)),
        "GradientExplainer, cohort background": ("cohort", lambda: shap.GradientExplainer(wrapped, expression)),
        "DeepExplainer, zeros reference": ("zeros", lambda: shap.DeepExplainer(wrapped, zeros)),
    }
    rows = []
    for name, (baseline, make) in explainers.items():
        start = time.perf_counter()
        try:
            values = shap_values(make, expression)
        except Exception as error:  # shap's TF support is partial: report which explainer fails and why
            rows.append({"explainer": name, "status": f"failed: {str(error).splitlines()[-1].strip()[:80]}"})
            continue
        reference = ours[baseline]
        shap_ranking, our_ranking = np.abs(values).sum(axis=0), np.abs(reference).sum(axis=0)
        rows.append(
            {
                "explainer": name,
                "compared with": "integrated gradients from zeros"
                if baseline == "zeros"
                else "expected gradients vs cohort",
                "status": "ok",
                "seconds": time.perf_counter() - start,
                "median per-pair rho": np.median(
                    [spearmanr(np.abs(s), np.abs(i))[0] for s, i in zip(values, reference)]
                ),
                "summed-ranking rho": spearmanr(shap_ranking, our_ranking)[0],
                f"top-{TOP_GENES_TESTED} overlap": len(
                    set(np.argsort(-shap_ranking)[:TOP_GENES_TESTED]) & set(np.argsort(-our_ranking)[:TOP_GENES_TESTED])
                )
                / TOP_GENES_TESTED,
            }
        )
    return pd.DataFrame(rows)


def bench_ora(per_drug_attributions: np.ndarray, panel: list[str], repeats: int) -> pd.DataFrame:
    """Per collection: cold load, first and warm ORA time per drug, and drugs with a significant term."""
    queries = [top_genes(row, panel, TOP_GENES_TESTED)["gene"].tolist() for row in per_drug_attributions]
    rows = []
    for name in COLLECTIONS:
        load_collection.cache_clear()
        load = median_seconds(lambda: load_collection(name), 1)
        first = median_seconds(lambda: over_representation(queries[0], panel, name), 1)
        warm = median_seconds(lambda: [over_representation(q, panel, name) for q in queries], repeats) / len(queries)
        found = sum(len(over_representation(q, panel, name)) > 0 for q in queries)
        ranked = median_seconds(
            lambda: ranked_enrichment(pd.Series(per_drug_attributions[0], index=panel), name), repeats
        )
        rows.append(
            {
                "collection": name,
                "sets": len(load_collection(name)),
                "load s": load,
                "first ORA s (cuts sets to panel)": first,
                "ORA s per drug": warm,
                "drugs with a significant term": f"{found}/{len(queries)}",
                f"ranked enrichment s per drug ({PRERANK_PERMUTATIONS} permutations)": ranked,
            }
        )
    return pd.DataFrame(rows)


def bench_architecture(
    name: str, subject: Subject, n_genes: int, args: argparse.Namespace, rng: np.random.Generator
) -> tuple[dict[str, object], np.ndarray]:
    """Print one architecture's breakdown, sweep and shap comparison; return its timing row and the
    attributions (drugs, genes) of one organoid against every drug."""
    model, weights = subject.model, subject.weights
    print(f"=== {name} ({weights}) ===")
    drugs = subject.drugs if subject.drugs is not None else random_drugs(model, args.drugs, rng)
    organoids = (
        subject.organoids
        if subject.organoids is not None
        else rng.normal(size=(max(args.shap_organoids, args.references, 1), n_genes)).astype("float32")
    )
    organoid = organoids[0]
    options = {"steps": args.steps, "batch_size": args.batch_size}
    first_call = median_seconds(lambda: explain_pair(model, organoid, first_rows(drugs), **options), 1)
    pair = median_seconds(lambda: explain_pair(model, organoid, first_rows(drugs), **options), args.repeats)
    one_pair = pair_grid(organoid[None], {k: v[:1] for k, v in drugs.items()})
    references = organoids[: args.references]
    expected_gradients(model, one_pair, references, batch_size=args.batch_size)  # trace
    versus_references = median_seconds(
        lambda: expected_gradients(model, one_pair, references, batch_size=args.batch_size), args.repeats
    )
    attributions = explain_organoid(model, organoid, drugs, **options)
    all_drugs, all_drugs_cpu = median_wall_and_cpu(
        lambda: explain_organoid(model, organoid, drugs, **options), args.repeats
    )
    breakdown = time_breakdown(model, pair_grid(organoid[None], drugs), args.steps, args.batch_size, args.repeats)
    rest = all_drugs - breakdown["drug branch (once per pair)"] - breakdown["head gradient passes"]
    print(
        f"time for 1 organoid x {args.drugs} drugs ({all_drugs:.2f} s): "
        + "; ".join(f"{part} {seconds:.2f} s" for part, seconds in breakdown.items())
        + f"; NumPy path building, averaging and call overhead ~{max(rest, 0.0):.2f} s"
    )

    sweep_inputs = pair_grid(organoids[1:2], {k: v[: args.sweep_pairs] for k, v in drugs.items()})
    sweep = steps_needed(model, sweep_inputs, args)
    median_change = np.median(np.abs(endpoint_difference(model, sweep_inputs)))
    print(f"completeness on {args.sweep_pairs} pairs (median |F(x)-F(0)| = {median_change:.2g}):")
    print(sweep.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for share in (0.95, 1.0):
        enough = sweep.loc[sweep["pairs within tol"] >= share, "steps"]
        found = str(enough.min()) if len(enough) else f"more than {sweep['steps'].max()}"
        print(f"  fewest steps with {share:.0%} of pairs within tolerance: {found}")

    cohort = organoids[: args.shap_organoids]
    agreement = shap_agreement(model, cohort, first_rows(drugs), args.steps)
    print(f"shap vs IG on 1 drug x {args.shap_organoids} organoids, Spearman of |attributions| ({weights}):")
    print(agreement.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n")
    row = {
        "model": name,
        "weights": weights,
        "first call s (tracing)": first_call,
        "1 organoid x 1 drug s": pair,
        f"same vs {len(references)} references s (patient view, 1 member)": versus_references,
        f"x {args.members} members s": versus_references * args.members,
        f"1 organoid x {args.drugs} drugs s": all_drugs,
        f"same, CPU s / {os.cpu_count()} cores": all_drugs_cpu / os.cpu_count(),
        "us per step-row": all_drugs / (args.drugs * args.steps) * 1e6,
    }
    return row, attributions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    panel = load_panel(args.panel)
    models = load_subjects(args, len(panel))
    print(
        f"panel {args.panel}: {len(panel)} genes; {args.drugs} drugs; IG {args.steps} Gauss-Legendre steps, "
        f"batches of {args.batch_size} rows; tolerance max({args.abs_tol:g}, {args.rel_tol:.0%} of |F(x)-F(0)|)"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times grow with other load)\n")
    results = {name: bench_architecture(name, subject, len(panel), args, rng) for name, subject in models.items()}
    print("=== IG timings (median of repeats) ===")
    print(pd.DataFrame([row for row, _ in results.values()]).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    first = next(iter(results))
    print(
        f"\n=== ORA of each drug's top {TOP_GENES_TESTED} genes (paper thresholds) and ranked enrichment of one drug "
        f"({first} attributions of one organoid) ==="
    )
    print(bench_ora(results[first][1], panel, args.repeats).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
