"""Each DVC stage depends on every lab module its command imports, so changing one reruns it.

The stage commands of dvc.yaml run for real, on tiny parameters, in one recorder process:
it imports the third-party frameworks once (torch before TensorFlow), then forks one child
per command, which runs `nnlab ...` and reports the lab files (`datamodules/`, `modules/`,
`experiments/`) in its `sys.modules`. Each file must lie under one of that stage's `deps`.
"""
import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from conftest import ROOT

LAB = ("datamodules", "modules", "experiments")
TINY = {"train": {"epochs": 1, "batch_size": 128, "lr": 0.002, "optimizer": "adam", "seed": 0},
        "data": {"split_seed": 0},
        "pipeline": {"datasets": ["mnist_5k"], "frameworks": ["torch", "keras"], "archs": ["mlp"]},
        "tune": {"study": "tiny", "data": "mnist_5k", "archs": "mlp", "frameworks": "torch", "trials": 1,
                 "sampler": "random", "pruner": "none", "seed": 0, "epochs": 1}}

# Forked children: each runs one `nnlab` command and writes the lab files it imported.
RECORDER = textwrap.dedent("""
    import json, os, sys
    import torch, torchvision, lightning, torchmetrics  # torch's side first (see modules.backend)
    import tensorflow, keras, mlflow, optuna, sklearn, matplotlib
    root, commands = sys.argv[1], json.loads(sys.argv[2])
    assert not [m for m in sys.modules if m.split(".")[0] in {lab}], "the recorder imported lab code"
    sys.path.insert(0, root)
    out = []
    for name, argv in commands:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            from experiments.cli import main
            code = main(argv)
            files = sorted({{os.path.relpath(m.__file__, root) for m in list(sys.modules.values())
                            if getattr(m, "__file__", None) and os.path.abspath(m.__file__).startswith(root + os.sep)
                            and os.path.relpath(m.__file__, root).split(os.sep)[0] in {lab}}})
            os.write(write, json.dumps({{"code": code, "files": files}}).encode())
            os._exit(0)
        os.close(write)
        chunks = []
        while chunk := os.read(read, 1 << 16):
            chunks.append(chunk)
        os.waitpid(pid, 0)
        out.append(json.loads(b"".join(chunks) or b'{{"code": "crashed", "files": []}}'))
    print(json.dumps(out))
""").format(lab=set(LAB))


def stage_commands(stages: dict, params: dict) -> list[tuple[str, list[str]]]:
    """(stage, argv) for each stage of dvc.yaml: one per value of each matrix axis (the first
    value of the other axes), so train runs in both frameworks."""
    def fill(text: str, item: dict) -> str:
        for key, value in item.items():
            text = text.replace("${item.%s}" % key, str(value))
        for section, values in params.items():
            for key, value in values.items():
                text = text.replace("${%s.%s}" % (section, key), str(value))
        return text

    commands = []
    for name, stage in stages.items():
        axes = {axis: params[ref[2:-1].split(".")[0]][ref[2:-1].split(".")[1]]
                for axis, ref in stage.get("matrix", {}).items()}
        items = [{a: v[0] for a, v in axes.items()}]
        for axis, values in axes.items():
            items += [{**items[0], axis: value} for value in values[1:]]
        for item in items:
            argv = fill(stage["cmd"], item).split()
            assert argv[0] == "nnlab", f"stage {name}: expected an nnlab command, got {argv[0]}"
            commands.append((name, argv[1:]))
    return commands


@pytest.mark.e2e
def test_every_lab_module_a_stage_imports_lies_under_its_deps(lab_dir, data_cache):
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    (lab_dir / "params.yaml").write_text(yaml.safe_dump(TINY))
    commands = stage_commands(stages, TINY)
    done = subprocess.run([sys.executable, "-c", RECORDER, str(ROOT), json.dumps(commands)], cwd=lab_dir,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    imported = {stage: set() for stage in stages}
    for (stage, argv), result in zip(commands, results):
        assert result["code"] == 0, f"stage {stage}: `nnlab {' '.join(argv)}` exited {result['code']}"
        imported[stage] |= set(result["files"])
    missing = {}
    for stage, files in imported.items():
        assert any(f.startswith("experiments/commands/") for f in files), f"stage {stage} recorded nothing"
        deps = [d.rstrip("/") for d in stages[stage]["deps"]]
        outside = sorted(f for f in files if not any(f == d or f.startswith(d + "/") for d in deps))
        if outside:
            missing[stage] = outside
    assert not missing, f"lab modules a stage imports but does not depend on: {missing}"
    # a trial is a train run in either framework (the tiny study above drew torch only), tracked in
    # the study's own process: `nnlab train` alone starts a tracking process
    lab_deps = {stage: {d for d in stages[stage]["deps"] if d.split("/")[0] in LAB} for stage in stages}
    assert lab_deps["train"] - {"experiments/tracking_process.py"} <= lab_deps["tune"]
    assert "experiments/tracking_process.py" in lab_deps["train"]
