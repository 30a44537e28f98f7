import subprocess
import sys

import pytest

HEAVY = ["numba", "scipy", "cupy", "torch", "dask", "sklearn", "matplotlib"]


def test_import_is_lightweight():
    code = (
        "import sys, lowrank_la\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"`import lowrank_la` imported {out.stdout.strip()}"


def test_lazy_attributes_resolve():
    import lowrank_la

    assert lowrank_la.LowRankMatrix is lowrank_la.linalg.LowRankMatrix
    assert issubclass(lowrank_la.ConvergenceWarning, UserWarning)
    with pytest.raises(AttributeError, match="no attribute"):
        lowrank_la.not_a_thing  # noqa: B018
