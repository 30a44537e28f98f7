"""No device-to-host copies of arrays inside the iterations of the GPU solvers (CuPy).

Every ``cupy.ndarray`` method that copies to the host (``get``, which ``cupy.asnumpy``,
``float()`` and ``Backend.to_host`` go through, ``tolist``, ``item``, ``__array__``) is wrapped by
:func:`lowrank_la._testing.count_host_copies`.  Recording starts in the solver's callback after
the first iteration (setup copies such as row counts are allowed) and a copy of more than 16
elements fails the test: control-flow scalars (a residual norm, a step count) are allowed.
"""

import warnings

import numpy as np
import pytest

from lowrank_la import ConvergenceWarning
from lowrank_la._testing import HostCopyCounter, count_host_copies

pytestmark = pytest.mark.gpu


@pytest.fixture
def cp():
    return pytest.importorskip("cupy")


def _report(counter):
    return "\n".join(f"{name} of {n} elements at {where}" for name, n, where in counter.large)


def test_counter_sees_cupy_copies(cp):
    """The mechanism itself: an explicit large copy is seen (else the other tests prove nothing)."""
    x = cp.arange(100, dtype=cp.float64)
    with count_host_copies(cp.ndarray) as c:
        x.get()  # the path of Backend.to_host
    assert [(name, n) for name, n, _ in c.large] == [("get", 100)], c.calls
    with count_host_copies(cp.ndarray) as c:
        float(cp.sum(x))
        x[:3].tolist()
    assert not c.large, c.calls  # scalars and short arrays are not "large"


def _gpu_entries(cp, m, n, rank, seed):
    from lowrank_la.datasets import synthetic_completion
    from lowrank_la.sampled import ObservedEntries

    om, _ = synthetic_completion(m, n, rank, oversampling=4, rng=seed)
    return ObservedEntries(cp.asarray(om.rows), cp.asarray(om.cols),
                           cp.asarray(om.values.astype(np.float32)), om.shape)


@pytest.mark.parametrize("kw", [{}, {"reg": 0.1, "reg_scaling": "count"}],
                         ids=["plain", "als-wr"])
def test_complete_matrix_sweeps_stay_on_device(cp, kw):
    from lowrank_la.completion import complete_matrix

    omega = _gpu_entries(cp, 600, 400, 4, seed=0)
    counter = HostCopyCounter(threshold=16, active=False)

    def start_counting(result):
        counter.active = True  # setup and the first sweep are done

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with count_host_copies(cp.ndarray, counter=counter):
            res = complete_matrix(omega, 4, method="robust_altmin", maxiter=4, tol=0.0,
                                  rtol=0.0, callback=start_counting, rng=0, **kw)
    assert res.nit == 4
    assert isinstance(res.U, cp.ndarray) and isinstance(res.V, cp.ndarray)
    assert not counter.large, "host copies inside the sweeps:\n" + _report(counter)


@pytest.mark.parametrize("solver", ["gd", "scaled_gd", "subgradient"])
def test_sensing_iterations_stay_on_device(cp, solver):
    from lowrank_la import sensing

    P = sensing.make_sensing_problem(20, 2, 600, rng=0, like=cp.zeros(1))
    counter = HostCopyCounter(threshold=16, active=False)

    def start_counting(state):
        counter.active = True

    kw = {"damping": 0.1} if solver == "scaled_gd" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with count_host_copies(cp.ndarray, counter=counter):
            res = getattr(sensing, solver)(P.operator, P.y, 2, maxiter=6, rtol=0.0, rng=0,
                                           callback=start_counting, **kw)
    assert res.nit == 6
    assert not counter.large, "host copies inside the iterations:\n" + _report(counter)
