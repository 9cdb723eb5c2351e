"""Train with Keras 3 (TensorFlow backend)."""
from __future__ import annotations

import contextlib
import itertools
import json
import time
from pathlib import Path

import numpy as np

from experiments.pacing import Pacer
from experiments.runners import EpochCallback, EpochProgress, FitResult, check_finite
from modules import backend

keras = backend.keras()

from experiments.controls import make_watch  # noqa: E402
from experiments.files import write_json_atomic  # noqa: E402
from experiments.recipes import recipe_of  # noqa: E402
from experiments.tasks import effective_task, task_class  # noqa: E402
from modules.toolkit.keras_layers import count_parameters  # noqa: E402


def lab_metric_name(keras_name: str) -> str:
    """Keras's log names -> the lab's: `loss` -> `train/loss`, `val_acc` -> `val/acc`."""
    if keras_name.startswith("val_"):
        return "val/" + keras_name[4:]
    return "train/" + keras_name


class ReportEpochs(keras.callbacks.Callback):
    """Hands each epoch's metrics to the tracker under the lab's names."""

    def __init__(self, on_epoch: EpochCallback, after_epoch=None, task=None) -> None:
        super().__init__()
        self.on_epoch, self.history = on_epoch, []
        self.after_epoch = after_epoch  # (epoch) -> None, called once the metrics are handed over
        self.task, self.learning_rates = task, {}

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        # each optimizer's rate as the epoch starts (its schedule at the optimizer's step count)
        if self.task is not None:
            # convert_to_numpy: under a distribution strategy the rate is a MirroredVariable
            self.learning_rates = {key: float(keras.ops.convert_to_numpy(optimizer.learning_rate))
                                   for key, optimizer in zip(self.task.LR_KEYS, self.task.optimizers())}

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        metrics = {lab_metric_name(k): float(v) for k, v in (logs or {}).items()
                   if k != "learning_rate"}
        check_finite(epoch, metrics)  # before the epoch is logged or checkpointed
        metrics.update(self.learning_rates)
        self.history.append(metrics)
        self.on_epoch(epoch, metrics)
        if self.after_epoch is not None:
            self.after_epoch(epoch)


class BestEpoch(keras.callbacks.Callback):
    """`--select-best` and `--early-stop`: an `experiments.controls.EpochWatch` over the epoch's
    metrics as reported; keeps a copy of the best epoch's weights (`restore` loads them) and
    stops `fit` when patience runs out."""

    def __init__(self, watch, reporter: ReportEpochs, keep_weights: bool) -> None:
        super().__init__()
        self.watch, self.reporter, self.keep_weights = watch, reporter, keep_weights
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.watch.update(epoch, self.reporter.history[-1]) and self.keep_weights:
            self.best_weights = self.model.get_weights()
        if self.watch.should_stop:
            self.model.stop_training = True

    def restore(self) -> None:
        """Load the best epoch's weights back into the model they were taken from (if kept)."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class EpochCheckpoint(keras.callbacks.Callback):
    """After an epoch, as often as `Pacer` allows (0.5% of the time): the model's and the
    optimizer's variables (`save_weights` walks the optimizer too, as
    `keras.callbacks.BackupAndRestore` relies on) and a small JSON naming that file, the
    next epoch and the lab's history. The JSON is replaced last, atomically,
    so it always names a complete weights file."""

    STATE = "state.json"

    def __init__(self, folder: Path, reporter: ReportEpochs, best: BestEpoch | None = None) -> None:
        super().__init__()
        self.folder, self.reporter, self.best = Path(folder), reporter, best
        self.pacer = Pacer()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.pacer.due():
            self.pacer.run(lambda: self._save(epoch))

    def _save(self, epoch: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{epoch + 1}.weights.h5"
        self.model.save_weights(self.folder / weights)
        np.savez(self.folder / f"epoch-{epoch + 1}.rng.npz", *[v.numpy() for v in rng_variables(self.model)])
        state = {"next_epoch": epoch + 1, "weights": weights, "history": self.reporter.history}
        if self.best is not None:  # the patience counter and best weights go on after a resume
            state["best_epoch"] = self.best.watch.state()
            if self.best.best_weights is not None:
                np.savez(self.folder / f"epoch-{epoch + 1}.best.npz", *self.best.best_weights)
        write_json_atomic(self.folder / self.STATE, state)
        for old in self.folder.glob("epoch-*"):
            if not old.name.startswith(f"epoch-{epoch + 1}."):
                old.unlink()


def rng_variables(model) -> list:
    """The dropout layers' seed-generator states: variables that `save_weights` leaves out,
    without which a resumed fit would draw other dropout masks."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def restore_checkpoint(folder: Path, model, reporter: ReportEpochs, best: BestEpoch | None = None) -> int:
    """Load the checkpoint in `folder` into `model` (weights and optimizer); return the epoch
    to start from (0 when there is none)."""
    state_file = Path(folder) / EpochCheckpoint.STATE
    if not state_file.exists():
        return 0
    state = json.loads(state_file.read_text())
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # its variables must exist to be loaded
    model.load_weights(Path(folder) / state["weights"])
    with np.load(Path(folder) / state["weights"].replace(".weights.h5", ".rng.npz")) as saved:
        for variable, key in zip(rng_variables(model), saved.files):
            variable.assign(saved[key])
    reporter.history[:] = state["history"]
    if best is not None and "best_epoch" in state:
        best.watch.load(state["best_epoch"])
        best_file = Path(folder) / state["weights"].replace(".weights.h5", ".best.npz")
        if best_file.exists():
            with np.load(best_file) as saved:
                best.best_weights = [saved[key] for key in saved.files]
    return int(state["next_epoch"])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's ops deterministic."""
    keras.utils.set_random_seed(seed)
    backend.tensorflow().config.experimental.enable_op_determinism()


