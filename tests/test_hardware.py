"""`--accelerator`, `--devices` and `--precision`: the checks, what each framework is handed, bf16
training to target, and the GPU path (skipped where no GPU is present)."""
import dataclasses

import pytest
from conftest import mlflow_runs, run_cli

from experiments.config import TrainConfig
from experiments.hardware import check_hardware, cpu_bf16_flags, cpu_flags
from modules import backend
from modules.errors import UserError

torch = backend.torch()
CUDA = torch.cuda.is_available()

EPYC_BF16 = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
AVX2_ONLY = "processor\t: 0\nmodel name\t: AMD EPYC 7R13\nflags\t\t: fpu sse2 avx2\n"


def cpuinfo(tmp_path, text: str):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def config(**settings) -> TrainConfig:
    return TrainConfig(**{"framework": "torch", "arch": "mlp", "data": "digits", **settings})


def no_gpu(framework: str) -> int:
    return 0


def test_cpu_flags_name_the_native_bf16_features(tmp_path):
    assert "avx512_bf16" in cpu_flags(cpuinfo(tmp_path, EPYC_BF16))
    assert cpu_bf16_flags(cpuinfo(tmp_path, EPYC_BF16)) == ["avx512_bf16"]
    assert cpu_bf16_flags(cpuinfo(tmp_path, AVX2_ONLY)) == []
    assert cpu_flags(tmp_path / "absent") == frozenset()


@pytest.mark.parametrize(("settings", "cpu", "message"), [
    ({"precision": "64"}, EPYC_BF16, "unknown precision '64'; valid: 32, bf16-mixed, 16-mixed"),
    ({"accelerator": "tpu"}, EPYC_BF16, "unknown accelerator 'tpu'; valid: auto, cpu, gpu"),
    ({"accelerator": "gpu"}, EPYC_BF16, "--accelerator gpu but torch sees no GPU on this machine; "
                                        "pass --accelerator cpu (or auto)"),
    ({"precision": "16-mixed"}, EPYC_BF16, "needs a GPU (float16 on a CPU is emulated); "
                                           "on this CPU use --precision bf16-mixed or 32"),
    ({"precision": "bf16-mixed"}, AVX2_ONLY, "would be slower than 32 on this CPU (AMD EPYC 7R13: no "
                                             "avx512_bf16 or amx_bf16); use --precision 32, or add --force-precision"),
    ({"framework": "numpy", "precision": "bf16-mixed"}, EPYC_BF16, "numpy trains in float32 on the CPU"),
])
def test_hardware_settings_that_cannot_run_here_are_one_line_naming_what_works(tmp_path, settings, cpu, message):
    with pytest.raises(UserError) as err:
        check_hardware(config(**settings), gpus=no_gpu, cpuinfo=cpuinfo(tmp_path, cpu))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bf16_runs_on_a_cpu_with_native_bf16_or_when_forced(tmp_path):
    check_hardware(config(precision="bf16-mixed"), gpus=no_gpu, cpuinfo=cpuinfo(tmp_path, EPYC_BF16))
    check_hardware(config(precision="bf16-mixed", force_precision=True), gpus=no_gpu,
                   cpuinfo=cpuinfo(tmp_path, AVX2_ONLY))
    # with a GPU, 16-mixed and bf16 are the GPU's business, whatever the CPU
    check_hardware(config(precision="16-mixed"), gpus=lambda fw: 1, cpuinfo=cpuinfo(tmp_path, AVX2_ONLY))


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
def test_accelerator_gpu_without_a_gpu_is_one_line_and_exit_2():
    result = run_cli("train", "--arch", "mlp", "--data", "digits", "--accelerator", "gpu")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nnlab: error: --accelerator gpu but torch sees no GPU on this machine; pass --accelerator cpu (or auto)"]


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
def test_keras_devices_beyond_the_gpus_there_are_one_line_naming_the_fix():
    with pytest.raises(UserError) as err:
        config(framework="keras", devices=2).validate()
    assert str(err.value) == ("--devices 2 for keras is that many GPUs (MirroredStrategy) but 0 are usable here; "
                              "pass --devices 1, or --distribute")


def test_evaluating_a_bf16_run_scores_in_float32_on_the_cpu(monkeypatch):
    from experiments import evaluate, tracking

    logged = {k: str(v) for k, v in config(precision="bf16-mixed", accelerator="gpu").params().items()}

    class Run:  # what evaluate reads of an MLflow run
        data = type("Data", (), {"params": logged, "metrics": {}})
        info = type("Info", (), {"artifact_uri": "unused"})

    monkeypatch.setattr(tracking, "lab_run", lambda run_id, hint: Run)
    plan, _, _ = evaluate.plan_from_run("any")
    assert (plan.config.precision, plan.config.accelerator) == ("32", "cpu")


def test_precision_is_logged_as_a_param_and_read_back_from_a_logged_run():
    from experiments.config import config_from_logged

    resolved = config(precision="bf16-mixed", accelerator="cpu").validate()
    params = {k: str(v) for k, v in resolved.params().items()}
    assert params["precision"] == "bf16-mixed" and params["accelerator"] == "cpu"
    assert "force_precision" not in params  # logged only when given
    assert config_from_logged(params).validate().precision == "bf16-mixed"
    assert config_from_logged({**params, "precision": "32"}).validate().precision == "32"


