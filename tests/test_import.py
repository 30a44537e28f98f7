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


def test_demo_skips_an_area_whose_extra_is_missing():
    """``python -m lowrank_la demo`` after a plain install (no torch) skips the nn line."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"  # as if torch were not installed
            "from lowrank_la import _demo\n"
            "_demo._EXTRA_DEMOS[:] = ['lowrank_la.torch._demo:demo']\n"
            "assert _demo.run_area_demos(None)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "torch: skipped (needs torch)" in proc.stdout, \
        proc.stdout + proc.stderr
