"""The docs build without warnings, the CLI answers, and README's commands are what CI runs."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **kw):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.mark.skipif(importlib.util.find_spec("sphinx") is None,
                    reason="sphinx not installed (pip install '.[docs]')")
def test_docs_build_without_warnings(tmp_path):
    out = _run("-m", "sphinx", "-W", "-q", "-b", "html", "docs", str(tmp_path / "html"))
    assert out.returncode == 0, out.stderr[-3000:]


def test_cli_help_lists_commands():
    out = _run("-m", "lowrank_la", "--help")
    assert out.returncode == 0
    assert "info" in out.stdout and "demo" in out.stdout


def test_cli_info_json_reports_versions():
    import json

    out = _run("-m", "lowrank_la", "info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    import lowrank_la

    assert info["lowrank_la"] == lowrank_la.__version__
    assert info["packages"]["numpy"]


def test_cli_demo_checks_its_answer():
    out = _run("-m", "lowrank_la", "demo", "--size", "300", "--rank", "5")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo passed" in out.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    start = readme.index("<!-- test-command -->")
    block = readme[start:].split("```bash", 1)[1].split("```", 1)[0].strip()
    for line in block.splitlines():
        assert line.strip() in ci, f"README test command line not in .ci/run: {line}"


def test_reproduce_routes_other_areas(tmp_path):
    out = _run("-m", "lowrank_la", "reproduce", "--list")
    assert out.returncode == 0
    for name in ("tong2021", "dlra-rank-adaptive", "nn-digits"):
        assert name in out.stdout
    out = _run("-m", "lowrank_la", "reproduce", "dlra-rank-adaptive", "--out", str(tmp_path),
               "--no-plot")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "dlra-rank-adaptive" / "curves.csv").exists()
    bad = _run("-m", "lowrank_la", "reproduce", "nope")
    assert bad.returncode == 2 and "unknown experiment" in bad.stderr
