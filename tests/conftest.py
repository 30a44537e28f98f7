"""Shared fixtures: the backend parametrization and hypothesis profiles."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _gpu_available() -> tuple[bool, str]:
    if importlib.util.find_spec("cupy") is None:
        return False, "CuPy is not installed (pip install 'lowrank_la[gpu]')"
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001
        return False, f"no usable CUDA device ({exc})"
    return (n > 0), "no CUDA device"


GPU_OK, GPU_REASON = _gpu_available()


@dataclass(frozen=True)
class BackendCase:
    """A backend under test: build inputs from NumPy arrays with ``bc.asarray``."""

    name: str
    xp: Any
    device: Any

    def asarray(self, a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            a = a.astype(dtype)
        if self.name == "numpy":
            return a.copy()
        if self.name == "torch":
            import torch

            return torch.from_numpy(a.copy())
        return self.xp.asarray(a, device=self.device)

    def __repr__(self):
        return self.name


def _make_case(name: str) -> BackendCase:
    if name == "numpy":
        import array_api_compat.numpy as xnp

        return BackendCase("numpy", xnp, "cpu")
    if name.startswith("strict"):
        import array_api_strict as xs

        dev = xs.Device("CPU_DEVICE" if name == "strict-cpu" else "device1")
        return BackendCase(name, xs, dev)
    if name == "torch":
        torch = pytest.importorskip("torch", reason="torch not installed (pip install torch)")
        import array_api_compat.torch as xt

        return BackendCase("torch", xt, torch.device("cpu"))
    if name == "cupy":
        if not GPU_OK:
            pytest.skip(GPU_REASON)
        import array_api_compat.cupy as xc
        import cupy

        return BackendCase("cupy", xc, cupy.cuda.Device(0))
    raise ValueError(name)


BACKENDS = [
    "numpy",
    "strict-cpu",
    "strict-device1",
    "torch",
    pytest.param("cupy", marks=pytest.mark.gpu),
]


@pytest.fixture(scope="session", params=BACKENDS)
def bc(request) -> BackendCase:
    """Every backend: NumPy, array-api-strict on two devices, torch CPU, CuPy (gpu)."""
    return _make_case(request.param)


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread():
    """One BLAS thread for the whole run.

    The tests multiply small matrices, where multi-threaded BLAS only adds synchronization; on
    a shared 2-core machine (and next to Numba's own threads) it made them 5-20x slower.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_collection_modifyitems(config, items):
    if GPU_OK:
        return
    skip = pytest.mark.skip(reason=f"gpu test: {GPU_REASON}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# Numba on few cores: without this each parallel region spin-waits (the README command sets it
# too; this covers a bare `pytest`).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
