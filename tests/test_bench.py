"""`nnlab bench`: runs every pair interleaved in fresh processes and reports figures and ratios.

Speed itself is measured by the command, never asserted here."""
import json

import pytest
from conftest import run_cli


@pytest.mark.integration
@pytest.mark.slow  # six paths in fresh processes, about a minute: keeps `make test` under 8 minutes
def test_bench_prints_and_writes_every_pair_with_a_median_ratio(lab_dir):
    result = run_cli("bench", "--models", "mlp", "--repeats", "1", "--epochs", "2",
                     "--no-trial-overhead", "--json", "bench.json", cwd=lab_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads((lab_dir / "bench.json").read_text())
    paths = {r["path"] for r in figures["rows"]}
    assert paths == {"lightning", "torch_loop", "keras_fit", "tf_loop", "keras_datamodule", "keras_tfdata"}
    assert all(r["model"] == "mlp" and r["samples_per_s_median"] > 0 for r in figures["rows"])
    assert {(p["path"], p["floor"]) for p in figures["pairs"]} == {
        ("lightning", "torch_loop"), ("keras_fit", "tf_loop"), ("keras_datamodule", "keras_tfdata")}
    assert all(0 < p["ratio_median"] < 10 for p in figures["pairs"])
    assert figures["machine"]["matmul_peak_gflops"] > 0
    lab_rows = [r for r in figures["rows"] if r["path"] in ("lightning", "keras_fit")]
    assert all(0 <= r["mlflow_log_fraction_of_epoch"] < 1 for r in lab_rows)
    assert "lightning / torch_loop" in result.stdout


def test_an_unknown_benchmark_model_is_one_line_and_exit_2():
    result = run_cli("bench", "--models", "lenet7")
    assert result.returncode == 2
    assert result.stderr.strip() == "nnlab: error: unknown benchmark model lenet7; valid: lenet5, resnet20, gru, mlp"


def test_bench_precision_ratios_divide_each_path_by_its_rate_at_32():
    from experiments.bench.run import precision_ratios

    rows = [{"model": "resnet20", "path": p, "precision": prec, "samples_per_s_median": rate}
            for p, prec, rate in (("lightning", "32", 100.0), ("lightning", "bf16-mixed", 150.0),
                                  ("keras_fit", "32", 80.0), ("keras_fit", "bf16-mixed", 60.0))]
    assert precision_ratios(rows) == [
        {"model": "resnet20", "path": "lightning", "precision": "bf16-mixed", "ratio_to_32": 1.5},
        {"model": "resnet20", "path": "keras_fit", "precision": "bf16-mixed", "ratio_to_32": 0.75}]


def test_a_bench_precision_this_machine_cannot_run_is_one_line_and_exit_2():
    result = run_cli("bench", "--models", "mlp", "--precision", "32,fp8")
    assert result.returncode == 2
    assert result.stderr.strip() == "nnlab: error: unknown precision 'fp8'; valid: 32, bf16-mixed, 16-mixed"
