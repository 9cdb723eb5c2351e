"""One trial: draw a plan from the space, train it, return the objective values; and the
budget that finished trials count toward."""
from __future__ import annotations

import dataclasses
import math

from experiments import tracking
from experiments.tune import storage as tune_storage, tracking as tune_tracking
from experiments.tune.options import TuneOptions
from experiments.tune.space import SearchSpace
from modules.errors import UserError

FAIL_REASON_ATTR = "fail_reason"


class TrialFailed(Exception):
    """A trial that could not finish (invalid combination, divergence, out of memory, ...)."""



# --- counting the budget ------------------------------------------------------------------
def counts_toward_budget(trial) -> bool:
    from optuna.trial import TrialState

    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED) or (
        trial.state == TrialState.FAIL and FAIL_REASON_ATTR in trial.user_attrs)


def budget_used(study) -> tuple[int, int]:
    """(trials that count toward `--trials`, trials running now)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    return (sum(counts_toward_budget(t) for t in trials),
            sum(t.state == TrialState.RUNNING for t in trials))


# --- one trial ------------------------------------------------------------------------------
def on_trial_lost(study, trial) -> None:
    """A trial failed because its worker died: end its MLflow run FAILED with the reason."""
    parent = study.user_attrs.get(tune_tracking.STUDY_RUN_ATTR)
    if not parent:
        return
    reason = trial.user_attrs.get(tune_storage.LOST_ATTR) or "worker stopped sending heartbeats"
    run_id = tune_tracking.find_trial_run(parent, trial.number)
    if run_id:
        tune_tracking.tag_trial_run(run_id, "FAIL", reason=reason, end_status="FAILED")
    else:  # the worker died before its trial's run was created
        tune_tracking.record_trial_without_run(parent, study.study_name, trial, reason)


class TrialObjective:
    """Optuna's objective: draw a run plan, train it, return the objective values."""

    def __init__(self, options: TuneOptions, space: SearchSpace, parent_run_id: str, prune: bool,
                 storage_url: str) -> None:
        self.options, self.space, self.parent_run_id = options, space, parent_run_id
        self.monitor = options.keys[0] if prune else None
        self.storage_url = tune_storage.redact(storage_url)

    def __call__(self, trial):
        import optuna

        from experiments.train import train
        from experiments.tune.callbacks import EpochLog, trial_callbacks

        trial.set_user_attr(tune_storage.WORKER_ATTR, tune_storage.this_worker())
        log = EpochLog()
        try:
            plan = self.space.suggest_plan(trial, self.options.experiment)
        except UserError as err:
            self._fail(trial, None, f"invalid combination: {err}", log)
        # trials never see the test split: only the refit of `nnlab best` scores it
        plan = dataclasses.replace(plan, config=dataclasses.replace(plan.config, score_test=False))
        config = plan.config
        tags = {"optuna.study": self.options.study, "optuna.trial": trial.number,
                "optuna.storage": self.storage_url}
        try:
            summary = train(plan, progress=lambda *a: None, parent_run_id=self.parent_run_id,
                            callbacks=trial_callbacks(config.framework, trial, self.monitor, log), tags=tags,
                            plots=False, log_model=False)
        except optuna.TrialPruned:
            epoch = log.pruned_epoch if log.pruned_epoch is not None else max(log.epochs, 1)
            trial.set_user_attr("epochs_trained", epoch)
            trial.set_user_attr("pruned_epoch", epoch)
            run_id = tune_tracking.find_trial_run(self.parent_run_id, trial.number)
            if run_id:
                trial.set_user_attr(tune_tracking.TRIAL_RUN_ATTR, run_id)
                tune_tracking.tag_trial_run(run_id, "PRUNED", pruned_epoch=epoch,
                                            reason=f"{self.monitor} below the pruner's cut at epoch {epoch}")
            raise
        except Exception as err:  # noqa: BLE001  (OOM, divergence, a bad combination: the study goes on)
            if tracking.disk_full_error(err) is not None:
                raise  # a full disk fails every later trial too: the study stops (study.run_study)
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            self._fail(trial, config, f"{type(err).__name__}: {message}", log)
        finally:
            self._release(config.framework)
        trial.set_user_attr(tune_tracking.TRIAL_RUN_ATTR, summary["run_id"])
        trial.set_user_attr("epochs_trained", summary["epochs"])
        try:
            values = tune_tracking.trial_values(summary["run_id"], self.options.keys)
        except KeyError as err:
            self._fail(trial, config, str(err), log)
        if not all(math.isfinite(v) for v in values):
            self._fail(trial, config, f"non-finite objective {values}", log)
        tune_tracking.tag_trial_run(summary["run_id"], "COMPLETE")
        return values[0] if len(values) == 1 else values

    def _fail(self, trial, config, reason: str, log) -> None:
        trial.set_user_attr(FAIL_REASON_ATTR, reason[:500])
        trial.set_user_attr("epochs_trained", log.epochs)
        run_id = config and tune_tracking.find_trial_run(self.parent_run_id, trial.number)
        if run_id:
            tune_tracking.tag_trial_run(run_id, "FAIL", reason=reason, end_status="FAILED")
        else:  # e.g. an invalid combination: no train run was opened
            run_id = tune_tracking.record_trial_without_run(self.parent_run_id, self.options.study, trial, reason)
        trial.set_user_attr(tune_tracking.TRIAL_RUN_ATTR, run_id)
        raise TrialFailed(reason)

    @staticmethod
    def _release(framework: str | None) -> None:
        """Free what a Keras trial left in TensorFlow's graph, so trials do not slow down."""
        if framework == "keras":
            from modules import backend

            backend.keras().backend.clear_session()
