"""A study: create or resume it, its parent MLflow run, sampler and pruner, progress, summary."""
from __future__ import annotations

import sys
import time
import warnings

from experiments.tune import storage as tune_storage, tracking as tune_tracking, workers
from experiments.tune.objective import FAIL_REASON_ATTR, budget_used, counts_toward_budget, on_trial_lost
from experiments.tune.options import TuneOptions
from experiments.tune.recipe import SEARCH_ATTR, SEARCHABLE, SETTINGS_ATTR, check_resumed
from experiments.tune.space import SHARED_SPACE, SearchSpace
from modules.errors import UserError


def quiet_optuna() -> None:
    """Optuna's own per-trial log lines and experimental-feature warnings off: the lab prints its own."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def make_sampler(name: str, seed: int, n_objectives: int, parallel: bool):
    import optuna

    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    # multivariate + group: architectures' own parameters are modelled per architecture;
    # constant_liar keeps parallel workers from drawing the same point
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=5,
                                      constant_liar=parallel)


def make_pruner(name: str, max_epochs: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if name == "asha":
        # successive halving (Li et al. 2018's ASHA): rungs at epochs 1, 3, 9, ...; only the top
        # third of the trials that reached a rung go on past it
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        # successive halving in several brackets, one of which never prunes: safer, saves less
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    return optuna.pruners.NopPruner()


# --- progress ---------------------------------------------------------------------------------
def describe_trial(trial, keys: list[str]) -> str:
    p = trial.params
    values = (f"{' '.join(f'{k}={v:.4f}' for k, v in zip(keys, trial.values))}"
              if trial.values else "")
    arch_params = " ".join(f"{k.split('.', 1)[-1]}={v:.3g}" if isinstance(v, float) else
                           f"{k.split('.', 1)[-1]}={v}" for k, v in p.items() if "." in k or k in SEARCHABLE)
    setting = (f"{p.get('framework', '?')} {p.get('arch', '?')} lr={p.get('lr', float('nan')):.2g} "
               f"bs={p.get('batch_size', '?')} {p.get('optimizer', '?')}"
               f"{' epochs=' + str(p['epochs']) if 'epochs' in p else ''} {arch_params}").strip()
    extra = ""
    if trial.state.name == "PRUNED":
        extra = f" (pruned at epoch {trial.user_attrs.get('pruned_epoch', '?')})"
    elif trial.state.name == "FAIL":
        reason = trial.user_attrs.get(FAIL_REASON_ATTR) or trial.user_attrs.get(tune_storage.LOST_ATTR)
        extra = f" ({reason or 'worker lost'})"
    return f"trial {trial.number:>3} {trial.state.name:<8} {values:<16} {setting}{extra}"


class Progress:
    """A bar over the budget with the best value so far, and one line per finished trial."""

    def __init__(self, study, options: TuneOptions) -> None:
        self.options, self.seen = options, {t.number for t in study.get_trials(deepcopy=False)
                                             if t.state.is_finished()}
        self.bar = None
        if not options.quiet:
            from tqdm import tqdm

            used, _ = budget_used(study)
            self.bar = tqdm(total=options.trials, initial=min(used, options.trials), unit="trial",
                            dynamic_ncols=True, file=sys.stdout)

    def update(self, study, *_) -> None:
        if self.bar is None:
            return
        trials = study.get_trials(deepcopy=False)
        for trial in trials:
            if trial.state.is_finished() and trial.number not in self.seen:
                self.seen.add(trial.number)
                self.bar.write(describe_trial(trial, self.options.keys))
        used = sum(counts_toward_budget(t) for t in trials)
        self.bar.n = min(used, self.options.trials)
        best = best_text(study, self.options)
        if best:
            self.bar.set_postfix_str(best, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def best_text(study, options: TuneOptions) -> str:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return ""
    if len(options.keys) > 1:
        return f"pareto front: {len(study.best_trials)} trial(s)"
    return f"best {options.keys[0]}={study.best_value:.4f} (trial {study.best_trial.number})"


# --- the study ------------------------------------------------------------------------------
def open_study(options: TuneOptions, space: SearchSpace, url: str, storage, max_epochs: int):
    """Create the study or load it to resume; return (study, created)."""
    import optuna

    directions = [o.direction for o in options.objectives]
    existing = options.study in tune_storage.study_names(storage)
    used = 0
    if existing:
        summary = next(s for s in storage.get_all_studies() if s.study_name == options.study)
        used = len(storage.get_all_trials(summary._study_id, deepcopy=False))
        if [d.name.lower() for d in summary.directions] != directions:
            raise UserError(f"study {options.study!r} optimises {len(summary.directions)} objective(s) "
                            f"{[d.name.lower() for d in summary.directions]}; --objective {options.objective} "
                            f"asks for {directions}: use a new --study name")
        data = summary.user_attrs.get("data")
        if data and data != options.data:
            raise UserError(f"study {options.study!r} tunes on {data}; pass --data {data} or a new --study name")
        check_resumed(options.study, summary.user_attrs.get(SETTINGS_ATTR, {}),
                      summary.user_attrs.get(SEARCH_ATTR, []), space.settings, list(space.search))
    # a resumed study's sampler is seeded past its trials, so it does not replay their draws
    seed = options.seed + 7919 * options.worker_index + used
    sampler = make_sampler(options.sampler, seed, len(directions), parallel=options.jobs > 1 or
                           options.worker_of is not None)
    pruner = make_pruner(options.pruner, max_epochs)
    try:
        study = optuna.create_study(study_name=options.study, storage=storage, sampler=sampler,
                                    pruner=pruner, directions=directions)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=options.study, storage=storage, sampler=sampler, pruner=pruner)
        created = False
    if study.metric_names is None:  # optuna-dashboard labels the objective with it, not "Objective 0"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # set_metric_names is "experimental"
            study.set_metric_names(options.keys)
    if created:
        for key, value in {"data": options.data, "objective": options.objective, "seed": options.seed,
                           "epochs": list(space.epochs), "image_size": space.image_size,
                           "experiment": options.experiment, "space": space.as_dict(),
                           SETTINGS_ATTR: space.settings, SEARCH_ATTR: list(space.search)}.items():
            study.set_user_attr(key, value)
    return study, created


def study_run(study, options: TuneOptions, space: SearchSpace, url: str, created: bool,
              pruner: str) -> str:
    """The study's parent MLflow run: created with the study, reopened when resuming."""
    run_id = study.user_attrs.get(tune_tracking.STUDY_RUN_ATTR)
    if not created:
        for _ in range(60):  # another host may have just created the study: wait for its run
            if run_id:
                break
            time.sleep(0.5)
            run_id = study.user_attrs.get(tune_tracking.STUDY_RUN_ATTR)
    if run_id:
        tune_tracking.reopen_study_run(run_id)
        return run_id
    params = {"study": options.study, "data": options.data, "objective": options.objective,
              "directions": ",".join(o.direction for o in options.objectives), "sampler": options.sampler,
              "pruner": pruner, "storage": tune_storage.redact(url), "seed": options.seed,
              "archs": ",".join(space.archs), "frameworks": ",".join(space.frameworks),
              "epochs": f"{space.epochs[0]}-{space.epochs[1]}",
              **({"optimizers": ",".join(space.shared["optimizer"].choices)} if len(
                  space.shared["optimizer"].choices) < len(SHARED_SPACE["optimizer"].choices) else {}),
              **({"search": ",".join(space.search)} if space.search else {}), **space.settings}
    run_id = tune_tracking.create_study_run(options.experiment, options.study, params, space.as_dict())
    study.set_user_attr(tune_tracking.STUDY_RUN_ATTR, run_id)
    return run_id


