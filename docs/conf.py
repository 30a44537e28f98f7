"""Sphinx configuration: numpydoc + autosummary API reference generated from docstrings."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

from lowrank_la import __version__  # noqa: E402

project = "lowrank_la"
author = "lowrank_la developers"
copyright = "2026, lowrank_la developers"
release = version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
templates_path = []
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = f"lowrank_la {version}"
intersphinx_mapping = {}
suppress_warnings = ["autosummary.import_cycle"]
nitpicky = False
