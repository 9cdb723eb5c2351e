"""Train with PyTorch Lightning."""
from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

from experiments.pacing import Pacer
from experiments.runners import EpochCallback, FitResult
from modules import backend

torch = backend.torch()
pl = backend.lightning()

from experiments.tasks import effective_task  # noqa: E402
from modules.torch.layers import count_parameters  # noqa: E402
from modules.torch.tasks import task_class  # noqa: E402


class ReportEpochs(pl.Callback):
    """Hands each epoch's metrics to the tracker, after validation has run."""

    def __init__(self, on_epoch: EpochCallback, on_epoch_outputs=None) -> None:
        self.on_epoch, self.history = on_epoch, []
        self.on_epoch_outputs = on_epoch_outputs

    def on_train_epoch_end(self, trainer, task) -> None:
        metrics = task.epoch_metrics()
        if trainer.world_size > 1:  # each rank saw its share: the epoch's value is their mean
            metrics = {k: float(trainer.strategy.reduce(torch.tensor(float(v)), reduce_op="mean"))
                       for k, v in sorted(metrics.items())}
        self.history.append(metrics)
        if trainer.is_global_zero:
            self.on_epoch(trainer.current_epoch, metrics)
            if self.on_epoch_outputs is not None and hasattr(task, "epoch_outputs"):
                self.on_epoch_outputs(trainer.current_epoch, task.epoch_outputs())


class EpochCheckpoint(pl.Callback):
    """After an epoch (and its validation), as often as `Pacer` allows (2% of the time), a full
    Lightning checkpoint: weights, optimizer, loop position, plus the lab's epoch history and
    the RNG state (so dropout continues as if never stopped). Written to a temporary file and
    renamed: a crash never leaves half a file."""

    FILE = "last.ckpt"

    def __init__(self, folder: Path, reporter: ReportEpochs) -> None:
        self.path, self.reporter = Path(folder) / self.FILE, reporter
        self.pacer = Pacer()

    def on_train_epoch_end(self, trainer, task) -> None:
        due = self.pacer.due()
        if trainer.world_size > 1:  # every rank must take part in a save: rank zero decides
            due = trainer.strategy.broadcast(due, src=0)
        if due:
            self.pacer.run(lambda: self._save(trainer))

    def _save(self, trainer) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.FILE + ".partial")
        trainer.save_checkpoint(partial)  # every rank must call it; rank zero writes
        if trainer.is_global_zero:
            os.replace(partial, self.path)

    def state_dict(self) -> dict:
        return {"history": list(self.reporter.history), "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate()}

    def load_state_dict(self, state: dict) -> None:
        self.reporter.history[:] = state["history"]
        torch.set_rng_state(state["torch_rng"])
        random.setstate(state["python_rng"])


class SplitBatchesAcrossRanks(pl.Callback):
    """Under DDP each rank takes every world_size-th sample of the epoch's order, in batches of
    batch_size / world_size: the ranks' k-th batches together are the one-process k-th batch."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def setup(self, trainer, task, stage: str) -> None:
        datamodule = trainer.datamodule
        datamodule.rank, datamodule.world_size = trainer.global_rank, trainer.world_size
        datamodule.batch_size = max(1, self.batch_size // trainer.world_size)


def distributed_options(config) -> dict:
    """Trainer options for `--devices/--num-nodes/--strategy` (DDP: gloo on CPU, NCCL on GPUs)."""
    devices, nodes = getattr(config, "devices", 1), getattr(config, "num_nodes", 1)
    if devices == 1 and nodes == 1:
        return {}
    accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    return dict(accelerator=accelerator, devices=devices, num_nodes=nodes,
                strategy=config.strategy or "ddp", use_distributed_sampler=False)


def make_trainer(config, callbacks: list, **overrides) -> "pl.Trainer":
    """A Trainer with the lab's settings: no Lightning logger (the lab logs), quiet on request."""
    options = dict(max_epochs=config.epochs, accelerator="cpu", devices=1, logger=False,
                   enable_checkpointing=False, enable_model_summary=False,
                   enable_progress_bar=not config.quiet, num_sanity_val_steps=0,
                   deterministic=True, callbacks=callbacks)
    options.update(distributed_options(config))
    if "strategy" in options:
        options["callbacks"] = [SplitBatchesAcrossRanks(config.batch_size), *callbacks]
    options.update(overrides)
    return pl.Trainer(**options)


def build_task(arch, datamodule, config):
    """The network of `arch` for `datamodule`'s shape, inside its task's LightningModule."""
    network = arch.build("torch", datamodule.input_shape, datamodule.num_classes, **config.hparams)
    if len(datamodule.input_shape) == 3:
        # images: channels-last convolutions (oneDNN's native layout) trained ResNet-20 1.23x and
        # LeNet-5 1.08x faster here; the first convolution converts each NCHW batch
        network = network.to(memory_format=torch.channels_last)
    task = effective_task(arch.task, datamodule.info.task, arch.name, datamodule.info.name)
    return task_class(task)(network, lr=config.lr, optimizer=config.optimizer, lr_schedule=config.lr_schedule)


def fit(arch, datamodule, config, on_epoch: EpochCallback, callbacks: list = (),
        on_epoch_outputs=None, checkpoint_dir: Path | None = None) -> FitResult:
    """Train `arch` on `datamodule` with Lightning (see `experiments.runners.fit`);
    checkpoint into `checkpoint_dir` each epoch, resuming from a checkpoint found there."""
    pl.seed_everything(config.seed, verbose=False)
    task = build_task(arch, datamodule, config)
    reporter = ReportEpochs(on_epoch, on_epoch_outputs)
    lab_callbacks = [reporter]
    resume_from = None
    if checkpoint_dir is not None:
        lab_callbacks.append(EpochCheckpoint(checkpoint_dir, reporter))
        last = Path(checkpoint_dir) / EpochCheckpoint.FILE
        resume_from = str(last) if last.exists() else None
    trainer = make_trainer(config, [*lab_callbacks, *callbacks])
    start = time.perf_counter()
    # the checkpoint is the lab's own file (tensors, ints, the RNG tuple), not a stranger's
    sigint = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(task, datamodule=datamodule, ckpt_path=resume_from, weights_only=False)
    finally:  # Lightning ignores Ctrl-C from its first one on; give it back
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, sigint)
    train_time = time.perf_counter() - start
    return FitResult(model=task.network, n_params=count_parameters(task.network),
                     train_time_s=train_time,
                     samples_seen=len(datamodule.splits["train"]) * trainer.current_epoch,
                     test_outputs=task.test_outputs(datamodule), history=reporter.history)


def save_model(network: torch.nn.Module, folder: Path) -> Path:
    """Save the state dict (load it back with `torch.load(..., weights_only=True)`)."""
    path = folder / "model.pt"
    torch.save(network.state_dict(), path)
    return path
