"""Run a benchmark grid on Ray: every task independent, results written per task, finished tasks skipped.

A local Ray instance by default (one task per CPU core, TensorFlow limited to one thread per task so
tasks do not fight over cores); pass a cluster address to spread the grid over machines sharing
``results_dir`` (e.g. a network file system). Drug cold-start pre-training runs are tasks too, and the
fine-tuning tasks of a fold wait for theirs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from core.benchmark.grid import Profile, Task
from core.benchmark.tasks import pretraining_folder, run_pretraining, run_task

SINGLE_THREAD = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


def part_path(results_dir: Path, task: Task) -> Path:
    return results_dir / "parts" / f"{task.key}.parquet"


def pending(tasks: list[Task], results_dir: Path) -> list[Task]:
    """Tasks whose result file does not exist yet (what a resumed run still has to do)."""
    return [task for task in tasks if not part_path(results_dir, task).is_file()]


def execute(task: Task, profile: Profile, results_dir: Path) -> tuple[str, float]:
    """Run ``task`` and write its predictions atomically; returns (key, seconds)."""
    start = time.perf_counter()
    table = run_task(task, profile, results_dir)
    path = part_path(results_dir, task)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    table.to_parquet(partial, index=False)
    partial.replace(path)
    return task.key, time.perf_counter() - start


def run_grid(
    profile: Profile,
    results_dir: Path,
    address: str | None = None,
    num_cpus: int | None = None,
    log: Callable[[str], None] = print,
) -> float:
    """Run every pending task of ``profile`` on Ray; returns the wall time in seconds."""
    import ray

    todo = pending(profile.tasks(), results_dir)
    total = len(profile.tasks())
    log(f"{profile.name} grid: {total} tasks, {total - len(todo)} already done, {len(todo)} to run")
    if not todo:
        return 0.0
    start = time.perf_counter()
    ray.init(
        address=address,
        num_cpus=None if address else num_cpus,
        include_dashboard=False,
        runtime_env={"env_vars": SINGLE_THREAD},
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        remote_execute = ray.remote(num_cpus=1, max_retries=0)(_execute_after)
        remote_pretrain = ray.remote(num_cpus=1, max_retries=0)(run_pretraining)
        pretraining: dict[tuple[str, str, int], ray.ObjectRef] = {}
        refs: dict[ray.ObjectRef, Task] = {}
        for task in todo:
            dependency = None
            if task.needs_fold_pretraining:
                key = (task.dataset, task.architecture, task.fold)
                if key not in pretraining and not (pretraining_folder(results_dir, *key) / "manifest.json").is_file():
                    pretraining[key] = remote_pretrain.remote(*key, profile, results_dir)
                dependency = pretraining.get(key)
            refs[remote_execute.remote(task, profile, results_dir, dependency)] = task
        log(f"  submitted, {len(pretraining)} drug cold-start pre-training runs first")
        remaining, failed = list(refs), []
        while remaining:
            ready, remaining = ray.wait(remaining, num_returns=1)
            done, elapsed = len(refs) - len(remaining), time.perf_counter() - start
            try:
                seconds = ray.get(ready[0])[1]
            except ray.exceptions.RayError as error:  # one broken cell must not lose the rest of the grid
                failed.append(refs[ready[0]].key)
                log(f"  [{done}/{len(refs)}] FAILED {refs[ready[0]].key}: {str(error).splitlines()[-1]}")
                continue
            log(
                f"  [{done}/{len(refs)}] {refs[ready[0]].key}: {seconds:.0f} s  (elapsed {elapsed / 60:.1f} min, "
                f"about {elapsed / done * len(remaining) / 60:.1f} min left)"
            )
        if failed:
            raise RuntimeError(f"{len(failed)} tasks failed (rerun to retry them): {', '.join(failed[:10])}")
    finally:
        ray.shutdown()
    return time.perf_counter() - start


def _execute_after(task: Task, profile: Profile, results_dir: Path, _dependency: Path | None) -> tuple[str, float]:
    """:func:`execute`, scheduled by Ray only once ``_dependency`` (a pre-training run) has finished."""
    return execute(task, profile, results_dir)


def collected_parts(tasks: list[Task], results_dir: Path) -> pd.DataFrame:
    """Every finished task's predictions, labelled with its grid keys."""
    tables = [
        pd.read_parquet(part_path(results_dir, task)).assign(
            dataset=task.dataset, split=task.split, model=task.model, n_finetune=task.n_finetune
        )
        for task in tasks
        if part_path(results_dir, task).is_file()
    ]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
