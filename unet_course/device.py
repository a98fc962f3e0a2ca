"""Pick the fastest available torch device: CUDA, then Apple's MPS, then the CPU.

The course runs on a laptop CPU by default; lessons use `get_device()` and scale their
settings up when it finds a GPU (see `is_accelerated`).
"""
from __future__ import annotations

import contextlib

import torch

__all__ = ["get_device", "is_accelerated", "cpu_has_native_bfloat16", "cpu_name", "describe_hardware",
           "torch_threads"]


def get_device(verbose: bool = True) -> torch.device:
    """Return cuda if available, else mps, else cpu; print which one was picked."""
    if torch.cuda.is_available():
        device, why = torch.device("cuda"), f"GPU: {torch.cuda.get_device_name(0)}"
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device, why = torch.device("mps"), "Apple GPU (MPS)"
    else:
        device, why = torch.device("cpu"), f"no GPU found, {torch.get_num_threads()} CPU threads"
    if verbose:
        print(f"Using device {device.type} ({why})")
    return device


def is_accelerated(device: torch.device | str | None = None) -> bool:
    """True if `device` (default: `get_device()`) is a GPU, so lessons may use bigger settings."""
    device = torch.device(device) if device is not None else get_device(verbose=False)
    return device.type in ("cuda", "mps")


@contextlib.contextmanager
def torch_threads(threads: int):
    """torch on `threads` CPU threads inside a ``with`` block, then back to the count before it.

    For a like-for-like timing only (e.g. torch against a single-threaded C library). Lessons
    never set a thread count for the session: torch's default (all cores, or OMP_NUM_THREADS
    as the student set it) stays in force outside the block."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_has_native_bfloat16() -> bool:
    """True if this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), where torch's
    bfloat16 autocast makes convolutions faster; elsewhere bfloat16 is emulated and slower."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(getattr(cpu, name)() for name in checks if hasattr(cpu, name))
    except RuntimeError:  # pragma: no cover - a torch build without these probes
        return False


def cpu_name() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo; elsewhere what ``platform`` knows)."""
    import platform
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_hardware(threads: int | None = None) -> str:
    """One line naming what a timed figure was measured on: the GPU, or the CPU model, its
    cores, the torch threads and whether it computes bfloat16 natively (course figures differ
    by about 2x between such CPUs; lesson 07)."""
    if torch.cuda.is_available():
        return f"GPU {torch.cuda.get_device_name(0)}"
    from .train.distributed import cpu_cores
    bf16 = "native bfloat16" if cpu_has_native_bfloat16() else "no native bfloat16"
    threads = torch.get_num_threads() if threads is None else threads
    line = f"CPU {cpu_name()}, {cpu_cores()} cores, {threads} thread(s), {bf16}"
    return line + _isa_cap()


def _isa_cap() -> str:
    """Vector instructions capped by the environment (ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY),
    e.g. to time the AVX2 path of a laptop CPU on a server CPU: part of every timed row."""
    import os
    caps = [f"{k}={os.environ[k]}" for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
            if os.environ.get(k)]
    return f", capped {' '.join(caps)}" if caps else ""
