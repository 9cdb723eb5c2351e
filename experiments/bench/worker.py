"""One benchmark measurement in a fresh process: prints one JSON line.

    python -m experiments.bench.worker MODEL PATH EPOCHS BATCH [PRECISION [ACCELERATOR]]

PATH is one of: lightning (the lab's `nnlab train --framework torch` path, MLflow on),
torch_loop (a hand-written PyTorch loop over the same nn.Module and batches),
keras_fit (the lab's `nnlab train --framework keras` path, MLflow on),
tf_loop (a hand-written tf.function GradientTape loop over the same Keras model and batches),
keras_datamodule / keras_tfdata (Keras `fit`, driven as the lab drives it, fed by the
shared datamodule vs by a native tf.data pipeline over the same arrays, tracking off);
trial (an Optuna study's per-trial cost beyond training);
peak (the matmul rate of PRECISION's compute type on ACCELERATOR: MODEL, EPOCHS, BATCH unused).
PRECISION (32, bf16-mixed, 16-mixed) and ACCELERATOR (auto, cpu, gpu) mean what `nnlab train`'s
options do; the hand-written loops train at the same precision (torch autocast; the same Keras
model, built under the mixed policy).
"""
from __future__ import annotations

import json
import resource
import sys
import time

from experiments.bench.models import MODELS
from modules import backend


class EpochClock:
    """Wall-clock end time of each epoch (the first one is warm-up)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ends: list[float] = []

    def tick(self) -> None:
        self.ends.append(time.perf_counter())

    def steady_epoch_seconds(self) -> list[float]:
        edges = [self.start, *self.ends]
        return [b - a for a, b in zip(edges[1:-1], edges[2:])]  # epochs 2..E


def keras_clock_callback(clock: EpochClock):
    """A Keras callback that times each epoch on `clock` (the first, warm-up epoch too)."""
    keras = backend.keras()

    class Tick(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if not clock.ends:
                clock.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            clock.tick()

    return Tick()


# what this process measures at (the command line's PRECISION and ACCELERATOR)
SETTINGS = {"precision": "32", "accelerator": "auto"}


def run_plan(model, framework: str, epochs: int, batch: int):
    """The run plan of `model` as `nnlab train` resolves it, at `epochs` and `batch`."""
    from experiments.plan import resolve

    return resolve({"framework": framework, "arch": model.arch, "data": model.data, "epochs": epochs,
                    "batch_size": batch, "image_size": model.image_size, "hparams": dict(model.hparams),
                    "quiet": True, "experiment": "bench", **SETTINGS}, source="the benchmark")


# the compute type of each precision's matmuls and convolutions
COMPUTE_DTYPE = {"32": "float32", "bf16-mixed": "bfloat16", "16-mixed": "float16"}


def matmul_peak(precision: str, accelerator: str, size: int = 2048, repeats: int = 5) -> dict:
    """The best of a few square matmuls in `precision`'s compute type, in GFLOP/s."""
    from experiments.hardware import resolve_accelerator

    torch = backend.torch()
    device = "cuda" if resolve_accelerator("torch", accelerator) == "gpu" else "cpu"
    dtype = getattr(torch, COMPUTE_DTYPE[precision])
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):  # the first is warm-up (oneDNN picks its kernel)
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return {"samples": 0, "epoch_seconds": [], "matmul_peak_gflops": 2 * size ** 3 / best / 1e9}


def datamodule_of(plan):
    from experiments.train import make_datamodule

    return make_datamodule(plan)


