"""The device-to-host copy counter of ``lowrank_la._testing`` (used by tests/gpu), on the CPU."""

import numpy as np
import pytest

from lowrank_la._testing import HostCopyCounter, count_host_copies


class FakeDeviceArray:
    """Stands in for a device array: ``get``/``tolist`` copy to the host, like CuPy's."""

    def __init__(self, a):
        self.a = np.asarray(a)
        self.shape = self.a.shape

    def get(self):
        return self.a.copy()

    def tolist(self):
        return self.get().tolist()  # nested: must be counted once

    def __float__(self):
        return float(self.get())


def test_counts_large_and_small_copies():
    with count_host_copies(FakeDeviceArray) as c:
        FakeDeviceArray(np.ones((10, 10))).get()
        FakeDeviceArray(np.ones(3)).tolist()
        FakeDeviceArray(np.ones(17)).tolist()
    assert [(name, n) for name, n, _ in c.calls] == [("get", 100), ("tolist", 3), ("tolist", 17)]
    assert [n for _, n, _ in c.large] == [100, 17]
    assert len(c.small) == 1
    assert c.calls[0][2].endswith(".py:" + c.calls[0][2].rsplit(":", 1)[1])
    assert "test_host_copy_counter.py" in c.calls[0][2]  # the caller, not the wrapper


def test_restores_methods_and_counts_only_while_active():
    orig_get, orig_tolist = FakeDeviceArray.get, FakeDeviceArray.tolist
    counter = HostCopyCounter(threshold=4, active=False)
    with count_host_copies(FakeDeviceArray, counter=counter) as c:
        assert c is counter
        FakeDeviceArray(np.ones(50)).get()  # setup phase: not recorded
        counter.active = True
        FakeDeviceArray(np.ones(50)).get()
        FakeDeviceArray(np.ones(4)).get()
    assert len(c.calls) == 2 and len(c.large) == 1
    assert FakeDeviceArray.get is orig_get and FakeDeviceArray.tolist is orig_tolist
    FakeDeviceArray(np.ones(50)).get()  # after the block: nothing recorded
    assert len(c.calls) == 2


def test_restores_after_an_exception():
    orig = FakeDeviceArray.get
    with pytest.raises(RuntimeError), count_host_copies(FakeDeviceArray):
        raise RuntimeError("boom")
    assert FakeDeviceArray.get is orig


def test_inherited_methods_are_wrapped_and_removed_again():
    class Sub(FakeDeviceArray):
        pass

    with count_host_copies(Sub, methods=("get", "missing")) as c:
        assert "get" in Sub.__dict__
        Sub(np.ones(20)).get()
        FakeDeviceArray(np.ones(20)).get()  # the base class is untouched
    assert "get" not in Sub.__dict__
    assert len(c.calls) == 1


def test_on_a_python_class_over_a_c_type():
    # torch.Tensor is, like cupy.ndarray, a Python class over a compiled base: its methods can
    # be wrapped and restored the same way
    torch = pytest.importorskip("torch")
    before = dict(torch.Tensor.__dict__)
    with count_host_copies(torch.Tensor, methods=("numpy", "tolist", "item")) as c:
        torch.ones(30).numpy()
        torch.ones(1).item()
    assert [(name, n) for name, n, _ in c.calls] == [("numpy", 30), ("item", 1)]
    assert len(c.large) == 1
    assert set(torch.Tensor.__dict__) == set(before)