class ShowProgress(keras.callbacks.Callback):
    """`experiments.runners.EpochProgress` in place of Keras's own progress bar (`fit` runs with
    verbose=0): the lab's metric names and order, the same bar and line as the torch runner's."""

    def __init__(self, epochs: int, steps: int) -> None:
        super().__init__()
        self.view, self.metrics = EpochProgress(epochs, steps), {}

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.view.start(epoch + 1)

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.view.step(batch + 1, lambda: {lab_metric_name(k): float(v) for k, v in (logs or {}).items()
                                           if k != "learning_rate"})

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.view.end(epoch + 1, {lab_metric_name(k): float(v) for k, v in (logs or {}).items()
                                  if k != "learning_rate"})


# `--precision` -> the Keras dtype policy the network is built under: variables in float32,
# computations in the policy's type (https://keras.io/api/mixed_precision/policy/); `compile`
# wraps the optimizer in a LossScaleOptimizer under mixed_float16
KERAS_POLICY = {"32": "float32", "bf16-mixed": "mixed_bfloat16", "16-mixed": "mixed_float16"}


@contextlib.contextmanager
def precision_policy(precision: str):
    """Build under `precision`'s dtype policy; the previous global policy is back afterwards,
    so a process that builds twice (a study, the tests) starts each build clean."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(KERAS_POLICY[str(precision)])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def keep_float32(network) -> None:
    """After a mixed-precision build: compute in float32 the layers that make a functional
    network's outputs (Keras's mixed-precision guide: logits in bf16/fp16 lose the precision
    softmax and the loss need) and every recurrent layer with its cells (bf16 made Keras's GRU
    and LSTM steps slower on CPU, where torch's gained: docs/benchmarks.md). Their inputs are
    cast on the way in; the variables are float32 under every policy. A subclassed network's
    outputs reach the loss, which computes in float32, as they are."""
    if not isinstance(network, keras.Model):
        return
    kept = [output._keras_history.operation for output in keras.tree.flatten(getattr(network, "outputs", None) or [])]
    for layer in network._flatten_layers(include_self=False):  # nested ones too (Keras has no public walk)
        if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            kept += [layer, getattr(layer, "cell", None), getattr(layer, "forward_layer", None),
                     getattr(layer, "backward_layer", None)]
            kept += [getattr(sub, "cell", None) for sub in kept[-2:] if sub is not None]
    for layer in kept:
        if isinstance(layer, keras.layers.Layer) and layer.compute_dtype != "float32":
            layer.dtype_policy = "float32"


def device_scope(config):
    """Where a Keras run's model lives: MirroredStrategy over this machine's devices
    (`--distribute`) or over `--devices N` GPUs; the CPU alone under `--accelerator cpu` on a
    machine with GPUs; else TensorFlow's default placement (the first GPU, else the CPU)."""
    from experiments.hardware import gpu_count

    tf = backend.tensorflow()
    devices = getattr(config, "devices", 1)
    if getattr(config, "distribute", False):  # variables mirrored over the local devices
        return tf.distribute.MirroredStrategy().scope()
    if getattr(config, "accelerator", "auto") == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0").scope() if gpu_count("keras") else contextlib.nullcontext()
    if devices > 1:
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices)]).scope()
    return contextlib.nullcontext()


