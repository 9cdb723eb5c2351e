"""One training run: plan -> data -> network -> fit -> score -> MLflow.

`experiments.plan` resolves the run once; everything here reads the plan's objects.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from experiments import host
from experiments.config import TrainConfig
from experiments.files import write_json_atomic
from experiments.plan import RunPlan, as_plan


def make_datamodule(plan: RunPlan | TrainConfig):
    """The datamodule `plan` asks for (a TrainConfig is validated into one), prepared and set up.

    Inputs are standardised unless the task's scorer says `NORMALIZE_INPUTS = False`
    (reconstruction and generation work on pixels in [0, 1]).
    """
    import datamodules
    from experiments.tasks import scorer

    plan = as_plan(plan)
    config = plan.config
    normalize = getattr(scorer(plan.arch.task), "NORMALIZE_INPUTS", True)

    datamodule = datamodules.create(plan.data.name, batch_size=config.batch_size, seed=config.seed,
                                    split_seed=config.split_seed, image_size=config.image_size,
                                    data_dir=config.data_dir, normalize=normalize, **config.data_options)
    datamodule.prepare_data()
    datamodule.setup()
    if config.train_on_val:
        from datamodules.refit import merge_validation_into_train

        merge_validation_into_train(datamodule)
    if config.limit_batches:
        datamodule.keep_batches(config.limit_batches)
    return datamodule


RUN_ID_FOR_WORKERS = "NNLAB_DDP_RUN_ID"


def ddp_worker_rank() -> int:
    """Non-zero in a process Lightning Fabric's DDP launched for another rank (it re-runs the command
    with LOCAL_RANK/NODE_RANK set); such a process trains but never touches MLflow."""
    return int(os.environ.get("NODE_RANK", 0) or 0) or int(os.environ.get("LOCAL_RANK", 0) or 0)


def train_as_ddp_worker(plan: RunPlan, callbacks: list = ()) -> dict:
    """A non-zero DDP rank's share of the fit: rank zero logs the run (and writes checkpoints)."""
    from experiments import resume, runners

    run_id = os.environ.get(RUN_ID_FOR_WORKERS, "ddp-worker")
    runners.fit(plan.config.framework, plan.arch, make_datamodule(plan), plan.config,
                on_epoch=lambda epoch, metrics: None, callbacks=list(callbacks),
                checkpoint_dir=resume.checkpoint_dir(run_id))
    return {}


def fast_dev_run(plan: RunPlan, progress=print, callbacks: list = ()) -> dict:
    """`--fast-dev-run`: one batch of train, val and test through fit, scoring, the model file
    and the plots, as Lightning's `fast_dev_run` (which disables its loggers): no MLflow run,
    no checkpoint, no metrics file. Returns the test metrics, with `fast_dev_run: True`."""
    from experiments import runners
    from experiments.tasks import scorer

    config = plan.config
    datamodule = make_datamodule(plan)
    progress(f"fast dev run: {config.framework}-{config.arch} on {config.data}, one batch of train, "
             "val and test; nothing is logged")
    result = runners.fit(config.framework, plan.arch, datamodule, config, on_epoch=lambda epoch, m: None,
                         callbacks=list(callbacks))
    task_scorer = scorer(plan.task)
    metrics = task_scorer.evaluate(result.test_outputs, datamodule)
    with tempfile.TemporaryDirectory() as tmp:  # the files a run would log, written and dropped
        runners.save_model(config.framework, result.model, Path(tmp))
        task_scorer.artifacts(result.test_outputs, datamodule, result.history, Path(tmp), config.arch)
    return {**metrics, "n_params": result.n_params, "framework": config.framework, "arch": config.arch,
            "data": config.data, "epochs": len(result.history), "fast_dev_run": True}


