"""The run's Accelerator: which device, how many processes, which precision, and one line when a request cannot
be honoured (a record must say what ran, not what was asked)."""

from __future__ import annotations

import os

from .errors import FbnError


def launched_processes() -> int:
    """How many processes the launcher (torchrun, accelerate launch) started for this run."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def make_accelerator(mixed_precision: str = "no", cpu: bool = False, fallback_fp16: bool = False):
    """An Accelerator for this run.

    - Several processes on a machine without a GPU run on the CPU (Accelerate would otherwise leave each
      process alone, so N processes would train N independent models into one folder).
    - fp16 on a CPU has no effect (Accelerate computes in fp32 there): refused, unless `fallback_fp16`
      (re-scoring a GPU-trained checkpoint on a CPU), which scores in fp32; `precision_text` records it.
    - Accelerate keeps one state per process and refuses a second mixed precision (or --cpu) in it, so a
      single-process caller (a sweep, a notebook) starts from a clean one.
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, GradientState

    world = launched_processes()
    if world > 1 and not gpu_available():
        cpu = True
    mixed_precision = runnable_precision(mixed_precision, cpu, fallback_fp16)
    if world == 1:  # a distributed process group cannot be rebuilt mid-process
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    accelerator = Accelerator(cpu=cpu, mixed_precision=mixed_precision)
    if accelerator.num_processes != world:
        raise FbnError(
            f"{world} processes were launched but only {accelerator.num_processes} joined the run; "
            "launch with `fbn-bench run --num-processes N` (add --cpu without a GPU) or `accelerate launch`"
        )
    return accelerator


def native_bf16(device_type: str) -> bool:
    """Whether `device_type` ("cuda", "cpu") computes bf16 in hardware: a CUDA GPU that supports it, or a CPU
    with AVX-512 BF16 or AMX. Elsewhere torch emulates bf16, many times slower than fp32."""
    import torch

    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        cpu = torch.cpu
        return bool(
            getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
            or getattr(cpu, "_is_amx_tile_supported", lambda: False)()
        )
    return False


def auto_precision(cpu: bool) -> str:
    """What `--mixed-precision auto` runs: bf16 on a GPU that computes it natively, else fp32 ("no").

    Not bf16 on a CPU, even one with AMX: measured there (issue 20), bf16 moved a README-run score by up to
    0.14 CCC, more than the seeds' spread, so a CPU run stays fp32 unless bf16 is asked for."""
    return "bf16" if not cpu and native_bf16("cuda") else "no"


def runnable_precision(mixed_precision: str, cpu: bool, fallback_fp16: bool = False) -> str:
    """`mixed_precision` if it takes effect on the device this process will use (`auto`: auto_precision);
    fp16 on a CPU is refused (or, with `fallback_fp16`, becomes fp32)."""
    if mixed_precision == "auto":
        return auto_precision(cpu)
    if mixed_precision == "fp16" and (cpu or not _any_accelerator()):
        if not fallback_fp16:
            raise FbnError(
                "--mixed-precision fp16 has no effect on a CPU (it would compute in fp32); "
                "use --mixed-precision bf16 or no, or run on a GPU"
            )
        return "no"
    return mixed_precision


def _any_accelerator() -> bool:
    import torch

    if torch.cuda.is_available():
        return True
    mps = getattr(torch.backends, "mps", None)
    xpu = getattr(torch, "xpu", None)
    return bool((mps and mps.is_available()) or (xpu and xpu.is_available()))


def device_text(accelerator) -> str:
    """`cpu x1`, `cuda x4`: the device type and the number of processes that ran."""
    return f"{accelerator.device.type} x{accelerator.num_processes}"


def precision_text(accelerator) -> str:
    """The precision the run computed in: `fp32`, `bf16` or `fp16` (Accelerate's `no` is fp32)."""
    mode = str(accelerator.mixed_precision)
    return "fp32" if mode == "no" else mode