def test_fabric_gets_the_accelerator_devices_and_precision_plugin():
    from experiments.runners.torch_runner import fabric_settings

    cpu = dataclasses.replace(config(), accelerator="cpu", precision="bf16-mixed")
    assert fabric_settings(cpu) == {"accelerator": "cpu", "devices": 1, "precision": "bf16-mixed"}
    ddp = dataclasses.replace(config(), accelerator="cpu", devices=2)
    assert fabric_settings(ddp) == {"accelerator": "cpu", "devices": 2, "precision": "32-true",
                                    "num_nodes": 1, "strategy": "ddp"}
    auto = fabric_settings(config())
    assert auto["accelerator"] == ("cuda" if CUDA else "cpu")


def test_keras_builds_under_the_mixed_policy_with_float32_outputs_and_restores_the_policy():
    keras = backend.keras()
    from experiments.runners.keras_runner import keep_float32, precision_policy
    from modules import registry

    with precision_policy("bf16-mixed"):
        network = registry.get("lenet5").build("keras", (1, 28, 28), 10, **registry.get("lenet5").defaults)
        keep_float32(network)
    assert keras.config.dtype_policy().name == "float32"  # the next build is clean
    compute = {layer.name: layer.compute_dtype for layer in network.layers if layer.weights}
    last = network.layers[-1]
    assert last.compute_dtype == "float32" and last.variable_dtype == "float32"
    assert "bfloat16" in compute.values()  # the convolutions and hidden layers
    out = network(keras.ops.ones((2, 28, 28, 1)))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


def test_keras_recurrent_layers_stay_float32_under_the_mixed_policy():
    keras = backend.keras()
    from experiments.runners.keras_runner import keep_float32, precision_policy
    from modules import registry

    gru = registry.get("gru")
    with precision_policy("bf16-mixed"):
        network = gru.build("keras", (40, 1), 10, **{**gru.defaults, "bidirectional": True}
                            if "bidirectional" in gru.defaults else gru.defaults)
        keep_float32(network)
    recurrent = [layer for layer in network.layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    assert recurrent and all(layer.compute_dtype == "float32" for layer in recurrent)
    out = network(keras.ops.ones((2, 40, 1)))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


@pytest.mark.slow  # 30-40 s each on 2 shared cores
@pytest.mark.skipif(not cpu_bf16_flags() and not CUDA, reason="bf16 is emulated on this CPU")
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_lenet5_on_digits_28_reaches_95_percent_at_bf16(framework, lab_dir):
    from experiments.train import train

    plan = TrainConfig(framework=framework, arch="lenet5", data="digits", image_size=28, epochs=10,
                       precision="bf16-mixed", quiet=True).validate()
    summary = train(plan, progress=lambda *a: None)
    assert summary["test/acc"] >= 0.95
    [run] = [r for r in mlflow_runs("digits") if r.info.run_id == summary["run_id"]]
    assert run.data.params["precision"] == "bf16-mixed"
    gpus = torch.cuda.device_count() if framework == "torch" else keras_gpus()
    assert run.data.tags["device.type"] == ("gpu" if gpus else "cpu")
    assert int(run.data.tags["device.count"]) == 1 and run.data.tags["device.name"]


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["32", "bf16-mixed", "16-mixed"])
def test_torch_trains_on_the_gpu_by_default_at_each_precision(precision):
    from experiments.train import train

    plan = TrainConfig(framework="torch", arch="lenet5", data="digits", image_size=28, epochs=10,
                       precision=precision, quiet=True).validate()
    summary = train(plan, progress=lambda *a: None)
    assert summary["test/acc"] >= 0.95
    [run] = [r for r in mlflow_runs("digits") if r.info.run_id == summary["run_id"]]
    assert run.data.tags["device.type"] == "gpu" and run.data.tags["device.name"] == torch.cuda.get_device_name(0)


def keras_gpus() -> int:
    if CUDA is False:
        return 0  # a machine torch sees no GPU on: TensorFlow is not imported to ask
    return len(backend.tensorflow().config.list_physical_devices("GPU"))


@pytest.mark.skipif(not CUDA, reason="needs a GPU")
@pytest.mark.parametrize("precision", ["32", "bf16-mixed", "16-mixed"])
def test_keras_trains_on_the_gpu_by_default_at_each_precision(precision):
    if not keras_gpus():
        pytest.skip("TensorFlow sees no GPU")
    from experiments.train import train

    plan = TrainConfig(framework="keras", arch="lenet5", data="digits", image_size=28, epochs=10,
                       precision=precision, quiet=True).validate()
    summary = train(plan, progress=lambda *a: None)
    assert summary["test/acc"] >= 0.95
    [run] = [r for r in mlflow_runs("digits") if r.info.run_id == summary["run_id"]]
    assert run.data.tags["device.type"] == "gpu"


@pytest.mark.skipif(not CUDA or torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_torch_ddp_over_two_gpus_trains_mlp():
    result = run_cli("train", "--arch", "mlp", "--data", "digits", "--epochs", "2", "--devices", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    [run] = mlflow_runs("digits")
    assert run.data.tags["device.count"] == "2" and run.data.params["devices"] == "2"
