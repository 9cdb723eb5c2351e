"""What a run trains on: `--accelerator`, `--devices` and `--precision`, checked before training.

The checks read the CPU's flags from /proc/cpuinfo (no framework import) and ask the run's
framework for GPUs only when the choice depends on them (`--accelerator gpu`, or a precision
other than 32 under `auto`), so the default run imports nothing more than it did.
One meaning in both frameworks (docs/hardware.md):
- `auto` trains on the GPUs when the framework sees one, else on the CPU; `gpu` insists on them.
- `bf16-mixed`: weights and optimizer state in float32, matmuls and convolutions in bfloat16
  (torch autocast through Fabric's precision plugin; Keras's `mixed_bfloat16` policy), outputs
  and losses in float32. `16-mixed` is the same with float16 and loss scaling: GPUs only.
"""
from __future__ import annotations

from pathlib import Path

from modules.errors import UserError

ACCELERATORS = ("auto", "cpu", "gpu")
PRECISIONS = ("32", "bf16-mixed", "16-mixed")
# CPU flags of native bfloat16 arithmetic (Linux's names): AVX-512 BF16 dot products, AMX tiles
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The feature flags of the first CPU in `cpuinfo` (empty where the file is absent: not Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, ARM
            return frozenset(value.split())
    return frozenset()


def cpu_bf16_flags(cpuinfo: Path = CPUINFO) -> list[str]:
    """The CPU's native bfloat16 features, e.g. ['avx512_bf16'] (empty: bf16 is emulated, slower)."""
    flags = cpu_flags(cpuinfo)
    return [flag for flag in NATIVE_BF16_FLAGS if flag in flags]


def cpu_name(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name from `cpuinfo`, else the platform's processor string."""
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def gpu_count(framework: str) -> int:
    """GPUs that `framework` (torch or keras) can train on here (imports that framework)."""
    from modules import backend

    if framework == "torch":
        torch = backend.torch()
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    if framework == "keras":
        return len(backend.tensorflow().config.list_physical_devices("GPU"))
    return 0


def check_hardware(config, gpus=gpu_count, cpuinfo: Path = CPUINFO) -> None:
    """`config`'s accelerator and precision are valid and can run here; else a UserError naming
    what works. `gpus(framework)` counts the GPUs (a parameter so tests can pretend)."""
    accelerator, precision = config.accelerator, str(config.precision)
    if accelerator not in ACCELERATORS:
        raise UserError(f"unknown accelerator {accelerator!r}; valid: {', '.join(ACCELERATORS)}")
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if config.framework == "numpy":
        if accelerator == "gpu" or precision != "32":
            raise UserError("--framework numpy trains in float32 on the CPU; drop --accelerator/--precision")
        return
    if accelerator == "cpu" or (accelerator == "auto" and precision == "32"):
        on_gpu = False  # the runner decides `auto` when it imports its framework
    else:
        on_gpu = gpus(config.framework) > 0
        if accelerator == "gpu" and not on_gpu:
            raise UserError(f"--accelerator gpu but {config.framework} sees no GPU on this machine; "
                            "pass --accelerator cpu (or auto)")
    if on_gpu:
        return
    if precision == "16-mixed":
        raise UserError("--precision 16-mixed needs a GPU (float16 on a CPU is emulated); "
                        "on this CPU use --precision bf16-mixed or 32")
    if precision == "bf16-mixed" and not cpu_bf16_flags(cpuinfo) and not config.force_precision:
        raise UserError(f"--precision bf16-mixed would be slower than 32 on this CPU ({cpu_name(cpuinfo)}: "
                        f"no {' or '.join(NATIVE_BF16_FLAGS)}); use --precision 32, or add --force-precision")


def resolve_accelerator(framework: str, accelerator: str) -> str:
    """`cpu` or `gpu`: what `accelerator` (auto, cpu, gpu) means for `framework` on this machine."""
    if accelerator == "auto":
        return "gpu" if framework in ("torch", "keras") and gpu_count(framework) > 0 else "cpu"
    return accelerator


def device_tags(framework: str, accelerator: str, devices: int) -> dict:
    """The MLflow tags naming what a run trained on (`accelerator` resolved: cpu or gpu):
    `device.type`, `device.name`, `device.count`."""
    if accelerator == "gpu":
        from modules import backend

        if framework == "torch":
            name = backend.torch().cuda.get_device_name(0)
        else:
            details = backend.tensorflow().config.experimental.get_device_details(
                backend.tensorflow().config.list_physical_devices("GPU")[0])
            name = details.get("device_name", "GPU")
        return {"device.type": "gpu", "device.name": name, "device.count": str(devices)}
    return {"device.type": "cpu", "device.name": cpu_name(), "device.count": str(devices)}


def run_device_tags(config) -> dict:
    """`device_tags` of a run's config: its resolved accelerator, and devices x nodes (Keras's
    `--distribute`: every local GPU, else the CPU)."""
    accelerator = resolve_accelerator(config.framework, config.accelerator)
    count = config.devices * config.num_nodes
    if config.framework == "keras" and config.distribute:
        count = max(1, gpu_count("keras")) if accelerator == "gpu" else 1
    return device_tags(config.framework, accelerator, count)
