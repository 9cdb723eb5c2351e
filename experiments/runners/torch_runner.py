"""Train with PyTorch on Lightning Fabric: the tasks are `nn.Module`s with LightningModule's
method names (`experiments.tasks.torch_base`), the loop is the lab's own on Lightning Fabric
(devices, DDP launch and gradient sync, backward, checkpoint files).

Why not `lightning.Trainer`: its per-batch machinery (a dozen hook dispatches, the closure of
automatic optimisation, result collection) costs a fixed time per step that held small networks
below a hand-written loop in `nnlab bench` (figures: docs/benchmarks.md); this loop runs at the
loop's speed. The lab used little else of the Trainer, and that is here: the epoch loop,
per-step LR schedules, manual optimisation (GAN, echo state network), callbacks, checkpoint
and resume, DDP.
"""
from __future__ import annotations

import contextlib
import os
import random
import time
from pathlib import Path

import numpy as np

from experiments.pacing import Pacer
from experiments.runners import EpochCallback, EpochProgress, FitResult, check_finite
from modules import backend

torch = backend.torch()
lightning_fabric = backend.fabric()
Fabric = lightning_fabric.Fabric

from experiments.controls import make_watch  # noqa: E402
from experiments.files import atomic_path  # noqa: E402
from experiments.recipes import recipe_of  # noqa: E402
from experiments.tasks import effective_task, task_class  # noqa: E402
from modules.toolkit.torch_layers import count_parameters  # noqa: E402


class Callback:
    """What the loop calls, with the names and arguments of Lightning's `Callback` (so one of
    those works too); `loop` is the `FitLoop` (`current_epoch`, `optimizers`, `should_stop`...)."""

    def on_train_epoch_start(self, loop, task) -> None:
        pass

    def on_train_batch_start(self, loop, task, batch, batch_idx: int) -> None:
        pass

    def on_train_epoch_end(self, loop, task) -> None:
        """After the epoch's validation."""


class ReportEpochs(Callback):
    """Hands each epoch's metrics to the tracker, after validation has run."""

    def __init__(self, on_epoch: EpochCallback, on_epoch_outputs=None) -> None:
        self.on_epoch, self.history = on_epoch, []
        self.on_epoch_outputs = on_epoch_outputs
        self.learning_rates = {}

    def on_train_epoch_start(self, loop, task) -> None:
        # each optimizer's rate as the epoch starts (Lightning's LearningRateMonitor per epoch)
        self.learning_rates = {key: float(optimizer.param_groups[0]["lr"])
                               for key, optimizer in zip(task.LR_KEYS, loop.optimizers)}

    def on_train_epoch_end(self, loop, task) -> None:
        metrics = {**task.epoch_metrics(), **self.learning_rates}
        if loop.world_size > 1:  # each rank saw its share: the epoch's value is their mean
            metrics = {k: float(loop.fabric.all_reduce(torch.tensor(float(v)), reduce_op="mean"))
                       for k, v in sorted(metrics.items())}
        check_finite(loop.current_epoch, metrics)  # before the epoch is logged or checkpointed
        self.history.append(metrics)
        if loop.is_global_zero:
            self.on_epoch(loop.current_epoch, metrics)
            if self.on_epoch_outputs is not None and hasattr(task, "epoch_outputs"):
                self.on_epoch_outputs(loop.current_epoch, task.epoch_outputs())


class BestEpoch(Callback):
    """`--select-best` and `--early-stop`: an `experiments.controls.EpochWatch` over the epoch's
    metrics as reported; keeps a copy of the best epoch's weights (`restore` loads them) and
    stops the loop when patience runs out."""

    def __init__(self, watch, reporter: ReportEpochs, keep_weights: bool) -> None:
        self.watch, self.reporter, self.keep_weights = watch, reporter, keep_weights
        self.best_weights = None

    def on_train_epoch_end(self, loop, task) -> None:
        if self.watch.update(loop.current_epoch, self.reporter.history[-1]) and self.keep_weights:
            self.best_weights = {k: v.detach().clone() for k, v in task.state_dict().items()}
        if self.watch.should_stop:
            loop.should_stop = True

    def restore(self, task) -> None:
        """Load the best epoch's weights into `task` (if they were kept)."""
        if self.best_weights is not None:
            task.load_state_dict(self.best_weights)

    def state(self) -> dict:
        return {"watch": self.watch.state(), "weights": self.best_weights}

    def load(self, state: dict) -> None:
        self.watch.load(state["watch"])
        self.best_weights = state["weights"]


