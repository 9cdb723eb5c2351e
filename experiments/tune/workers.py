"""Where trials run: in this process until the budget is used, or in `--jobs N` workers."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.tune import storage as tune_storage
from experiments.tune.objective import TrialFailed, TrialObjective, budget_used
from experiments.tune.options import TuneOptions
from experiments.tune.space import SearchSpace


def work(study, options: TuneOptions, space: SearchSpace, parent_run_id: str, url: str, prune: bool,
         extra_callbacks: list = ()) -> dict:
    """Run trials in this process until the study's budget (or --timeout) is used up."""
    def stop_at_budget(study, _trial) -> None:
        used, running = budget_used(study)
        if used + running >= options.trials:
            study.stop()

    used, running = budget_used(study)
    if used + running < options.trials:
        objective = TrialObjective(options, space, parent_run_id, prune, url)
        study.optimize(objective, timeout=options.timeout, catch=(TrialFailed,), gc_after_trial=True,
                       callbacks=[stop_at_budget, *extra_callbacks])
    return {}


def run_workers(study, options: TuneOptions, url: str, parent_run_id: str, progress) -> None:
    """Start `--jobs` worker processes on the study, show `progress` (a `study.Progress`) until they end."""
    threads = str(max(1, (os.cpu_count() or 1) // options.jobs))
    env = {**os.environ, tune_storage.WORKER_URL_ENV: url, "OMP_NUM_THREADS": threads,
           "TF_NUM_INTRAOP_THREADS": threads,
           "TF_NUM_INTEROP_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, [
               str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))}
    workers = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for index in range(options.jobs):
                err = open(Path(tmp) / f"worker{index}.err", "w+")
                argv = [sys.executable, "-m", "experiments", *options.worker_argv(parent_run_id, index + 1)]
                workers.append((subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err), err))
            while any(proc.poll() is None for proc, _ in workers):
                progress.update(study)
                time.sleep(2)
            progress.update(study)
        except KeyboardInterrupt:
            for proc, _ in workers:
                proc.terminate()
            for proc, _ in workers:
                proc.wait(timeout=60)
            raise
        finally:
            progress.close()
            for index, (proc, err) in enumerate(workers):
                err.seek(0)
                text = err.read().strip()
                err.close()
                if proc.returncode not in (0, None) and text:
                    print(f"worker {index + 1} exited {proc.returncode}: {text.splitlines()[-1]}",
                          file=sys.stderr)
