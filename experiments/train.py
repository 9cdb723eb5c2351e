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
from experiments.files import write_metrics_json
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
                                    data_dir=config.data_dir, normalize=normalize, augment=config.augment,
                                    **config.data_options)
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


def log_mlflow_model(run, plan: RunPlan, datamodule, result, weights: Path, register: str | None,
                     alias: str | None, tags: dict | None) -> dict:
    """Log the run's network as an MLflow Model and, with `register`, register it under `alias`;
    the summary's `registered_model`, `model_version` and `model_alias` when registered."""
    from experiments import mlflow_model

    payload = mlflow_model.model_payload(plan, datamodule, result)
    info = None if payload is None else run.log_model(payload, weights)
    if register is None:
        return {}
    if info is None:
        mlflow_model.check_registrable(plan)
    config, alias = plan.config, alias or mlflow_model.CHALLENGER
    version = mlflow_model.register(info.model_uri, register, alias, {
        "framework": config.framework, "arch": config.arch, "data": config.data,
        "dataset.digest": datamodule.digest, "run_id": run.run_id,
        "optuna.study": (tags or {}).get("optuna.study", "")})
    run.set_tags({"registered_model": f"{register}/{version}@{alias}"})
    return {"registered_model": register, "model_version": version, "model_alias": alias}


def train(plan: RunPlan | TrainConfig, metrics_out: Path | None = None, progress=print,
          parent_run_id: str | None = None, callbacks: list = (), tags: dict | None = None,
          resume_run_id: str | None = None, plots: bool = True, log_model: bool = True,
          register: str | None = None, alias: str | None = None, own_process: bool = False) -> dict:
    """Train `plan` (a TrainConfig is validated into one), log it to MLflow and return
    the final metrics.

    `tags` are added to the run's tags (e.g. the Optuna study and trial it belongs to).
    `plots=False` leaves out the run's PNG plots (an Optuna trial: matplotlib is a large share
    of a short trial; the study's own plots and `nnlab best`'s refit run have them).
    Each epoch ends with a checkpoint (`experiments.resume`); `resume_run_id` continues that
    unfinished run from its last checkpoint. Ctrl-C/SIGTERM raise `TrainingInterrupted`.
    The network is logged as an MLflow Model (`experiments.mlflow_model`) unless `log_model=False`
    (an Optuna trial: it would cost more than the rest of a trial's overhead; the refit logs one);
    `register` names the registered model to add it to as a new version, with `alias` (default
    `challenger`) pointing at it. `own_process=True` (the `nnlab train` command) tracks a new run
    in a second process (`experiments.tracking_process`) that imports MLflow while this one
    imports the framework; not with `register` or system metrics, which need MLflow here.
    """
    from experiments import resume, runners, tracking
    from experiments.hardware import run_device_tags

    plan = as_plan(plan)
    if ddp_worker_rank() or plan.config.worker_index:  # a Keras worker past the first: worker 0 logs
        return train_as_ddp_worker(plan, callbacks)
    if plan.config.fast_dev_run:
        return fast_dev_run(plan, progress, callbacks)
    if register is not None:
        from experiments import mlflow_model

        mlflow_model.check_registrable(plan)  # before training, not after
    from experiments.tasks import scorer

    config, arch, task = plan.config, plan.arch, plan.task
    label = f"{config.framework}-{config.arch}"
    run_name, origin = tracking.run_origin(label, tags or {})
    with tracking.tracked_run(config.experiment or config.data, run_name, plan.params(),
                              {**plan.tags(), **origin, **(tags or {})}, parent_run_id=parent_run_id,
                              resume_run_id=resume_run_id,
                              own_process=own_process and register is None and not config.system_metrics) as run:
        datamodule = make_datamodule(plan)
        splits = {s: len(datamodule.splits[s]) for s in ("train", "val", "test")}
        run.set_tags({"dataset.digest": datamodule.digest, "dataset.source_digest": datamodule.source_digest,
                      "dataset.test_digest": datamodule.split_digest("test"),
                      "dataset.splits": "/".join(map(str, splits.values()))})
        runners.join_cluster(config)  # a Keras worker: before the device tags load TensorFlow
        run.set_tags(run_device_tags(config))  # device.type, device.name, device.count
        if not resume_run_id:
            run.log_dataset_inputs(datamodule, ("train", "val", "test") if config.score_test else ("train", "val"))
        runners.runner(config.framework)  # its import, while a tracking process creates the run
        progress(("resuming " if resume_run_id else "")
                 + f"{label} on {config.data} {datamodule.input_shape}: {splits['train']} train / "
                 f"{splits['val']} val / {splits['test']} test; MLflow run {run.run_id}")

        title = f"{config.arch} ({config.framework}) on {config.data}"
        epoch_scorer = scorer(arch.task)

        def log_epoch_outputs(epoch: int, outputs) -> None:  # e.g. a GAN's samples, every epoch
            with tempfile.TemporaryDirectory() as tmp:
                for path in epoch_scorer.epoch_artifacts(outputs, epoch, Path(tmp), title):
                    run.log_artifact(path, "epochs")

        os.environ[RUN_ID_FOR_WORKERS] = run.run_id  # DDP re-launches this command per rank
        try:
            with tracking.system_metrics(run.run_id, config.system_metrics, resumed=bool(resume_run_id)):
                result = runners.fit(config.framework, arch, datamodule, config,
                                     on_epoch=lambda epoch, m: run.log_metrics(m, step=epoch + 1),  # epochs from 1
                                     callbacks=list(callbacks),
                                     on_epoch_outputs=log_epoch_outputs if hasattr(epoch_scorer, "epoch_artifacts")
                                     else None, checkpoint_dir=resume.checkpoint_dir(run.run_id))
        except (KeyboardInterrupt, SystemExit) as err:  # Ctrl-C, SIGTERM (or a DDP rank's exit)
            raise resume.TrainingInterrupted(run.run_id) from err
        task_scorer = scorer(task)
        # a trial (score_test False) has its validation metrics per epoch, and no test ones
        metrics = task_scorer.evaluate(result.test_outputs, datamodule) if config.score_test else {}
        metrics.update(result.controls)  # best_epoch, stopped_epoch (1-based, as the terminal counts)
        metrics.update(train_time_s=result.train_time_s,
                       samples_per_s=result.samples_seen / max(result.train_time_s, 1e-9))
        run.log_params({"n_params": result.n_params})
        run.log_metrics(metrics, step=len(result.history), epoch_step=False)

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            weights = runners.save_model(config.framework, result.model, folder)
            run.log_artifact(weights, "model")
            # a tracking process logs the model while the plots are drawn; the artifact calls
            # after it wait for it, before this folder goes (experiments.tracking_process)
            registered = log_mlflow_model(run, plan, datamodule, result, weights, register, alias,
                                          tags) if log_model else {}
            if plots and config.score_test:
                run.log_plots(task_scorer, result.test_outputs, datamodule, result.history, folder, title)
            (folder / "history.json").write_text(json.dumps(result.history, indent=1))
            run.log_artifact(folder / "history.json")

        summary = {**metrics, "n_params": result.n_params, "run_id": run.run_id,
                   "framework": config.framework, "arch": config.arch, "data": config.data,
                   "epochs": len(result.history), "dataset_digest": datamodule.digest, **registered,
                   **host.cpu()}
        run.set_tags(host.cpu())  # results differ in the last digits across instruction sets
    resume.discard_checkpoint(summary["run_id"])
    if metrics_out:  # numbers; the run id, names and digest beside it (`files.write_metrics_json`)
        write_metrics_json(metrics_out, summary)
    return summary
