"""Doctest collection: this package needs the optional ``dask`` extra; skip it without one."""

from importlib.util import find_spec

collect_ignore_glob = [] if (find_spec("dask") and find_spec("distributed")) else ["*.py"]