class EpochCheckpoint(Callback):
    """After an epoch (and its validation), as often as `Pacer` allows (0.5% of the time):
    weights, optimizers, LR schedules, the next epoch, the lab's history and the RNG states
    (so dropout continues as if never stopped). Written to a temporary file and renamed: a
    crash never leaves half a file."""

    FILE = "last.ckpt"

    def __init__(self, folder: Path, reporter: ReportEpochs, best: BestEpoch | None = None) -> None:
        self.path, self.reporter, self.best = Path(folder) / self.FILE, reporter, best
        self.pacer = Pacer()

    def on_train_epoch_end(self, loop, task) -> None:
        due = self.pacer.due()
        if loop.world_size > 1:  # every rank must take part in a save: rank zero decides
            due = loop.fabric.broadcast(due, src=0)
        if due:
            self.pacer.run(lambda: self._save(loop))

    def _save(self, loop) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {**loop.stateful(), "next_epoch": loop.current_epoch + 1, "history": list(self.reporter.history),
                 "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                 "python_rng": random.getstate()}
        if self.best is not None:  # the patience counter and best weights go on after a resume
            state["best_epoch"] = self.best.state()
        # every rank takes part in `fabric.save`, and rank zero alone writes: it writes a
        # temporary file and renames it; the other ranks' path is never written
        target = atomic_path(self.path, ".ckpt") if loop.is_global_zero else contextlib.nullcontext(self.path)
        with target as path:
            loop.fabric.save(path, state)

    def restore(self, loop) -> int:
        """Load the checkpoint, if there is one, into `loop`'s objects; the epoch to start from."""
        if not self.path.exists():
            return 0
        # the lab's own file (tensors, ints, the RNG tuples), not a stranger's
        rest = loop.fabric.load(self.path, loop.stateful(), weights_only=False)
        self.reporter.history[:] = rest["history"]
        torch.set_rng_state(rest["torch_rng"])
        np.random.set_state(rest["numpy_rng"])
        random.setstate(rest["python_rng"])
        if self.best is not None and "best_epoch" in rest:
            self.best.load(rest["best_epoch"])
        return int(rest["next_epoch"])


class ShowProgress(Callback):
    """`experiments.runners.EpochProgress` driven by the loop: the running train loss on the bar
    while an epoch runs, the epoch's metrics when it ends (the same line as the Keras runner's)."""

    def __init__(self, epochs: int, steps: int) -> None:
        self.view = EpochProgress(epochs, steps)

    def on_train_epoch_start(self, loop, task) -> None:
        self.view.start(loop.current_epoch + 1)

    def on_train_batch_start(self, loop, task, batch, batch_idx: int) -> None:
        if batch_idx:  # the previous step is done
            self.view.step(batch_idx, lambda: {f"train/{k}": v for k, v in task.epoch_means["train"].means().items()})

    def on_train_epoch_end(self, loop, task) -> None:
        self.view.end(loop.current_epoch + 1, task.epoch_metrics())


class FitLoop:
    """One fit of a task: the epoch loop, and the state its callbacks read."""

    def __init__(self, fabric: Fabric, task, datamodule, epochs: int, callbacks: list) -> None:
        self.fabric, self.datamodule, self.max_epochs = fabric, datamodule, epochs
        self.callbacks = callbacks
        self.task = task  # the LightningModule itself (its state); `self.module` is what runs
        configured = task.configure_optimizers()
        optimizers, self.schedulers = _optimizers_and_schedulers(configured)
        self.module, *self.optimizers = fabric.setup(task, *optimizers)
        self.current_epoch, self.epochs_run, self.should_stop = 0, 0, False
        self.grad_clip = None  # `--grad-clip`: the most the global gradient norm may be
        self.move_batches = fabric.device.type != "cpu"  # CPU batches are used where they are

    @property
    def world_size(self) -> int:
        return self.fabric.world_size

    @property
    def is_global_zero(self) -> bool:
        return self.fabric.is_global_zero

    def stateful(self) -> dict:
        """What a checkpoint holds of the fit's objects (module, optimizers, LR schedules)."""
        return {"task": self.task, **{f"optimizer_{i}": o for i, o in enumerate(self.optimizers)},
                **{f"lr_schedule_{i}": s for i, s in enumerate(self.schedulers)}}

    def run(self, first_epoch: int = 0) -> None:
        """Train epochs `first_epoch`.. (each followed by validation) until done or stopped."""
        train_loader, val_loader = self.datamodule.train_dataloader(), self.datamodule.val_dataloader()
        for epoch in range(first_epoch, self.max_epochs):
            self.current_epoch = epoch
            self._train_epoch(train_loader)
            self._validate(val_loader)
            self.task.on_train_epoch_end()
            self._call("on_train_epoch_end")
            self.epochs_run += 1
            if self.should_stop:
                break

    def _train_epoch(self, loader) -> None:
        module, task = self.module, self.task
        loader.batch_sampler.set_epoch(self.current_epoch)
        module.train()
        task.on_train_epoch_start()
        self._call("on_train_epoch_start")
        for batch_idx, batch in enumerate(loader):
            if self.move_batches:
                batch = self.fabric.to_device(batch)
            for callback in self.callbacks:
                callback.on_train_batch_start(self, task, batch, batch_idx)
            if not task.automatic_optimization:  # the task steps its optimizers itself
                with self.fabric.autocast():
                    module.training_step(batch, batch_idx)
                continue
            optimizer = self.optimizers[0]
            optimizer.zero_grad(set_to_none=True)
            # `--precision`: the step under the precision plugin's autocast (Fabric applies it to
            # `forward` only, and a task's step on one device does not pass through `forward`)
            with self.fabric.autocast():
                loss = module.training_step(batch, batch_idx)
            self.fabric.backward(loss)
            if self.grad_clip:  # torch.nn.utils.clip_grad_norm_ over all parameters, as Keras's global_clipnorm
                self.fabric.clip_gradients(module, optimizer, max_norm=self.grad_clip)
            optimizer.step()
            for schedule in self.schedulers:
                schedule.step()

    def _validate(self, loader) -> None:
        if len(loader) == 0:
            return
        module, task = self.module, self.task
        module.eval()
        task.on_validation_epoch_start()
        with torch.inference_mode(), self.fabric.autocast():
            for batch_idx, batch in enumerate(loader):
                module.validation_step(self.fabric.to_device(batch) if self.move_batches else batch, batch_idx)
        module.train()

    def _call(self, hook: str) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, self.task)


