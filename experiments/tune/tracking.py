"""MLflow for studies: one parent run per study, one nested run per trial.

Trial runs are ordinary `nnlab train` runs (same params and metrics) with the
study's tags added: `optuna.study`, `optuna.trial` (number), `trial.state`
(COMPLETE, PRUNED, FAIL), `trial.pruned_epoch` and `trial.reason`. The study's
run holds the settings, the space, the best value and parameters (the Pareto
front when there are several objectives), Optuna's plots and a CSV of all trials.
The lab writes this itself: optuna-integration's MLflowCallback is deprecated.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

from experiments import tracking

STUDY_RUN_ATTR = "mlflow_run_id"  # study user attr: the study's parent MLflow run
TRIAL_RUN_ATTR = "mlflow_run_id"  # trial user attr: the trial's MLflow run


def create_study_run(experiment: str, study_name: str, params: dict, space: dict) -> str:
    """Start the study's parent run; return its id. It stays RUNNING until `finish_study_run`."""
    mlflow_client = tracking.client()
    exp_id = tracking.experiment_id(mlflow_client, experiment)
    tags = {"mlflow.runName": f"tune:{study_name}", "optuna.study": study_name, "role": "study",
            tracking.ORIGIN_TAG: "study", **tracking.source_tags(), **tracking.library_versions(),
            **{k: str(v) for k, v in tracking.owner_tags().items()}}  # with `run_study`'s heartbeat
    run_id = mlflow_client.create_run(exp_id, tags=tags, run_name=f"tune:{study_name}").info.run_id
    run = tracking.TrackedRun(mlflow_client, run_id)
    run.log_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search_space.json"
        path.write_text(json.dumps(space, indent=2))
        run.log_artifact(path)
    return run_id


def reopen_study_run(run_id: str) -> None:
    """Mark a resumed study's parent run RUNNING again, owned by this process."""
    mlflow_client = tracking.client()
    tracking.TrackedRun(mlflow_client, run_id).set_tags(tracking.owner_tags())
    mlflow_client.update_run(run_id, status="RUNNING")


def find_trial_run(parent_run_id: str, trial_number: int) -> str | None:
    """The MLflow run of trial `trial_number` under `parent_run_id`, if it was created."""
    mlflow_client = tracking.client()
    parent = mlflow_client.get_run(parent_run_id)
    runs = mlflow_client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and tags.`optuna.trial` = '{trial_number}'",
        max_results=1)
    return runs[0].info.run_id if runs else None


def record_trial_without_run(parent_run_id: str, study_name: str, trial, reason: str) -> str:
    """A FAILED nested run for a trial that ended before `nnlab train` opened one (an invalid
    combination, a worker killed while starting), so that every trial has its MLflow run."""
    mlflow_client = tracking.client()
    parent = mlflow_client.get_run(parent_run_id)
    tags = {"mlflow.runName": f"tune:{study_name}#{trial.number}", "mlflow.parentRunId": parent_run_id,
            "optuna.study": study_name, "optuna.trial": str(trial.number), tracking.ORIGIN_TAG: "trial",
            **tracking.source_tags()}
    run_id = mlflow_client.create_run(parent.info.experiment_id, tags=tags).info.run_id
    run = tracking.TrackedRun(mlflow_client, run_id)
    if trial.params:
        run.log_params(trial.params)
    tag_trial_run(run_id, "FAIL", reason=reason, end_status="FAILED")
    return run_id


def tag_trial_run(run_id: str, state: str, reason: str | None = None, pruned_epoch: int | None = None,
                  end_status: str | None = None) -> None:
    """Record a trial's outcome on its run; `end_status` also ends the run (FAILED, KILLED)."""
    tags = {"trial.state": state}
    if reason:
        tags["trial.reason"] = reason[:500]
    if pruned_epoch is not None:
        tags["trial.pruned_epoch"] = pruned_epoch
    run = tracking.TrackedRun(tracking.client(), run_id)
    run.set_tags(tags)
    if end_status:
        run.client.set_terminated(run_id, end_status)