def lab_path(model, framework: str, epochs: int, batch: int) -> dict:
    """`nnlab train` as users run it (tracking on), timed per epoch by a callback."""
    from experiments import tracking, train as train_module

    clock = EpochClock()
    log_seconds = []
    original = tracking.TrackedRun.log_metrics

    def timed_log(self, metrics, step=0, **kwargs):  # how long MLflow logging takes per epoch
        t = time.perf_counter()
        original(self, metrics, step, **kwargs)
        log_seconds.append(time.perf_counter() - t)

    tracking.TrackedRun.log_metrics = timed_log
    if framework == "torch":
        from experiments.runners.torch_runner import Callback

        class Tick(Callback):
            def on_train_epoch_start(self, loop, task):
                if not clock.ends:
                    clock.start = time.perf_counter()

            def on_train_epoch_end(self, loop, task):
                clock.tick()
        callback = Tick()
    else:
        callback = keras_clock_callback(clock)
    plan = run_plan(model, framework, epochs, batch)
    summary = train_module.train(plan, progress=lambda *a: None, callbacks=[callback])
    n = len(datamodule_of(plan).splits["train"])
    steady = clock.steady_epoch_seconds()
    per_epoch_log = sum(log_seconds[:epochs]) / max(1, min(epochs, len(log_seconds)))
    return {"samples": n, "epoch_seconds": steady, "mlflow_log_s_per_epoch": per_epoch_log,
            "test_acc": summary.get("test/acc")}


def torch_loop(model, epochs: int, batch: int) -> dict:
    """The floor for the Lightning path: the same nn.Module, batches and optimizer, by hand."""
    torch = backend.torch()
    from experiments.runners.torch_runner import build_task
    from modules.optim.torch_optim import make_optimizer

    plan = run_plan(model, "torch", epochs, batch)
    config, dm = plan.config, datamodule_of(plan)
    torch.manual_seed(config.seed)
    network = build_task(plan.arch, dm, config).network
    optimizer = make_optimizer(config.optimizer, network.parameters(), config.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = dm.train_dataloader()
    device, autocast, scaler = hand_written_precision(config)
    network.to(device)
    clock = EpochClock()
    for epoch in range(epochs):
        network.train()
        loader.batch_sampler.set_epoch(epoch)
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(network(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        network.eval()
        with torch.no_grad(), autocast():  # validation, as the lab's path does each epoch
            for x, _ in dm.val_dataloader():
                network(x.to(device))
        if device == "cuda":
            torch.cuda.synchronize()
        clock.tick()
    return {"samples": len(dm.splits["train"]), "epoch_seconds": clock.steady_epoch_seconds()}


def hand_written_precision(config) -> tuple:
    """(device, autocast context factory, gradient scaler) of a hand-written torch loop at
    `config`'s accelerator and precision: what Fabric's precision plugin does in the lab's loop."""
    import contextlib
    import functools

    from experiments.hardware import resolve_accelerator

    torch = backend.torch()
    device = "cuda" if resolve_accelerator("torch", config.accelerator) == "gpu" else "cpu"
    if config.precision == "32":
        autocast = contextlib.nullcontext
    else:
        autocast = functools.partial(torch.autocast, device, dtype=getattr(torch, COMPUTE_DTYPE[config.precision]))
    scaler = torch.amp.GradScaler(device, enabled=config.precision == "16-mixed")
    return device, autocast, scaler


def keras_task_of(model, epochs: int, batch: int):
    """(config, datamodule, Keras task) of `model`'s run plan, seeded as the lab's runner seeds it."""
    from experiments.runners.keras_runner import build_task, seed_everything

    plan = run_plan(model, "keras", epochs, batch)
    config, dm = plan.config, datamodule_of(plan)
    seed_everything(config.seed)
    return config, dm, build_task(plan.arch, dm, config)


def tf_loop(model, epochs: int, batch: int) -> dict:
    """The floor for the Keras path: a tf.function GradientTape loop over the same model and batches."""
    keras = backend.keras()
    tf = backend.tensorflow()
    config, dm, task = keras_task_of(model, epochs, batch)
    network, optimizer = task.network, task.make_optimizer()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, network(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, network.trainable_variables),
                                      network.trainable_variables))
        return loss

    @tf.function
    def eval_step(x):
        return network(x, training=False)

    steps = dm.steps_per_epoch("train")
    batches = iter(dm.keras_dataset("train", epochs=epochs))
    clock = EpochClock()
    for _ in range(epochs):
        for _ in range(steps):
            x, y = next(batches)
            train_step(x, y)
        for x, _ in dm.keras_dataset("val"):
            eval_step(x)
        clock.tick()
    return {"samples": len(dm.splits["train"]), "epoch_seconds": clock.steady_epoch_seconds()}


def keras_feed(model, epochs: int, batch: int, native: bool) -> dict:
    """Keras `fit` (no tracking) fed by the datamodule, or by a native tf.data pipeline."""
    backend.keras()
    tf = backend.tensorflow()
    config, dm, task = keras_task_of(model, epochs, batch)
    clock = EpochClock()
    tick = keras_clock_callback(clock)
    if native:
        x, y = dm.arrays("train", layout="channels_last")
        xv, yv = dm.arrays("val", layout="channels_last")
        train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=config.seed)
                 .batch(batch).prefetch(tf.data.AUTOTUNE))
        val = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(batch).prefetch(tf.data.AUTOTUNE)
        task.model.fit(train, epochs=epochs, validation_data=val, callbacks=[tick], verbose=0)
    else:
        task.model.fit(dm.keras_dataset("train", epochs=epochs), epochs=epochs,
                       steps_per_epoch=dm.steps_per_epoch("train"), validation_data=dm.keras_dataset("val"),
                       callbacks=[tick], verbose=0)
    return {"samples": len(dm.splits["train"]), "epoch_seconds": clock.steady_epoch_seconds()}


