"""The demo entry (to be registered in lowrank_la._demo._EXTRA_DEMOS) checks out."""

import argparse

import pytest

pytest.importorskip("distributed", reason="distributed not installed (pip install '.[dask]')")


def test_demo_passes(capsys):
    from lowrank_la.distributed._demo import demo

    assert demo(argparse.Namespace(seed=0))
    assert "max difference to the in-memory run" in capsys.readouterr().out