def build_task(arch, datamodule, config):
    """The network of `arch` for `datamodule`'s shape, built under `--precision`'s policy and
    wrapped in its Keras task, its `fit` fed from Python (`feed_steps_from_python`)."""
    with precision_policy(getattr(config, "precision", "32")):
        network = arch.build("keras", datamodule.input_shape, datamodule.num_classes, **config.hparams)
        keep_float32(network)
        if config.init_weights:
            from experiments.init_weights import load_into_keras

            load_into_keras(arch, network, datamodule.input_shape, datamodule.num_classes, config.hparams,
                            config.init_weights)
        task_name = effective_task(arch.task, datamodule.info.task, arch.name, datamodule.info.name)
        steps = datamodule.steps_per_epoch("train")
        task = task_class(task_name, "keras")(network, lr=config.lr, optimizer=config.optimizer,
                                              lr_schedule=config.lr_schedule, total_steps=config.epochs * steps,
                                              grad_clip=config.grad_clip, recipe=recipe_of(config, steps))
    feed_steps_from_python(task.model)
    return task


def feed_steps_from_python(model) -> None:
    """Make `fit` and `evaluate` read each batch in Python and pass it to the compiled step.

    Keras 3 on TensorFlow reads a `tf.data` iterator inside its compiled function
    (`iterator.get_next()` wrapped in an `Optional`), which costs a recurrent network a share
    of every step against the same step fed from Python (`nnlab bench`, docs/benchmarks.md). Keras's train
    function takes its Python path for an iterator that is not a `tf.data` one: the same
    compiled `train_step`, under the same distribution strategy. Call after `compile`;
    a model with its own `fit` (the ESN's closed-form readout) is left as it is.
    """
    if not isinstance(model, keras.Model):
        return
    for kind in ("train", "test"):
        getattr(model, f"make_{kind}_function")(force=True)
        setattr(model, f"{kind}_function", _read_in_python(getattr(model, f"{kind}_function")))


def _read_in_python(keras_function):
    def function(iterator):
        first = next(iterator)  # at the end of the data: StopIteration, which ends the epoch as before
        return keras_function(itertools.chain([first], iterator))
    return function


def fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list = (),
        on_epoch_outputs=None, checkpoint_dir: Path | None = None) -> FitResult:
    """Train `arch` on `datamodule` with Keras `fit`, fed the datamodule's batches
    (see `experiments.runners.fit`); checkpoint into `checkpoint_dir` each epoch,
    resuming from a checkpoint found there."""
    if getattr(config, "workers", None):  # variables mirrored over the workers (before any op)
        from experiments.runners import keras_multiworker

        scope = keras_multiworker.strategy().scope()
        keras_multiworker.share_batches(datamodule, config.workers, config.worker_index)
    else:
        scope = device_scope(config)
    seed_everything(config.seed)
    with scope:
        task = build_task(arch, datamodule, config)
    after_epoch = None
    if on_epoch_outputs is not None and hasattr(task, "epoch_outputs"):
        after_epoch = lambda epoch: on_epoch_outputs(epoch, task.epoch_outputs())  # noqa: E731
    reporter = ReportEpochs(on_epoch, after_epoch, task)
    lab_callbacks, first_epoch = [reporter], 0
    if not config.quiet:
        lab_callbacks.insert(0, ShowProgress(config.epochs, datamodule.steps_per_epoch("train")))
    watch = make_watch(config)
    best = BestEpoch(watch, reporter, keep_weights=bool(config.select_best)) if watch is not None else None
    if best is not None:
        lab_callbacks.append(best)
    if checkpoint_dir is not None:
        first_epoch = restore_checkpoint(checkpoint_dir, task.model, reporter, best)
        lab_callbacks.append(EpochCheckpoint(checkpoint_dir, reporter, best))
    start = time.perf_counter()
    # the batches of the remaining epochs only, in the order those epochs have uninterrupted
    train_batches = datamodule.keras_dataset("train", epochs=config.epochs - first_epoch,
                                             first_epoch=first_epoch)
    task.model.fit(train_batches, epochs=config.epochs, initial_epoch=first_epoch,
                   steps_per_epoch=datamodule.steps_per_epoch("train"),
                   validation_data=datamodule.keras_dataset("val"),
                   callbacks=[*lab_callbacks, *callbacks], verbose=0)
    train_time = time.perf_counter() - start
    if best is not None:
        best.restore()
    if getattr(config, "workers", None):
        keras_multiworker.predict_locally(task.model, task.network)
    return FitResult(model=task.network, n_params=count_parameters(task.network),
                     train_time_s=train_time,
                     samples_seen=len(datamodule.splits["train"]) * len(reporter.history),
                     test_outputs=task.test_outputs(datamodule) if config.score_test else None,
                     history=reporter.history,
                     controls=watch.summary() if watch is not None else {})


def save_model(model, folder: Path) -> Path:
    """Save the `.keras` file (load it back with `safe_mode=True`)."""
    path = folder / "model.keras"
    model.save(path)
    return path