def trial_overhead(model, epochs: int, trials: int = 6) -> dict:
    """What an Optuna trial costs beyond its training: a real study of `trials` trials of
    `model` (torch, no pruning) in a scratch folder; per trial, its wall time in the storage
    minus the fit time its MLflow run logged (suggesting, building the network and data,
    scoring the test split, the model file and plots, the MLflow run and the storage)."""
    import os
    import tempfile

    from experiments import tracking
    from experiments.tune import tracking as tune_tracking
    from experiments.tune.options import TuneOptions
    from experiments.tune.space import SearchSpace
    from experiments.tune.study import run_study

    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # mlruns/ (MLflow and the Optuna storage) go here
        options = TuneOptions(study="bench", data=model.data, archs=[model.arch], frameworks=["torch"],
                              trials=trials, pruner="none", epochs=str(epochs), quiet=True)
        space = SearchSpace.build(model.data, archs=[model.arch], frameworks=["torch"],
                                  epochs=(epochs, epochs), image_size=model.image_size, seed=0)
        run_study(options, space, say=lambda *a: None)
        import optuna

        study = optuna.load_study(study_name="bench", storage=f"sqlite:///{scratch}/mlruns/optuna.db")
        client = tracking.client()
        overheads = []
        for trial in study.trials:
            if trial.state.name != "COMPLETE":
                continue
            wall = (trial.datetime_complete - trial.datetime_start).total_seconds()
            fit = client.get_run(trial.user_attrs[tune_tracking.TRIAL_RUN_ATTR]).data.metrics["train_time_s"]
            overheads.append(wall - fit)
    return {"samples": 0, "epoch_seconds": [], "trial_overhead_s": overheads}


def measure(model_name: str, path: str, epochs: int, batch: int) -> dict:
    model = MODELS[model_name]
    if path == "lightning":
        result = lab_path(model, "torch", epochs, batch)
    elif path == "keras_fit":
        result = lab_path(model, "keras", epochs, batch)
    elif path == "torch_loop":
        result = torch_loop(model, epochs, batch)
    elif path == "tf_loop":
        result = tf_loop(model, epochs, batch)
    elif path == "trial":
        result = trial_overhead(model, epochs)
    elif path == "peak":
        result = matmul_peak(SETTINGS["precision"], SETTINGS["accelerator"])
    else:
        result = keras_feed(model, epochs, batch, native=path == "keras_tfdata")
    seconds = result["epoch_seconds"]
    result.update(model=model_name, path=path, precision=SETTINGS["precision"],
                  samples_per_s=result["samples"] * len(seconds) / sum(seconds) if seconds else None,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


if __name__ == "__main__":
    backend.quiet_environment()
    model_name, path, epochs, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    SETTINGS.update(zip(("precision", "accelerator"), sys.argv[5:7]))
    print("BENCH " + json.dumps(measure(model_name, path, epochs, batch)))