def train(plan: RunPlan | TrainConfig, metrics_out: Path | None = None, progress=print,
          parent_run_id: str | None = None, callbacks: list = (), tags: dict | None = None,
          resume_run_id: str | None = None, plots: bool = True) -> dict:
    """Train `plan` (a TrainConfig is validated into one), log it to MLflow and return
    the final metrics.

    `tags` are added to the run's tags (e.g. the Optuna study and trial it belongs to).
    `plots=False` leaves out the run's PNG plots (an Optuna trial: matplotlib is a large share
    of a short trial; the study's own plots and `nnlab best`'s refit run have them).
    Each epoch ends with a checkpoint (`experiments.resume`); `resume_run_id` continues that
    unfinished run from its last checkpoint. Ctrl-C/SIGTERM raise `TrainingInterrupted`.
    """
    from experiments import resume, runners, tracking

    plan = as_plan(plan)
    if ddp_worker_rank():
        return train_as_ddp_worker(plan, callbacks)
    if plan.config.fast_dev_run:
        return fast_dev_run(plan, progress, callbacks)
    from experiments.tasks import scorer

    config, arch, task = plan.config, plan.arch, plan.task
    run_name = f"{config.framework}-{config.arch}"
    with tracking.tracked_run(config.experiment or config.data, run_name, plan.params(),
                              {**plan.tags(), **(tags or {})}, parent_run_id=parent_run_id,
                              resume_run_id=resume_run_id) as run:
        datamodule = make_datamodule(plan)
        splits = {s: len(datamodule.splits[s]) for s in ("train", "val", "test")}
        run.set_tags({"dataset.digest": datamodule.digest, "dataset.source_digest": datamodule.source_digest,
                      "dataset.test_digest": datamodule.split_digest("test"),
                      "dataset.splits": "/".join(map(str, splits.values()))})
        progress(("resuming " if resume_run_id else "")
                 + f"{run_name} on {config.data} {datamodule.input_shape}: {splits['train']} train / "
                 f"{splits['val']} val / {splits['test']} test; MLflow run {run.run_id}")

        title = f"{config.arch} ({config.framework}) on {config.data}"
        epoch_scorer = scorer(arch.task)

        def log_epoch_outputs(epoch: int, outputs) -> None:  # e.g. a GAN's samples, every epoch
            with tempfile.TemporaryDirectory() as tmp:
                for path in epoch_scorer.epoch_artifacts(outputs, epoch, Path(tmp), title):
                    run.log_artifact(path, "epochs")

        os.environ[RUN_ID_FOR_WORKERS] = run.run_id  # DDP re-launches this command per rank
        try:
            result = runners.fit(config.framework, arch, datamodule, config,
                                 on_epoch=lambda epoch, m: run.log_metrics(m, step=epoch),
                                 callbacks=list(callbacks),
                                 on_epoch_outputs=log_epoch_outputs if hasattr(epoch_scorer, "epoch_artifacts")
                                 else None, checkpoint_dir=resume.checkpoint_dir(run.run_id))
        except (KeyboardInterrupt, SystemExit) as err:  # Ctrl-C, SIGTERM (or a DDP rank's exit)
            raise resume.TrainingInterrupted(run.run_id) from err
        task_scorer = scorer(task)
        metrics = task_scorer.evaluate(result.test_outputs, datamodule)
        metrics.update(result.controls)  # best_epoch, stopped_epoch (1-based, as the terminal counts)
        metrics.update(train_time_s=result.train_time_s,
                       samples_per_s=result.samples_seen / max(result.train_time_s, 1e-9))
        run.log_params({"n_params": result.n_params})
        run.log_metrics(metrics, step=len(result.history))

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            run.log_artifact(runners.save_model(config.framework, result.model, folder), "model")
            if plots:
                for path in task_scorer.artifacts(result.test_outputs, datamodule, result.history, folder, title):
                    run.log_artifact(path, "plots")
            (folder / "history.json").write_text(json.dumps(result.history, indent=1))
            run.log_artifact(folder / "history.json")

        summary = {**metrics, "n_params": result.n_params, "run_id": run.run_id,
                   "framework": config.framework, "arch": config.arch, "data": config.data,
                   "epochs": len(result.history), "dataset_digest": datamodule.digest, **host.cpu()}
        run.set_tags(host.cpu())  # results differ in the last digits across instruction sets
    resume.discard_checkpoint(summary["run_id"])
    if metrics_out:
        write_json_atomic(metrics_out, summary)
    return summary
