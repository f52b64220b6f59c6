"""Command line: ``python -m neurolatent demo [--out DIR] [--iterations N]``."""

from __future__ import annotations

import argparse

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m neurolatent``.

    Examples
    --------
    >>> main(["--help"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    parser = argparse.ArgumentParser(prog="neurolatent", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit CEBRA on simulated place cells, print and plot")
    demo.add_argument("--out", default="neurolatent_demo", help="folder for the PNG plots")
    demo.add_argument("--iterations", type=int, default=1200)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from neurolatent.demo import run_demo

        run_demo(args.out, args.iterations, args.seed)
    return 0
