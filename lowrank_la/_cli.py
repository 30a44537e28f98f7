"""Command-line registry: modules add subcommands with :func:`register_command`.

Subcommands are declared as ``"module:function"`` strings so that ``python -m lowrank_la --help``
imports nothing heavy; the module loads only when its subcommand runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

__all__ = ["register_command", "main"]


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    configure: str  # "module:function" adding arguments to a subparser
    run: str  # "module:function" taking the parsed namespace, returning an exit code


_COMMANDS: dict[str, _Command] = {}


def register_command(name: str, help: str, *, configure: str, run: str) -> None:
    """Add subcommand ``name`` to ``python -m lowrank_la``."""
    _COMMANDS[name] = _Command(name, help, configure, run)


def _load(path):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# Built-in commands.  Later modules append here (one line each) so --help lists them all.
register_command("info", "versions, backends, kernels and GPU availability",
                 configure="lowrank_la._info:configure", run="lowrank_la._info:run")
register_command("reproduce", "reproduce the papers' convergence experiments (--list for names)",
                 configure="lowrank_la.experiments._cli:configure",
                 run="lowrank_la.experiments._cli:run")
register_command("demo", "a one-minute tour: randomized SVD and (when available) a solver run",
                 configure="lowrank_la._demo:configure", run="lowrank_la._demo:run")


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="python -m lowrank_la",
        description="lowrank_la: low-rank numerical linear algebra on NumPy, CuPy and PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"lowrank_la {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO level)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in _COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        p.set_defaults(_run=cmd.run, _configure=cmd.configure)
        # configure lazily only for the chosen command (see main)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # first pass: find the command; second pass: add its arguments and parse fully
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 0
    cmd = _COMMANDS[known.command]
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    _load(cmd.configure)(sub_action.choices[cmd.name])
    args = parser.parse_args(argv)
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("lowrank_la").setLevel(logging.INFO)
    return int(_load(cmd.run)(args) or 0)
