"""``python -m lowrank_la reproduce NAME [--seeds N] [--full] [--out DIR]`` and ``--list``."""

from __future__ import annotations

import sys


def configure(parser):
    """Add the ``reproduce`` arguments to ``parser``."""
    parser.add_argument("name", nargs="?", help="experiment to run, or 'all' (see --list)")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--seeds", type=int, default=1, help="random problems (default 1)")
    parser.add_argument("--full", action="store_true",
                        help="larger, paper-like sizes (minutes instead of seconds)")
    parser.add_argument("--out", default="reproduce-out",
                        help="output directory (default ./reproduce-out)")
    parser.add_argument("--no-plot", action="store_true", help="skip the matplotlib figure")


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_summary(name, res, file=None):
    """The one-screen summary: iterations to tolerance, final errors, fitted rates, claim."""
    from ._configs import EXPERIMENTS

    file = file or sys.stdout
    exp = EXPERIMENTS[name]
    print(f"== {name}: {exp.title}", file=file)
    print(f"   {exp.paper}", file=file)
    width = max(len(k) for k in res.summary)
    print(f"   {'curve'.ljust(width)}  {'its to ' + format(exp.tol, '.0e'):>11}  "
          f"{'final err':>9}  {'rate/it':>7}  {'seconds':>7}", file=file)
    for label, s in res.summary.items():
        print(f"   {label.ljust(width)}  {_fmt(s['iterations_to_tol'], 'd'):>11}  "
              f"{s['final_error']:9.1e}  {_fmt(s['rate'], '.4f'):>7}  {s['seconds']:7.2f}",
              file=file)
    verdict = "VISIBLE" if res.success else "NOT VISIBLE"
    print(f"   claim: {exp.claim}", file=file)
    print(f"   -> {verdict}: {res.message}", file=file)
    for f in res.files:
        print(f"   wrote {f}", file=file)
    print(f"   ({res.elapsed:.1f} s)", file=file)


def run(args) -> int:
    """Run the command; exit code 0 when every requested claim is visible, 1 otherwise."""
    from ._configs import EXPERIMENTS
    from ._runner import run_experiment

    others = _other_reproductions()
    if args.list or not args.name:
        for name, exp in EXPERIMENTS.items():
            print(f"{name:16s} {exp.title}\n{'':16s} {exp.paper}")
        for name, (title, paper, _) in others.items():
            print(f"{name:16s} {title}\n{'':16s} {paper}")
        return 0 if args.list else 2
    if args.name in others:
        return others[args.name][2](args)
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        known = ", ".join([*EXPERIMENTS, *others])
        print(f"unknown experiment {unknown[0]!r}; known: {known}", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"--seeds must be >= 1, got {args.seeds}", file=sys.stderr)
        return 2
    ok = True
    for name in names:
        res = run_experiment(name, seeds=args.seeds, full=args.full, out=args.out,
                             plot=not args.no_plot, verbose=getattr(args, "verbose", False))
        print_summary(name, res)
        ok &= res.success
    return 0 if ok else 1


def _other_reproductions():
    """Reproductions owned by other areas: name -> (title, paper, run(args) -> exit code)."""
    from ..dlra import REPRODUCTIONS

    def run_dlra(name):
        def go(args):
            from ..dlra import reproduce

            res = reproduce(name, full=args.full, out=args.out, plot=not args.no_plot)
            print(f"== {name}: {res.message}")
            for f in res.files:
                print(f"   wrote {f}")
            return 0 if res.success else 1

        return go

    def run_digits(args):
        from ..torch._reproduce import main as digits_main

        return digits_main(["--seeds", str(args.seeds), "--out", args.out])

    out = {name: (entry[1], entry[2], run_dlra(name)) for name, entry in REPRODUCTIONS.items()}
    out["nn-digits"] = ("Low-rank training methods on digits: accuracy vs parameters (needs torch)",
                        "DLRT, TRP, Cuttlefish, GaLore, compress_ (see docs/areas/nn.rst)",
                        run_digits)
    return out


def main(argv=None) -> int:
    """Standalone entry (``python -m lowrank_la.experiments``) until the lead registers it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lowrank_la.experiments",
                                     description="reproduce the matrix-sensing papers' figures")
    parser.add_argument("-v", "--verbose", action="store_true")
    configure(parser)
    return run(parser.parse_args(argv))