def _optimizers_and_schedulers(configured) -> tuple[list, list]:
    """`configure_optimizers`' answer in the shapes the lab's tasks give: an optimizer, a list
    of them (manual optimisation), or {"optimizer", "lr_scheduler": {"scheduler", "interval": "step"}}."""
    if isinstance(configured, torch.optim.Optimizer):
        return [configured], []
    if isinstance(configured, dict):
        schedule = configured["lr_scheduler"]
        if schedule.get("interval") != "step":
            raise ValueError("the lab's loop steps LR schedules per optimizer step, "
                             f"not per {schedule.get('interval')!r}")
        return [configured["optimizer"]], [schedule["scheduler"]]
    return list(configured), []


# `--precision` -> Fabric's precision plugin: autocast for the mixed ones, a gradient scaler for
# float16 (https://lightning.ai/docs/fabric/stable/fundamentals/precision.html)
FABRIC_PRECISION = {"32": "32-true", "bf16-mixed": "bf16-mixed", "16-mixed": "16-mixed"}


def fabric_settings(config) -> dict:
    """Fabric's keyword arguments for `--accelerator/--devices/--num-nodes/--strategy/--precision`:
    one device unless more are asked (then DDP: gloo on CPU, NCCL on GPUs); `auto` is the
    GPUs when torch sees one (`experiments.hardware.resolve_accelerator`)."""
    from experiments.hardware import resolve_accelerator

    devices, nodes = getattr(config, "devices", 1), getattr(config, "num_nodes", 1)
    accelerator = resolve_accelerator("torch", getattr(config, "accelerator", "auto"))
    settings = {"accelerator": "cuda" if accelerator == "gpu" else "cpu", "devices": devices,
                "precision": FABRIC_PRECISION[str(getattr(config, "precision", "32"))]}
    if devices > 1 or nodes > 1:
        settings.update(num_nodes=nodes, strategy=config.strategy or "ddp")
    return settings


