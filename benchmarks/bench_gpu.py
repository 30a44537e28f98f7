"""GPU benchmarks (CuPy + numba-cuda): ``python -m benchmarks gpu [--full]``.

Every section runs on its own (an exception is recorded in its row's ``error`` column and the
next section runs), and every figure is a ratio measured in the same process:

* ``device``: the GPU, driver, CUDA runtime, CuPy / numba / numba-cuda versions, a numba-cuda
  smoke kernel, and the device-to-device **copy bandwidth** (bytes read + written / time, CUDA
  events, median of repeats; the faster of ``cudaMemcpy`` and CuPy's elementwise copy).
* ``sampled``: the sampled-entry kernels of :mod:`lowrank_la.sampled` on CuPy at ``m = n = 10^6``,
  ``|Ω| = 2·10^7`` (``10^8`` with ``--full``), ``k = 64``, float32: achieved bandwidth of the
  minimal traffic (indices and values read once, each gathered factor row once, the output)
  against the copy bandwidth (``x_copy_bw`` = achieved / copy, 1 = at the bandwidth limit); peers
  on the same data: cuSPARSE through ``cupyx.scipy.sparse`` for ``spmm``/``spmm_t`` and
  ``torch.sparse.sampled_addmm`` (CUDA) for ``sddmm``.
* ``completion``: ``complete_matrix(method="robust_altmin")`` on a synthetic 138,493 x 26,744
  problem (the MovieLens-20M shape) with 2·10^7 entries of a planted rank-64 matrix, float32:
  seconds per sweep on the GPU (median of ``history["sweep_time"]`` after the first sweep) vs the
  same code on NumPy arrays on the host CPU (all cores; 1-2 sweeps, time capped); the target is
  <= 30 ms per sweep and >= 20x the CPU.
* ``sensing``, ``dlra``, ``tensor``: the sizes of ``bench_sensing``, ``bench_dlra`` and
  ``bench_tensor_hooi``, the same library calls on CuPy vs NumPy inputs (``speedup`` = CPU time /
  GPU time).  DLRA uses ``solver="rk4"`` on both (``expm`` is SciPy-only) with a dense ``L``.

Times: a warm-up call first (numba / numba-cuda compilation excluded), then the median of the
repeats, each timed with CUDA events or ``synchronize`` + ``perf_counter``.  Results go to
``benchmarks/results/gpu-<device-slug>.md`` and ``.json``.

``BENCH_GPU_FAKE=torch`` runs the whole script at toy sizes with torch CPU tensors standing in
for the device arrays (no CuPy needed): a smoke test of the script and of the library's
non-NumPy code paths, not a benchmark.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import time
import traceback
import warnings

import numpy as np

REQUIRES_GPU = True
GROUP_BY = "section"  # one markdown table per section

_FAKE = os.environ.get("BENCH_GPU_FAKE", "")


def unavailable() -> str | None:
    """Why this benchmark cannot run here (``None`` when it can)."""
    if _FAKE == "torch":
        return None
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001
        return (f"CuPy is not importable ({type(exc).__name__}: {exc}); the gpu benchmark needs "
                "a CUDA GPU with CuPy and numba-cuda (pip install 'lowrank_la[gpu-cuda13]')")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001
        return f"no usable CUDA device ({type(exc).__name__}: {exc})"
    return None if n > 0 else "no CUDA device"


def _full() -> bool:
    return os.environ.get("BENCH_FULL", "") not in ("", "0")


# ------------------------------------------------------------------------------------------------
# Device abstraction: CuPy for real, torch CPU tensors for the BENCH_GPU_FAKE smoke run
# ------------------------------------------------------------------------------------------------


class _Dev:
    def __init__(self):
        self.fake = _FAKE == "torch"
        if self.fake:
            import array_api_compat.torch as xp
            import torch

            self.torch = torch
            self.xp = xp
            self.name = "fake (torch CPU)"
        else:
            import array_api_compat.cupy as xp
            import cupy

            self.cp = cupy
            self.xp = xp
            self.name = "cupy"

    def sync(self):
        if not self.fake:
            self.cp.cuda.Device().synchronize()

    def asarray(self, a):
        a = np.ascontiguousarray(a)
        if self.fake:
            return self.torch.from_numpy(a.copy())
        return self.cp.asarray(a)

    def to_np(self, a):
        if self.fake:
            return a.detach().cpu().numpy()
        return self.cp.asnumpy(a)

    def randn(self, shape, dtype, seed):
        if self.fake:
            g = self.torch.Generator().manual_seed(seed)
            return self.torch.randn(shape, generator=g, dtype=getattr(self.torch, dtype))
        try:
            return self.cp.random.default_rng(seed).standard_normal(shape, dtype=dtype)
        except Exception:  # noqa: BLE001 - older CuPy: the legacy generator
            return self.cp.random.RandomState(seed).standard_normal(shape, dtype=dtype)

    def sample_flat(self, total, nnz, seed):
        """About ``nnz`` distinct sorted flat positions in ``[0, total)`` (duplicates dropped)."""
        if self.fake:
            g = self.torch.Generator().manual_seed(seed)
            flat = self.torch.randint(0, total, (nnz,), generator=g, dtype=self.torch.int64)
            return self.torch.unique(flat)  # sorted
        cp = self.cp
        try:
            flat = cp.random.default_rng(seed).integers(0, total, size=nnz, dtype=np.int64)
        except Exception:  # noqa: BLE001 - uniform floats: exact below 2^53 positions
            u = cp.random.RandomState(seed).random_sample(nnz)
            flat = cp.minimum(cp.floor(u * total).astype(cp.int64), total - 1)
        return cp.unique(flat)  # sorted

    def memory(self):
        if self.fake:
            return None
        free, total = self.cp.cuda.runtime.memGetInfo()
        return {"free_GB": free / 1e9, "total_GB": total / 1e9}

    def free_pools(self):
        if self.fake:
            return
        self.sync()
        self.cp.get_default_memory_pool().free_all_blocks()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass


def _median_time(dev, fn, repeat=5, warmup=1):
    """Median wall time of ``fn()`` with a device synchronize before and after each call."""
    for _ in range(warmup):
        fn()
    dev.sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        dev.sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _event_time(dev, fn, repeat=10, warmup=2):
    """Median of CUDA-event times of ``fn()`` (kernels on the current stream); wall time if fake."""
    if dev.fake:
        return _median_time(dev, fn, repeat, warmup)
    cp = dev.cp
    for _ in range(warmup):
        fn()
    dev.sync()
    times = []
    for _ in range(repeat):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    return statistics.median(times)


def _err(exc: BaseException) -> str:
    tb = traceback.format_exc()
    tail = " | ".join(line.strip() for line in tb.strip().splitlines()[-6:])
    return f"{type(exc).__name__}: {exc} [{tail}]"[:1500]


_CHECKPOINT: dict = {}


def _run_section(rows, name, fn, *args):
    """Run one section; on failure add a row with the error text instead of dying.

    The rows so far are written to the results files after every section, so a run killed by a
    time limit still leaves its finished sections behind.
    """
    t0 = time.perf_counter()
    print(f"-- {name}", flush=True)
    try:
        fn(rows, *args)
    except Exception as exc:  # noqa: BLE001 - every section is independent
        msg = _err(exc)
        print(f"   FAILED: {msg}", flush=True)
        rows.append({"section": name, "error": msg})
    try:
        dev = next((a for a in args if isinstance(a, _Dev)), None)
        if dev is not None:
            dev.free_pools()  # the section's arrays are gone: hand their memory back
    except Exception:  # noqa: BLE001
        pass
    print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    if _CHECKPOINT:
        try:
            from ._harness import environment, write_results

            write_results(_CHECKPOINT["name"], rows, environment(),
                          f"PARTIAL (written after section {name!r}). " + _CHECKPOINT["notes"],
                          group_by=GROUP_BY)
        except Exception as exc:  # noqa: BLE001
            print(f"   checkpoint not written: {exc}", flush=True)


# ------------------------------------------------------------------------------------------------
# device information and copy bandwidth
# ------------------------------------------------------------------------------------------------

_INFO: dict = {}


def device_info(dev) -> dict:
    import importlib.metadata as md

    info = {"backend": dev.name}
    for dist in ("cupy-cuda13x", "cupy-cuda12x", "numba", "numba-cuda", "torch", "numpy",
                 "array-api-compat"):
        try:
            info[dist] = md.version(dist)
        except Exception:  # noqa: BLE001
            pass
    if dev.fake:
        info["device"] = "fake-torch-cpu"
        return info
    cp = dev.cp
    try:
        props = cp.cuda.runtime.getDeviceProperties(0)
        name = props["name"]
        info["device"] = name.decode() if isinstance(name, bytes) else str(name)
        info["sm_count"] = props.get("multiProcessorCount")
        info["l2_MB"] = props.get("l2CacheSize", 0) / 2**20
        info["memory_GB"] = props.get("totalGlobalMem", 0) / 1e9
        info["compute_capability"] = f"{props.get('major')}.{props.get('minor')}"
    except Exception as exc:  # noqa: BLE001
        info["device"] = f"unknown ({exc})"
    for key, call in (("driver", cp.cuda.runtime.driverGetVersion),
                      ("cuda_runtime", cp.cuda.runtime.runtimeGetVersion)):
        try:
            v = call()
            info[key] = f"{v // 1000}.{(v % 1000) // 10}"
        except Exception as exc:  # noqa: BLE001
            info[key] = f"error: {exc}"
    info["cupy"] = cp.__version__
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                              "clocks.max.sm,clocks.max.mem", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = out.stdout.strip() or out.stderr.strip()
    except Exception as exc:  # noqa: BLE001
        info["nvidia_smi"] = f"error: {exc}"
    return info


def _sec_device(rows, dev):
    t0 = time.perf_counter()
    row = {"section": "device", **{k: v for k, v in _INFO.items() if k != "backend"}}
    # numba-cuda smoke kernel (the sampled kernels need it)
    try:
        from lowrank_la.sampled._kernels._numba_cuda import import_cuda

        cuda = import_cuda()

        @cuda.jit
        def _axpy(a, x, y):
            i = cuda.grid(1)
            if i < x.shape[0]:
                y[i] = a * x[i] + y[i]

        x = dev.asarray(np.arange(1000, dtype=np.float32))
        y = dev.asarray(np.ones(1000, dtype=np.float32))
        if not dev.fake:
            _axpy[8, 128](np.float32(2.0), x, y)
            dev.sync()
            ok = bool(np.allclose(dev.to_np(y), 2 * np.arange(1000) + 1))
            row["numba_cuda_smoke"] = "ok" if ok else "WRONG RESULT"
        else:
            row["numba_cuda_smoke"] = "skipped (fake)"
        row["numba_cuda_smoke_s"] = time.perf_counter() - t0
    except Exception as exc:  # noqa: BLE001
        row["numba_cuda_smoke"] = _err(exc)
    try:
        # which implementation the sampled ops resolve to on these arrays (a failed numba-cuda
        # import silently falls back to the array-API reference)
        from lowrank_la import get_backend

        fn = get_backend(dev.asarray(np.zeros(2))).kernel("sddmm")
        row["sampled_kernels"] = f"{fn.__module__}.{fn.__name__}"
        if not dev.fake and not fn.__module__.endswith("_cuda"):
            from lowrank_la.sampled._kernels import _cuda  # noqa: F401 - raises the reason
    except Exception as exc:  # noqa: BLE001
        row["sampled_kernels_error"] = _err(exc)
    rows.append(row)


def _sec_copy(rows, dev):
    if dev.fake:
        n = 1 << 22
        a = dev.asarray(np.ones(n, dtype=np.float32))
        b = dev.asarray(np.zeros(n, dtype=np.float32))
        t = _median_time(dev, lambda: b.copy_(a), repeat=5)
        _INFO["copy_Bps"] = 2 * a.numel() * 4 / t
        rows.append({"section": "copy bandwidth", "bytes": 2 * n * 4, "copy_GBps": 2 * n * 4 / t / 1e9})
        return
    cp = dev.cp
    nbytes = 2 << 30  # 2 GiB each way: far beyond L2
    a = cp.ones(nbytes // 4, dtype=cp.float32)
    b = cp.empty_like(a)
    t_memcpy = _event_time(dev, lambda: b.data.copy_from_device(a.data, nbytes), repeat=10)
    t_kernel = _event_time(dev, lambda: cp.copyto(b, a), repeat=10)
    best = min(t_memcpy, t_kernel)
    _INFO["copy_Bps"] = 2 * nbytes / best
    rows.append({"section": "copy bandwidth", "bytes": 2 * nbytes,
                 "memcpy_GBps": 2 * nbytes / t_memcpy / 1e9,
                 "copy_kernel_GBps": 2 * nbytes / t_kernel / 1e9,
                 "copy_GBps": 2 * nbytes / best / 1e9})


def _copy_bw():
    return _INFO.get("copy_Bps") or float("nan")


# ------------------------------------------------------------------------------------------------
# sampled kernels
# ------------------------------------------------------------------------------------------------


def _entries(dev, m, n, nnz, dtype, seed):
    from lowrank_la import get_backend
    from lowrank_la.sampled import ObservedEntries

    xp = dev.xp
    flat = dev.sample_flat(m * n, nnz, seed)
    rows = flat // n
    cols = flat - rows * n
    del flat
    values = dev.randn((rows.shape[0],), dtype, seed + 1)
    return ObservedEntries._from_sorted(get_backend(values), xp.astype(rows, xp.int64),
                                        xp.astype(cols, xp.int64), values, (m, n))


def _sampled_row(op, base, t, nbytes, **extra):
    bw = _copy_bw()
    return {"section": "sampled", "op": op, **base, "lib_s": t, "min_bytes_GB": nbytes / 1e9,
            "achieved_GBps": nbytes / t / 1e9, "copy_GBps": bw / 1e9,
            "x_copy_bw": (nbytes / t) / bw, **extra}


def _sec_sampled(rows, dev, m, n, nnz, k):
    from lowrank_la.sampled import (
        rowwise_cg,
        rowwise_lstsq,
        sampled_residual,
        sddmm,
        spmm,
        spmm_t,
    )

    xp = dev.xp
    t0 = time.perf_counter()
    om = _entries(dev, m, n, nnz, "float32", seed=0)
    om.T  # noqa: B018 - the column ordering is cached once, as a solver would
    dev.sync()
    nnz = om.nnz
    s = 4
    U = dev.randn((m, k), "float32", 2)
    V = dev.randn((n, k), "float32", 3)
    base = {"m": m, "n": n, "nnz": nnz, "k": k, "dtype": "float32"}
    print(f"   data: {time.perf_counter() - t0:.1f} s, nnz={nnz:,}", flush=True)

    def one(op, fn, nbytes, peers=(), check=None):
        try:
            t_compile = time.perf_counter()
            fn()
            dev.sync()
            t_compile = time.perf_counter() - t_compile
            t = _event_time(dev, fn, repeat=5, warmup=1)
            extra = {"first_call_s": t_compile}
            for pname, pfn in peers:
                try:
                    tp = _event_time(dev, pfn, repeat=5, warmup=1)
                    extra[f"{pname}_s"] = tp
                    extra[f"ratio_{pname}"] = tp / t
                except Exception as exc:  # noqa: BLE001
                    extra[f"{pname}_error"] = _err(exc)
            if check is not None:
                try:
                    extra["max_rel_err"] = check()
                except Exception as exc:  # noqa: BLE001
                    extra["check_error"] = _err(exc)
            rows.append(_sampled_row(op, base, t, nbytes, **extra))
        except Exception as exc:  # noqa: BLE001
            rows.append({"section": "sampled", "op": op, **base, "error": _err(exc)})
        print(f"   {rows[-1]}", flush=True)

    # reference on a slice of entries (host einsum of the gathered rows)
    c = min(nnz, 100_000)
    r_h, c_h = dev.to_np(om.rows[:c]), dev.to_np(om.cols[:c])
    U_h, V_h = dev.to_np(U), dev.to_np(V)

    def check_sddmm(out):
        ref = np.einsum("ij,ij->i", U_h[r_h].astype(np.float64), V_h[c_h].astype(np.float64))
        got = dev.to_np(out[:c]).astype(np.float64)
        return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))

    # -- torch / cuSPARSE peers ----------------------------------------------------------------
    peers_sddmm, peers_spmm, peers_spmm_t = [], [], []
    if not dev.fake:
        try:
            import torch

            if torch.cuda.is_available():
                tt = torch.from_dlpack
                crow, col = tt(om.indptr), tt(om.cols)
                tS = torch.sparse_csr_tensor(crow, col, tt(om.values), size=(m, n))
                tU, tVt = tt(U), tt(V).T.contiguous()
                peers_sddmm.append(("torch_sampled_addmm",
                                    lambda: torch.sparse.sampled_addmm(tS, tU, tVt, beta=0.0)))
        except Exception as exc:  # noqa: BLE001
            rows.append({"section": "sampled", "op": "torch peer setup", "error": _err(exc)})
        try:
            import cupyx.scipy.sparse as csp

            cp = dev.cp
            A = csp.csr_matrix((om.values, cp.asarray(om.cols, dtype=cp.int32),
                                cp.asarray(om.indptr, dtype=cp.int32)), shape=(m, n))
            T = om.T
            At = csp.csr_matrix((T.values, cp.asarray(T.cols, dtype=cp.int32),
                                 cp.asarray(T.indptr, dtype=cp.int32)), shape=(n, m))
            peers_spmm.append(("cusparse", lambda: A @ V))
            peers_spmm_t.append(("cusparse", lambda: At @ U))
        except Exception as exc:  # noqa: BLE001
            rows.append({"section": "sampled", "op": "cupyx peer setup", "error": _err(exc)})

    idx = nnz * 8 + m * 8  # cols + indptr (the minimal index traffic)
    one("sddmm", lambda: sddmm(om, U, V), idx + nnz * k * s + m * k * s + nnz * s,
        peers_sddmm, check=lambda: check_sddmm(sddmm(om, U, V)))
    one("sampled_residual", lambda: sampled_residual(om, U, V),
        idx + nnz * k * s + m * k * s + 2 * nnz * s)
    one("spmm", lambda: spmm(om, V), idx + nnz * (s + k * s) + m * k * s, peers_spmm)
    one("spmm_t", lambda: spmm_t(om, U), nnz * 8 + n * 8 + nnz * (s + k * s) + n * k * s,
        peers_spmm_t)
    X0 = xp.zeros((m, k), dtype=xp.float32)
    lam = 1e-3 * nnz / m
    for steps in (2, 3):
        # strict floor: values, cols, one gather of V per entry, X0 read and X written
        one(f"rowwise_cg({steps} steps)",
            lambda steps=steps: rowwise_cg(om, V, X0, lam=lam, maxiter=steps),
            idx + nnz * (s + k * s) + 2 * m * k * s)
    # exact per-row solves: m k^2 Gram storage, so on the first rows only (<= 10^5)
    try:
        from lowrank_la.sampled import ObservedEntries

        m2 = min(m, 100_000)
        e = int(dev.to_np(om.indptr[m2:m2 + 1])[0])
        sub = ObservedEntries._from_sorted(om.backend, om.rows[:e], om.cols[:e], om.values[:e],
                                           (m2, n), om.indptr[:m2 + 1])
        X0s = xp.zeros((m2, k), dtype=xp.float32)
        t_cg = _event_time(dev, lambda: rowwise_cg(sub, V, X0s, lam=lam, maxiter=3), 3, 1)
        t_ls = _event_time(dev, lambda: rowwise_lstsq(sub, V, lam=lam), 3, 1)
        rows.append({"section": "sampled", "op": "rowwise_lstsq (Gram + batched posv)",
                     "m": m2, "n": n, "nnz": e, "k": k, "dtype": "float32", "lib_s": t_ls,
                     "rowwise_cg3_s": t_cg, "lstsq_over_cg3": t_ls / t_cg})
    except Exception as exc:  # noqa: BLE001
        rows.append({"section": "sampled", "op": "rowwise_lstsq", "error": _err(exc)})
    print(f"   {rows[-1]}", flush=True)


# ------------------------------------------------------------------------------------------------
# matrix completion
# ------------------------------------------------------------------------------------------------


def _planted(dev, m, n, nnz, k, seed):
    """Ω uniform (duplicates dropped) with values of a planted rank-k product, float32."""
    from lowrank_la import get_backend
    from lowrank_la.sampled import ObservedEntries

    xp = dev.xp
    flat = dev.sample_flat(m * n, nnz, seed)
    rows = xp.astype(flat // n, xp.int64)
    cols = xp.astype(flat - rows * n, xp.int64)
    del flat
    Us = dev.randn((m, k), "float32", seed + 1) / math.sqrt(k)
    Vs = dev.randn((n, k), "float32", seed + 2)
    nz = rows.shape[0]
    parts = []
    chunk = 1 << 21
    for a in range(0, nz, chunk):
        b = min(nz, a + chunk)
        parts.append(xp.sum(xp.take(Us, rows[a:b], axis=0) * xp.take(Vs, cols[a:b], axis=0),
                            axis=1))
    values = xp.concat(parts)
    del parts, Us, Vs
    return ObservedEntries._from_sorted(get_backend(values), rows, cols, values, (m, n))


def _to_host_entries(om):
    from lowrank_la import get_backend
    from lowrank_la.sampled import ObservedEntries

    bk = om.backend
    rows, cols, values = (np.ascontiguousarray(bk.to_host(a)) for a in (om.rows, om.cols,
                                                                         om.values))
    indptr = np.ascontiguousarray(bk.to_host(om.indptr))
    return ObservedEntries._from_sorted(get_backend(values), rows, cols, values, om.shape, indptr)


def _run_completion(omega, k, init, maxiter, time_cap=None):
    from lowrank_la import ConvergenceWarning
    from lowrank_la.completion import complete_matrix

    t_start = time.perf_counter()

    def cap(res):
        if time_cap is not None and time.perf_counter() - t_start > time_cap:
            raise StopIteration

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = complete_matrix(omega, k, method="robust_altmin", maxiter=maxiter, init=init,
                              rng=0, callback=cap if time_cap else None)
    return res, time.perf_counter() - t_start


def _sweep_times(res):
    h = res.history
    if h.get("sweep_time"):
        return [float(t) for t in h["sweep_time"]]
    return [float(t) for t in np.diff([0.0, *h["time"]])]


def _sec_completion(rows, dev, m, n, nnz, k, gpu_sweeps, cpu_sweeps, cpu_cap):
    xp = dev.xp
    # warm-up (numba-cuda JIT of every kernel signature the solver uses) on a small problem
    t0 = time.perf_counter()
    small = _planted(dev, 2000, 1500, 60_000, k, seed=10)
    _run_completion(small, k, "spectral", 2)
    dev.sync()
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    om = _planted(dev, m, n, nnz, k, seed=20)
    dev.sync()
    t_data = time.perf_counter() - t0
    base = {"section": "completion", "m": m, "n": n, "nnz": om.nnz, "k": k, "dtype": "float32",
            "method": "robust_altmin (3 CG steps)"}
    print(f"   warm-up {t_warm:.1f} s, data {t_data:.1f} s, nnz={om.nnz:,}", flush=True)
    res, wall = _run_completion(om, k, "spectral", gpu_sweeps)
    st = _sweep_times(res)
    steady = st[1:] if len(st) > 1 else st
    gpu_sweep = statistics.median(steady)
    row = {**base, "gpu_sweep_s": gpu_sweep, "gpu_sweep_ms": 1e3 * gpu_sweep,
           "gpu_first_sweep_s": st[0], "gpu_sweeps": len(st),
           "gpu_init_s": wall - float(res.history["time"][-1]),
           "gpu_residual_last": float(res.history["residual"][-1]),
           "target_ms": 30.0, "meets_30ms": gpu_sweep <= 0.030,
           "warmup_s": t_warm, "data_s": t_data}
    rows.append(row)
    print(f"   {row}", flush=True)
    # the same problem on the host: identical start factors (the GPU run's spectral start is
    # not reused: a given start costs only a QR, and the per-sweep cost does not depend on it)
    U0 = dev.to_np(dev.randn((m, k), "float32", 30))
    V0 = dev.to_np(dev.randn((n, k), "float32", 31))
    host = _to_host_entries(om)
    del om, res
    dev.free_pools()
    # CPU warm-up: numba compilation (cached on disk after the first run)
    t0 = time.perf_counter()
    small_h = _to_host_entries(small)
    _run_completion(small_h, k, "random", 1)
    row["cpu_warmup_s"] = time.perf_counter() - t0
    res_h, wall_h = _run_completion(host, k, (U0, V0), cpu_sweeps, time_cap=cpu_cap)
    st_h = _sweep_times(res_h)
    cpu_sweep = statistics.median(st_h)
    row.update(cpu_sweep_s=cpu_sweep, cpu_sweeps=len(st_h), cpu_threads=os.cpu_count(),
               speedup_vs_cpu=cpu_sweep / gpu_sweep, meets_20x=cpu_sweep / gpu_sweep >= 20)
    print(f"   {row}", flush=True)
    del xp


# ------------------------------------------------------------------------------------------------
# sensing, DLRA, Tucker
# ------------------------------------------------------------------------------------------------


def _per_iteration(fn, op, y, rank, iters, **kw):
    from lowrank_la import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fn(op, y, rank, maxiter=iters, rtol=0.0, rng=0, **kw)
    return statistics.median(np.diff(res.history["time"])[1:])


def _sec_sensing(rows, dev, sizes, iters_gpu, iters_cpu):
    from lowrank_la.sensing import gd, make_sensing_problem, scaled_gd, subgradient

    like = dev.asarray(np.zeros(1))
    for n, m in sizes:
        for dtype in ("float64", "float32"):
            t0 = time.perf_counter()
            Pg = make_sensing_problem(n, 5, m, dtype=dtype, rng=0, like=like)
            Ph = make_sensing_problem(n, 5, m, dtype=dtype, rng=0)
            t_data = time.perf_counter() - t0
            A = Pg.operator.matrix
            d = A.shape[1]
            u = dev.asarray(np.ones(d, dtype=dtype))
            z = dev.asarray(np.ones(m, dtype=dtype))
            floor = _median_time(dev, lambda A=A, u=u, z=z: (A @ u, z @ A), repeat=10)
            for name, fn, kw in (("gd", gd, {"step": 0.5}),
                                 ("scaled_gd", scaled_gd, {"damping": 0.1}),
                                 ("subgradient", subgradient, {})):
                row = {"section": "sensing", "solver": name, "n": n, "m": m, "dtype": dtype,
                       "operator": "symmetric packed", "stored_MB": Pg.operator.nbytes / 2**20}
                try:
                    _per_iteration(fn, Pg.operator, Pg.y, 5, 3, **kw)  # warm-up
                    tg = _per_iteration(fn, Pg.operator, Pg.y, 5, iters_gpu, **kw)
                    th = _per_iteration(fn, Ph.operator, Ph.y, 5, iters_cpu, **kw)
                    row.update(gpu_s=tg, cpu_s=th, speedup=th / tg, gpu_floor_s=floor,
                               gpu_x_floor=tg / floor, data_s=t_data)
                except Exception as exc:  # noqa: BLE001
                    row["error"] = _err(exc)
                rows.append(row)
                print(f"   {row}", flush=True)
            del Pg, Ph, A
            dev.free_pools()


def _dlra_problem(N, rng, to):
    from lowrank_la.dlra import LinearMatrixODE

    from .bench_dlra import source_and_start  # the same problem as the CPU benchmark

    L = np.diag(-2.0 * np.ones(N)) + np.diag(np.ones(N - 1), 1) + np.diag(np.ones(N - 1), -1)
    P, Q, Y0 = source_and_start(N, rng)
    Ld = to(L)
    return (LinearMatrixODE([(Ld, None), (None, Ld)], source=(to(P), to(Q))),
            tuple(to(Y) for Y in Y0))


def _sec_dlra(rows, dev, sizes):
    from lowrank_la.dlra import integrate

    T, h = 1.0, 0.05
    for N in sizes:
        probs = {"gpu": _dlra_problem(N, np.random.default_rng(N), dev.asarray),
                 "cpu": _dlra_problem(N, np.random.default_rng(N), np.asarray)}
        for method, kw in (("bug", {}), ("ra_bug", {"tol": 1e-3, "max_rank": 20})):
            row = {"section": "dlra", "N": N, "method": method, "solver": "rk4",
                   "operator": "dense L", "dtype": "float64", "steps": int(round(T / h))}
            try:
                times, res = {}, {}
                for where, (prob, Y0) in probs.items():
                    integrate(prob, Y0, (0.0, h), h, method=method, solver="rk4", **kw)
                    dev.sync()
                    t0 = time.perf_counter()
                    res[where] = integrate(prob, Y0, (0.0, T), h, method=method, solver="rk4",
                                           **kw)
                    dev.sync()
                    times[where] = time.perf_counter() - t0
                Yg = res["gpu"]
                Yh = res["cpu"]
                diff = np.linalg.norm(dev.to_np(Yg.U @ Yg.S @ Yg.V.T) - Yh.U @ Yh.S @ Yh.V.T)
                row.update(rank_gpu=Yg.rank, rank_cpu=Yh.rank, gpu_s=times["gpu"],
                           cpu_s=times["cpu"], speedup=times["cpu"] / times["gpu"],
                           gpu_ms_per_step=1e3 * times["gpu"] / max(Yg.nit, 1),
                           gpu_vs_cpu_diff=float(diff))
            except Exception as exc:  # noqa: BLE001
                row["error"] = _err(exc)
            rows.append(row)
            print(f"   {row}", flush=True)
        del probs
        dev.free_pools()


def _sec_tensor(rows, dev, shapes, big):
    from lowrank_la import ConvergenceWarning
    from lowrank_la.tensor import hooi, hosvd, select_core_shape, st_hosvd, uneven_tensor

    def timed(fn, repeat):
        fn()
        dev.sync()
        return _median_time(dev, fn, repeat=repeat, warmup=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, shape, taus, seed in shapes:
            X = uneven_tensor(shape, taus, noise=0.01, rng=seed)
            Xg = dev.asarray(X)
            for frac in (0.01, 0.05):
                ranks = select_core_shape(X, int(frac * X.size)).shape
                for what, fn in (("hosvd", lambda A, r=ranks: hosvd(A, r)),
                                 ("hooi 5 sweeps", lambda A, r=ranks: hooi(
                                     A, r, init="hosvd", maxiter=5, tol=0))):
                    row = {"section": "tensor", "tensor": name, "dims": "x".join(map(str, shape)),
                           "ranks": str(tuple(int(r) for r in ranks)), "what": what,
                           "dtype": "float64"}
                    try:
                        tg = timed(lambda fn=fn, A=Xg: fn(A), 3)
                        th = timed(lambda fn=fn, A=X: fn(A), 3)
                        row.update(gpu_s=tg, cpu_s=th, speedup=th / tg)
                    except Exception as exc:  # noqa: BLE001
                        row["error"] = _err(exc)
                    rows.append(row)
                    print(f"   {row}", flush=True)
        X = uneven_tensor(big, (2, 6, 20), noise=0.01, rng=2)
        Xg = dev.asarray(X)
        ranks = (8, 20, 40)
        for what, fn in (("st_hosvd exact", lambda A: st_hosvd(A, ranks)),
                         ("st_hosvd randomized", lambda A: st_hosvd(
                             A, ranks, randomized=True, rng=0, n_power_iter=1))):
            row = {"section": "tensor", "tensor": "uneven " + "x".join(map(str, big)),
                   "dims": "x".join(map(str, big)), "ranks": str(ranks), "what": what,
                   "dtype": "float64"}
            try:
                tg = timed(lambda fn=fn: fn(Xg), 3)
                th = timed(lambda fn=fn: fn(X), 3)
                row.update(gpu_s=tg, cpu_s=th, speedup=th / tg)
            except Exception as exc:  # noqa: BLE001
                row["error"] = _err(exc)
            rows.append(row)
            print(f"   {row}", flush=True)


# ------------------------------------------------------------------------------------------------
# entry points
# ------------------------------------------------------------------------------------------------


def result_name(quick: bool) -> str:
    """``gpu-<device-slug>`` (plus ``-quick`` / ``-full``)."""
    dev = _INFO.get("device") or "unknown"
    slug = re.sub(r"[^a-z0-9]+", "-", dev.lower()).strip("-") or "unknown"
    only = "".join(f"-{x}" for x in _only_sections())
    return f"gpu-{slug}" + ("-quick" if quick else "-full" if _full() else "") + only


def _only_sections():
    """``BENCH_GPU_SECTIONS=sampled,completion`` reruns some sections (file named after them)."""
    return [x for x in os.environ.get("BENCH_GPU_SECTIONS", "").split(",") if x]


def run(quick: bool = False):
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    t_all = time.perf_counter()
    dev = _Dev()
    _INFO.clear()
    try:
        _INFO.update(device_info(dev))
    except Exception as exc:  # noqa: BLE001
        _INFO["device_info_error"] = _err(exc)
    print(f"   {_INFO}", flush=True)
    full = _full()
    toy = quick or dev.fake
    rows: list[dict] = []
    only = _only_sections()
    _CHECKPOINT.update(name=result_name(quick), notes=__doc__.split("\n\n", 1)[1].strip())

    def _section(rows, title, *args):
        if not only or title in only or title in ("device", "copy bandwidth"):
            _run_section(rows, title, *args)

    _section(rows, "device", _sec_device, dev)
    _section(rows, "copy bandwidth", _sec_copy, dev)
    if toy:
        sampled = (20_000, 20_000, 200_000, 16)
        completion = (3000, 1000, 100_000, 8, 3, 1, 30.0)
        sensing = [(30, 1000)]
        dlra = [200]
        tensors = [("uneven 30^3", (30,) * 3, (2, 6, 20), 0)]
        big = (40,) * 3
    else:
        sampled = (10**6, 10**6, 10**8 if full else 2 * 10**7, 64)
        completion = (138_493, 26_744, 10**8 if full else 2 * 10**7, 64, 8 if full else 5,
                      2, 60.0)
        sensing = [(100, 5000), (200, 10_000)]
        dlra = [1000, 4000] + ([8000] if full else [])
        tensors = [("uneven 100^3", (100,) * 3, (2, 6, 20), 0),
                   ("uneven 120x100x80", (120, 100, 80), (40, 3, 10), 1)]
        big = (400,) * 3 if full else (200,) * 3
    _section(rows, "sampled", _sec_sampled, dev, *sampled)
    _section(rows, "completion", _sec_completion, dev, *completion)
    _section(rows, "sensing", _sec_sensing, dev, sensing, 30, 10)
    _section(rows, "dlra", _sec_dlra, dev, dlra)
    _section(rows, "tensor", _sec_tensor, dev, tensors, big)
    _CHECKPOINT.clear()
    n_err = sum(1 for r in rows if "error" in r)
    notes = (__doc__.split("\n\n", 1)[1].strip() + "\n\n"
             f"Device: {_INFO.get('device')} (driver {_INFO.get('driver')}, CUDA runtime "
             f"{_INFO.get('cuda_runtime')}, CuPy {_INFO.get('cupy')}, numba-cuda "
             f"{_INFO.get('numba-cuda')}); copy bandwidth {_copy_bw() / 1e9:.0f} GB/s. "
             f"Sizes: {'--quick toy' if toy else '--full' if full else 'default'}. "
             f"{n_err} row(s) with errors. Total {time.perf_counter() - t_all:.0f} s. "
             "Command: python -m benchmarks gpu" + (" --quick" if quick else "")
             + (" --full" if full else ""))
    return rows, notes