def trial_values(run_id: str, keys: list[str]) -> list[float]:
    """The objective values of a finished trial run: metrics, or params such as n_params."""
    data = tracking.client().get_run(run_id).data
    values = []
    for key in keys:
        if key in data.metrics:
            values.append(float(data.metrics[key]))
        elif key in data.params:
            values.append(float(data.params[key]))
        else:
            known = ", ".join(sorted([*data.metrics, "n_params"]))
            raise KeyError(f"the trial's run has no {key!r}; it logs: {known}")
    return values


def _safe_key(text: str) -> str:
    return text.replace(":", "_")


def finish_study_run(run_id: str, study, objective_keys: list[str], status: str = "FINISHED") -> None:
    """Log the best trial(s), the plots and the trials CSV to the study's run, then end it."""
    from optuna.trial import TrialState

    run = tracking.TrackedRun(tracking.client(), run_id)
    trials = study.get_trials(deepcopy=False)
    counts = {state.name: sum(t.state == state for t in trials) for state in TrialState}
    run.log_metrics({f"trials/{k.lower()}": v for k, v in counts.items() if k != "WAITING"}
                    | {"trials/epochs_trained": epochs_trained(trials)}, step=len(trials))
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if complete:
        best = study.best_trials
        if len(objective_keys) == 1:
            run.log_metrics({f"best/{objective_keys[0]}": best[0].value}, step=len(trials))
            run.set_tags({"best.trial": best[0].number,
                          **{f"best.{k}": v for k, v in best[0].params.items()}})
        else:
            front = [{"trial": t.number, **dict(zip(objective_keys, t.values)), **t.params} for t in best]
            run.set_tags({"pareto_front": json.dumps([{k: f[k] for k in ("trial", *objective_keys)}
                                                      for f in front])[:5000]})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame = study.trials_dataframe()
        frame.to_csv(folder / "trials.csv", index=False)
        run.log_artifact(folder / "trials.csv")
        if complete and len(objective_keys) > 1:
            (folder / "pareto_front.json").write_text(json.dumps(front, indent=2, default=str))
            run.log_artifact(folder / "pareto_front.json")
        for path in study_plots(study, objective_keys, folder):
            run.log_artifact(path, "plots")
    run.client.set_terminated(run_id, status)


def epochs_trained(trials) -> int:
    """Training epochs the trials spent (pruned trials count the epochs they ran)."""
    return sum(int(t.user_attrs.get("epochs_trained", 0)) for t in trials)


def study_plots(study, objective_keys: list[str], folder: Path) -> list[Path]:
    """Optuna's matplotlib plots of `study` as PNGs; a plot that cannot be drawn yet is skipped."""
    from experiments.plots import pyplot

    plt = pyplot()  # the Agg backend, before Optuna's plots import pyplot
    import optuna.visualization.matplotlib as ovm

    multi = len(objective_keys) > 1
    plots = []
    for i, key in enumerate(objective_keys):
        target = (lambda t, i=i: t.values[i]) if multi else None
        suffix = f"_{_safe_key(key).replace('/', '_')}" if multi else ""
        plots += [(f"optimization_history{suffix}", lambda t=target, k=key: ovm.plot_optimization_history(
                      study, target=t, target_name=k)),
                  (f"param_importances{suffix}", lambda t=target, k=key: ovm.plot_param_importances(
                      study, target=t, target_name=k)),
                  (f"parallel_coordinate{suffix}", lambda t=target, k=key: ovm.plot_parallel_coordinate(
                      study, target=t, target_name=k))]
    if multi:
        plots.append(("pareto_front", lambda: ovm.plot_pareto_front(study, target_names=objective_keys)))
    written = []
    for name, draw in plots:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "experimental", singular axis limits, ...
                axes = draw()
        except Exception:  # noqa: BLE001  (too few trials, a single value, ...: no plot yet)
            plt.close("all")
            continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 6)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=100)
        plt.close("all")
        written.append(path)
    return written
