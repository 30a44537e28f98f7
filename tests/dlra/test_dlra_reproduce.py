"""The reproduction runner and the demo line."""

import json
import types

import pytest

from lowrank_la.dlra import reproduce
from lowrank_la.dlra._reproduce import demo


def test_reproduce_rank_adaptive_writes_files(tmp_path):
    res = reproduce("dlra-rank-adaptive", out=tmp_path, plot=True)
    assert res.success, res.message
    folder = tmp_path / "dlra-rank-adaptive"
    settings = json.loads((folder / "settings.json").read_text())
    assert settings["claim_visible"] is True
    lines = (folder / "curves.csv").read_text().splitlines()
    assert lines[0].startswith("t,rank,error") and len(lines) == 62  # header + 61 times
    assert (folder / "figure.png").stat().st_size > 1000


def test_reproduce_unknown_name():
    with pytest.raises(ValueError, match="`name`"):
        reproduce("dlra-nope")


def test_demo(capsys):
    assert demo(types.SimpleNamespace(seed=0))
    assert "rank-adaptive BUG" in capsys.readouterr().out