def run_study(options: TuneOptions, space: SearchSpace, say=print) -> dict:
    """Run (or resume, or join as a worker) the study `options` describe; return a summary."""
    import optuna

    from experiments import tracking

    quiet_optuna()
    # a pruned trial's run ends FINISHED (no `error` tag: it did not crash), `trial.state` PRUNED
    tracking.STATUS_FOR_EXCEPTION[optuna.TrialPruned] = "FINISHED"
    url = options.storage or tune_storage.default_url(options.jobs, options.study)
    storage = tune_storage.open_storage(url, stale_trial_callback=on_trial_lost)
    pruner = options.pruner
    if len(options.objectives) > 1 and pruner != "none":
        say(f"note: pruning is off: Optuna cannot prune a multi-objective study ({options.objective})")
        pruner = "none"
    options.pruner = pruner
    study, created = open_study(options, space, url, storage, space.epochs[1])
    if options.worker_of:
        return workers.work(study, options, space, options.worker_of, url, prune=pruner != "none")

    parent_run_id = study_run(study, options, space, url, created, pruner)
    lost = tune_storage.fail_dead_local_trials(study, on_trial_lost)
    optuna.storages.fail_stale_trials(study)
    used, running = budget_used(study)
    say(f"study {options.study} ({'new' if created else 'resumed'}) on {options.data}: "
        f"{len(space.archs)} architecture(s) x {len(space.frameworks)} framework(s); "
        f"objective {', '.join(f'{o.key} ({o.direction})' for o in options.objectives)}; "
        f"sampler {options.sampler}, pruner {pruner}; {used}/{options.trials} trials done"
        f"{f', {running} running elsewhere' if running else ''}")
    say(f"storage {tune_storage.redact(url)}; MLflow study run {parent_run_id}")
    if lost:
        say(f"trial(s) {', '.join(map(str, lost))} had lost their worker: marked FAIL, to be run again")
    status = "FINISHED"
    start = time.perf_counter()
    heartbeat = tracking.Heartbeat(tracking.client(), parent_run_id).start()  # no ghost study run
    try:
        if used + running >= options.trials:
            say(f"the study already has {used} of {options.trials} trials; pass a larger --trials to run more")
        elif options.jobs > 1:
            workers.run_workers(study, options, url, parent_run_id, Progress(study, options))
        else:
            progress = Progress(study, options)
            try:
                workers.work(study, options, space, parent_run_id, url, prune=pruner != "none",
                             extra_callbacks=[progress.update])
            finally:
                progress.close()
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except Exception as err:
        full = tracking.disk_full_error(err)
        if full is None:
            raise
        status = "FAILED"
        raise disk_full_study(full, options) from None
    finally:
        heartbeat.stop()
        try:
            tune_tracking.finish_study_run(parent_run_id, study, options.keys, status=status)
        except Exception as err:  # a full disk: the study run is marked KILLED by the next command
            if status == "FINISHED" or tracking.disk_full_error(err) is None:
                raise
    elapsed = time.perf_counter() - start
    summary = study_summary(study, options)
    summary.update(wall_s=elapsed, parent_run_id=parent_run_id, storage=url)
    best = best_text(study, options)
    say(f"{summary['counted']} trials ({summary['states']}); {summary['epochs_trained']} training epochs; "
        f"{elapsed:.0f}s" + (f"; {best}" if best else ""))
    dashboard = url.removeprefix("journal:") if tune_storage.is_journal(url) else tune_storage.redact(url)
    say(f"next: nnlab best --study {options.study}    (browse: optuna-dashboard {dashboard})")
    return summary


def disk_full_study(full: UserError, options: TuneOptions) -> UserError:
    """The one line of a study stopped by a full disk: the folder, and how to go on. The study's
    storage is transactional (SQLite, PostgreSQL, Optuna's journal): its finished trials are
    kept, and the trial that was running is failed and run again when the study resumes."""
    where = str(full).split("; free space there")[0]
    return UserError(f"{where}; free space there, then run the same nnlab tune --study {options.study} "
                     "command: the study's finished trials are kept")


def study_summary(study, options: TuneOptions) -> dict:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    states = {s.name: sum(t.state == s for t in trials) for s in TrialState if s != TrialState.WAITING}
    summary = {"counted": sum(counts_toward_budget(t) for t in trials),
               "states": ", ".join(f"{v} {k.lower()}" for k, v in states.items() if v),
               "epochs_trained": tune_tracking.epochs_trained(trials), "n_trials": len(trials)}
    if any(t.state == TrialState.COMPLETE for t in trials):
        if len(options.keys) == 1:
            summary.update(best_value=study.best_value, best_trial=study.best_trial.number,
                           best_params=study.best_trial.params)
        else:
            summary["pareto_front"] = [t.number for t in study.best_trials]
    return summary