def make_fabric(config) -> Fabric:
    """Fabric for the run's devices and precision (`fabric_settings`)."""
    return Fabric(**fabric_settings(config))


def build_task(arch, datamodule, config):
    """The network of `arch` for `datamodule`'s shape, inside its task's LightningModule."""
    network = arch.build("torch", datamodule.input_shape, datamodule.num_classes, **config.hparams)
    if config.init_weights:
        from experiments.init_weights import load_into_torch

        load_into_torch(network, config.init_weights, datamodule.num_classes)
    if len(datamodule.input_shape) == 3:
        # images: channels-last convolutions (oneDNN's native layout) train faster on CPU
        # (docs/benchmarks.md); the first convolution converts each NCHW batch
        network = network.to(memory_format=torch.channels_last)
    task_name = effective_task(arch.task, datamodule.info.task, arch.name, datamodule.info.name)
    steps = len(datamodule.train_dataloader())  # per epoch, per rank
    return task_class(task_name, "torch")(network, lr=config.lr, optimizer=config.optimizer,
                                           lr_schedule=config.lr_schedule, total_steps=config.epochs * steps,
                                           recipe=recipe_of(config, steps))


def fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list = (),
        on_epoch_outputs=None, checkpoint_dir: Path | None = None) -> FitResult:
    """Train `arch` on `datamodule` (see `experiments.runners.fit`); checkpoint into
    `checkpoint_dir` after epochs, resuming from a checkpoint found there."""
    fabric = make_fabric(config)
    fabric.launch()  # DDP: re-runs this command once per further rank (`experiments.train`)
    if fabric.world_size > 1:
        # each rank takes every world_size-th sample of the epoch's order, in batches of
        # batch_size / world_size: the ranks' k-th batches together are the one-process k-th batch
        datamodule.rank, datamodule.world_size = fabric.global_rank, fabric.world_size
        datamodule.batch_size = max(1, config.batch_size // fabric.world_size)
    lightning_fabric.seed_everything(config.seed, verbose=False)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # as Lightning's `deterministic=True`
    torch.use_deterministic_algorithms(True)
    # but without its debugging aid of filling every new tensor with NaN: it costs a share of
    # every epoch (docs/benchmarks.md) and is no part of determinism (no op reads memory it
    # has not written)
    torch.utils.deterministic.fill_uninitialized_memory = False
    task = build_task(arch, datamodule, config)
    reporter = ReportEpochs(on_epoch, on_epoch_outputs)
    lab_callbacks = [reporter]
    watch = make_watch(config)
    best = BestEpoch(watch, reporter, keep_weights=bool(config.select_best)) if watch is not None else None
    if best is not None:
        lab_callbacks.append(best)
    checkpoint = EpochCheckpoint(checkpoint_dir, reporter, best) if checkpoint_dir is not None else None
    if checkpoint is not None:
        lab_callbacks.append(checkpoint)
    if not config.quiet and fabric.is_global_zero:
        lab_callbacks.insert(0, ShowProgress(config.epochs, len(datamodule.train_dataloader())))
    loop = FitLoop(fabric, task, datamodule, config.epochs, [*lab_callbacks, *callbacks])
    loop.grad_clip = config.grad_clip
    first_epoch = checkpoint.restore(loop) if checkpoint is not None else 0
    start = time.perf_counter()
    loop.run(first_epoch)
    train_time = time.perf_counter() - start
    if best is not None:
        best.restore(task)
    if fabric.device.type != "cpu":  # the tasks score and save on the CPU, in float32, as trained
        task.cpu()
    return FitResult(model=task.network, n_params=count_parameters(task.network),
                     train_time_s=train_time,
                     samples_seen=len(datamodule.splits["train"]) * loop.epochs_run,
                     test_outputs=task.test_outputs(datamodule) if config.score_test else None,
                     history=reporter.history,
                     controls=watch.summary() if watch is not None else {})


def save_model(network: torch.nn.Module, folder: Path) -> Path:
    """Save the state dict (load it back with `torch.load(..., weights_only=True)`)."""
    path = folder / "model.pt"
    torch.save(network.state_dict(), path)
    return path
