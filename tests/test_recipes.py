"""Training recipes with one meaning in both frameworks: weight decay (coupled and decoupled),
SGD momentum and Nesterov, label smoothing, warm-up before the schedule, augmentation."""
import numpy as np
import pytest

import datamodules
from datamodules.core import channels_last
from experiments.config import TrainConfig
from modules import backend
from modules.errors import UserError
from modules.optim import Recipe, Regularization, lr_factor

torch = backend.torch()
keras = backend.keras()

from experiments.tasks.classify.keras_task import SparseCrossentropy  # noqa: E402
from modules.optim import keras_optim, torch_optim  # noqa: E402

STEPS, WARMUP = 5, 2


def train_both(optimizer: str, regularization: Regularization, schedule: str, label_smoothing: float = 0.1):
    """A linear classifier from the same start on the same batches for STEPS steps, in both
    frameworks: each step's learning rate and weights. In float64: Adam divides each gradient
    by its own root mean square, so float32 round-off in a near-zero gradient would be magnified."""
    rng = np.random.default_rng(0)
    w0, b0 = rng.normal(size=(3, 4)), rng.normal(size=3)
    batches = [(rng.normal(size=(8, 4)), rng.integers(0, 3, 8)) for _ in range(STEPS)]
    lr = 0.1

    linear = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(w0))
        linear.bias.copy_(torch.from_numpy(b0))
    opt = torch_optim.make_optimizer(optimizer, linear.parameters(), lr, regularization)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(schedule, s, STEPS, WARMUP))
    torch_lrs, torch_weights = [], []
    for x, y in batches:
        torch_lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(torch.from_numpy(x)), torch.from_numpy(y),
                                                 label_smoothing=label_smoothing)
        loss.backward()
        opt.step()
        sched.step()
        torch_weights.append(linear.weight.detach().numpy().T.copy())

    dense = keras.layers.Dense(3, dtype="float64")
    dense.build((None, 4))
    dense.set_weights([w0.T, b0])
    k_opt = keras_optim.make_optimizer(optimizer, keras_optim.LabSchedule(lr, schedule, STEPS, WARMUP),
                                       regularization=regularization)
    loss_fn = SparseCrossentropy(label_smoothing)
    tf = backend.tensorflow()
    keras_lrs, keras_weights = [], []
    for x, y in batches:
        keras_lrs.append(float(k_opt.learning_rate))
        with tf.GradientTape() as tape:
            loss = loss_fn(y, dense(x))
        k_opt.apply_gradients(zip(tape.gradient(loss, dense.trainable_variables), dense.trainable_variables))
        keras_weights.append(dense.kernel.numpy().copy())
    return (torch_lrs, torch_weights), (keras_lrs, keras_weights)


@pytest.mark.parametrize("optimizer, regularization, schedule", [
    ("sgd", Regularization(weight_decay=0.05, momentum=0.9, nesterov=True), "cosine"),
    ("adamw", Regularization(decoupled_weight_decay=0.05), "cosine"),
    ("adam", Regularization(weight_decay=0.05), "step"),
])
def test_both_frameworks_take_the_same_learning_rate_and_weight_decay_at_every_step(
        optimizer, regularization, schedule):
    (torch_lrs, torch_weights), (keras_lrs, keras_weights) = train_both(optimizer, regularization, schedule)
    expected = [0.1 * lr_factor(schedule, s, STEPS, WARMUP) for s in range(STEPS)]
    assert expected[:WARMUP] == pytest.approx([0.05, 0.1])  # the linear warm-up
    np.testing.assert_allclose(torch_lrs, expected, rtol=1e-6)
    np.testing.assert_allclose(keras_lrs, expected, rtol=1e-6)
    for step, (tw, kw) in enumerate(zip(torch_weights, keras_weights)):
        np.testing.assert_allclose(kw, tw, rtol=1e-5, atol=1e-6, err_msg=f"step {step}")


def test_weight_decay_changes_the_weights_as_its_coupling_says():
    plain = train_both("sgd", Regularization(momentum=0.0), "constant", 0.0)[0][1][-1]
    coupled = train_both("sgd", Regularization(weight_decay=0.5, momentum=0.0), "constant", 0.0)[0][1][-1]
    assert np.abs(coupled).sum() < np.abs(plain).sum()  # the decay pulls the weights towards 0


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    factors = [lr_factor("step", s, 100) for s in (0, 49, 50, 74, 75, 99)]
    assert factors == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    assert lr_factor("cosine", 4, 14, warmup_steps=4) == 1.0  # the schedule starts after the warm-up


