"""The demo line of lowrank_la.nn runs and checks out."""

from __future__ import annotations

from types import SimpleNamespace

from lowrank_la.torch._demo import demo


def test_demo(capsys):
    assert demo(SimpleNamespace(seed=0))
    assert "DLRT on digits" in capsys.readouterr().out
