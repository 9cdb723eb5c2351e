"""What `nnlab twins` prints and logs: one MLflow run with both learning curves and their
per-step difference, and a plot of them."""
from __future__ import annotations

import tempfile
from pathlib import Path

from experiments.plots import save_figure, subplots


def plot_twins(result, path: Path) -> None:
    """Both training-loss curves (one panel) and their relative difference (log scale)."""
    steps = range(1, len(result.torch_losses) + 1)
    fig, (curves, diff) = subplots(1, 2, figsize=(10, 3.6))
    curves.plot(steps, result.torch_losses, label="torch", color="tab:red")
    curves.plot(steps, result.keras_losses, label="keras", color="tab:blue", linestyle="--")
    curves.set(xlabel="step", ylabel="training loss", title="same start, same batches")
    curves.legend()
    diff.semilogy(steps, [max(d, 1e-12) for d in result.loss_rel_diffs()], color="black")
    diff.set(xlabel="step", ylabel="|torch - keras| / |torch|", title="per-step loss difference")
    save_figure(fig, path)


def log_twins(plan, result, args, hparams: dict) -> str:
    """One MLflow run in experiment `twins` (or `args.experiment`); its id."""
    from experiments.tracking import tracked_run

    cfg = plan.config
    params = {"arch": cfg.arch, "data": plan.data.name, "optimizer": cfg.optimizer, "lr": cfg.lr,
              "batch_size": cfg.batch_size, "seed": cfg.seed, "steps": args.steps, "rtol": args.rtol,
              "dtype": args.dtype, **hparams}
    tags = {"framework": "torch+keras", "nnlab.command": "twins"}
    with tracked_run(args.experiment or "twins", f"twins-{cfg.arch}-{plan.data.name}", params, tags) as run:
        for step, (t, k, rel) in enumerate(zip(result.torch_losses, result.keras_losses, result.loss_rel_diffs())):
            run.log_metrics({"torch/train_loss": t, "keras/train_loss": k, "twins/loss_rel_diff": rel}, step=step)
        run.log_metrics({"twins/max_loss_rel_diff": max(result.loss_rel_diffs()),
                         "twins/weight_rel_diff": result.max_weight_rel_diff,
                         "twins/running_stats_rel_diff": result.running_stats_rel_diff})
        with tempfile.TemporaryDirectory() as folder:
            figure = Path(folder) / "twins.png"
            plot_twins(result, figure)
            run.log_artifact(str(figure))
        return run.run_id


def print_verdict(result, rtol: float) -> int:
    """One line: agree (exit 0) or where they part (exit 1)."""
    worst_loss = max(result.loss_rel_diffs())
    agree = worst_loss <= rtol and result.max_weight_rel_diff <= rtol
    print(f"{'twins learn alike' if agree else 'TWINS DIFFER'}: worst per-step loss difference {worst_loss:.1e}, "
          f"final weights {result.max_weight_rel_diff:.1e} (largest gap: {result.worst_weight}); "
          f"tolerance {rtol:g} relative")
    if result.running_stats_rel_diff > rtol:
        # torch updates running_var with the unbiased batch variance, Keras with the biased one
        print(f"  batch-norm running statistics differ by {result.running_stats_rel_diff:.1e}: torch keeps the "
              "unbiased batch variance, Keras the biased one (docs/architecture.md); training is unaffected")
    return 0 if agree else 1