def test_torch_and_keras_see_the_same_augmented_batches():
    dm = datamodules.create("digits", batch_size=100, seed=7, augment="crop2,flip", normalize=False)
    dm.setup()
    plain = datamodules.create("digits", batch_size=100, seed=7, normalize=False)
    plain.setup()
    loader = dm.train_dataloader()
    torch_batches = []
    for epoch in range(2):
        loader.batch_sampler.set_epoch(epoch)
        torch_batches += [x.numpy() for x, _ in loader]
    keras_batches = [x.numpy() for x, _ in dm.keras_dataset("train", epochs=2)]
    plain_batches = [x.numpy() for x, _ in plain.keras_dataset("train", epochs=2)]
    assert len(torch_batches) == len(keras_batches) == 2 * 13
    for xt, xk in zip(torch_batches, keras_batches):
        np.testing.assert_array_equal(channels_last(xt), xk)
    assert not np.array_equal(keras_batches[0], plain_batches[0])
    assert keras_batches[0].sum() < plain_batches[0].sum()  # shifted out: some ink cropped, black (0) in
    assert not np.array_equal(torch_batches[0], torch_batches[13])  # new draws each epoch
    val_torch = np.concatenate([x.numpy() for x, _ in dm.val_dataloader()])
    np.testing.assert_array_equal(val_torch, plain.splits["val"].x)  # evaluation is never augmented


@pytest.mark.parametrize("settings, message", [
    ({"arch": "mlp", "data": "mnist1d", "augment": "flip"}, "mnist1d is sequence data: drop --augment"),
    ({"arch": "mlp", "data": "digits", "augment": "rotate"}, "unknown augmentation 'rotate'"),
    ({"arch": "mlp", "optimizer": "adamw", "weight_decay": 0.1}, "adamw decays weights decoupled"),
    ({"arch": "mlp", "optimizer": "adam", "decoupled_weight_decay": 0.1}, "pass --optimizer adamw"),
    ({"arch": "mlp", "optimizer": "adam", "nesterov": True}, "SGD's: pass --optimizer sgd"),
    ({"arch": "mlp", "optimizer": "sgd", "momentum": 1.5}, "momentum must be in"),
    ({"arch": "mlp", "label_smoothing": 1.0}, "label-smoothing must be in"),
    ({"arch": "esn", "label_smoothing": 0.1}, "for classification"),
    ({"arch": "mlp", "epochs": 3, "warmup_epochs": 3}, "warmup-epochs must be"),
    ({"arch": "dcgan", "weight_decay": 0.1}, "takes no training recipe"),
])
def test_a_recipe_that_does_not_apply_is_one_line(settings, message):
    with pytest.raises(UserError, match=message) as err:
        TrainConfig(**settings).validate()
    assert "\n" not in str(err.value)


def test_a_recipe_is_logged_and_trains_in_both_frameworks(lab_dir, capsys):
    from conftest import mlflow_runs

    from experiments.cli import main

    for framework in ("torch", "keras"):
        assert main(["train", "--framework", framework, "--arch", "mlp", "--data", "digits", "--epochs", "4",
                     "--batch-size", "32",
                     "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.8", "--nesterov", "--weight-decay",
                     "1e-4", "--label-smoothing", "0.1", "--warmup-epochs", "1", "--lr-schedule", "cosine",
                     "--augment", "crop1", "--data-option", "train_size=300", "--quiet"]) == 0
    runs = mlflow_runs("digits")
    assert len(runs) == 2
    for run in runs:
        p = run.data.params
        assert (p["momentum"], p["nesterov"], p["weight_decay"], p["label_smoothing"], p["warmup_epochs"],
                p["augment"], p["data.train_size"]) == ("0.8", "True", "0.0001", "0.1", "1", "crop1", "300")
        assert run.data.metrics["test/acc"] > 0.5


def test_recipe_flags_out_of_range_exit_2(capsys):
    from experiments.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["train", "--arch", "mlp", "--weight-decay", "-1"])
    assert exit_.value.code == 2
    assert "must be a finite number >= 0" in capsys.readouterr().err


def test_recipe_object_defaults_are_the_plain_run():
    assert Recipe() == Recipe(Regularization(), 0, 0.0)
