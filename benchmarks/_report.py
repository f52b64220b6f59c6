"""What every reproduction script shares: arguments, the data folder, and the report it writes
(JSON with the figures and the environment, a PNG, and a docs page with table and figure)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]


def parser(description: str) -> argparse.ArgumentParser:
    """Arguments common to all scripts; each script adds its own."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--quick", action="store_true",
                      help="reduced run (seconds), as the default test suite runs it")
    args.add_argument("--out-dir", type=Path, default=REPO / "benchmarks" / "results")
    args.add_argument("--docs-dir", type=Path, default=REPO / "docs",
                      help="where the page with table and figure goes ('' to skip)")
    args.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args.add_argument("--jobs", type=int, default=1,
                      help="processes for independent fits, each with cpu_count // jobs torch "
                           "threads (two 1-thread fits on two cores beat one 2-thread fit)")
    return args


def setup(options: argparse.Namespace, argv: list[str] | None) -> None:
    """Data folder default and thread count, before any fit; remembers the command line."""
    # shell-quoted, so that the "Regenerate with" line of a docs page runs as printed
    options.command_line = shlex.join(sys.argv[1:] if argv is None else argv)
    shared = REPO.parent / "shared" / "data"
    if "NEUROLATENT_DATA" not in os.environ and shared.is_dir():
        os.environ["NEUROLATENT_DATA"] = str(shared)
    if options.threads:
        torch.set_num_threads(options.threads)


def _settings(options: argparse.Namespace) -> dict:
    """A run's options as a report stores them (paths as text)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()}


def stored_runs(options: argparse.Namespace, name: str,
                same: tuple[str, ...] = ()) -> list[dict]:
    """With ``--merge``, the runs of the stored report ``<name>.json`` (none without it or
    without a stored report), for a run that adds to it; call it before any fit.

    The stored report's settings named in ``same`` must be this run's (runs of another
    recipe do not belong in one table): a difference stops here, before hours of fits.
    The merged report's page lists every command that contributed.
    """
    options.commands = [options.command_line]
    path = options.out_dir / f"{name}.json"
    if not getattr(options, "merge", False) or not path.is_file():
        return []
    stored = json.loads(path.read_text())
    settings = stored.get("settings", {})
    mine = _plain(_settings(options))
    differ = [f"{k}: stored {settings.get(k)!r}, here {mine.get(k)!r}" for k in same
              if settings.get(k) != mine.get(k)]
    if differ:
        raise SystemExit(f"--merge: {path} was written with other settings ("
                         + "; ".join(differ) + "); run without --merge, or with the same "
                         "settings, or with --out-dir elsewhere.")
    earlier = settings.get("commands") or (
        [settings["command_line"]] if "command_line" in settings else [])
    options.commands = [*earlier, options.command_line]
    return stored["runs"]


def merge(stored: list[dict], runs: list[dict], key) -> list[dict]:
    """``stored`` runs this invocation did not redo (by ``key(run)``), then ``runs``."""
    fresh = {key(r) for r in runs}
    return [r for r in stored if key(r) not in fresh] + runs


def environment() -> dict:
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "processor": platform.processor(),
            "python": platform.python_version()}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def markdown_table(rows: list[dict]) -> str:
    """Rows → a GitHub table (floats to 3 significant digits; a key a row lacks is "-")."""
    keys = list(dict.fromkeys(k for row in rows for k in row))

    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row.get(k, "-")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def _command(line: str, script: str) -> str:
    """A run's command line as a docs page prints it: the script, without output folders
    (where this copy was written, not part of the recipe)."""
    arguments = shlex.split(line)
    for flag in ("--out-dir", "--docs-dir"):
        while flag in arguments:
            at = arguments.index(flag)
            del arguments[at:at + 2]
    return shlex.join(["python", f"benchmarks/{script}.py", *arguments])


def write(name: str, options: argparse.Namespace, results: dict, figure, title: str,
          summary: str, rows: list[dict], script: str | None = None) -> dict:
    """Write ``<name>.json`` and ``<name>.png`` to the out dir, and ``<name>.md`` to docs.

    ``script`` names the script that wrote the report (default: ``name``); the page's
    "Regenerate with" line runs it with this run's arguments.
    """
    options.out_dir.mkdir(parents=True, exist_ok=True)
    results = {"name": name, "quick": bool(options.quick), "environment": environment(),
               "settings": _settings(options), **results}
    json_path = options.out_dir / f"{name}.json"
    json_path.write_text(json.dumps(_plain(results), indent=2))
    png_path = options.out_dir / f"{name}.png"
    figure.savefig(png_path, dpi=110, bbox_inches="tight")
    if str(options.docs_dir) not in ("", "."):
        options.docs_dir.mkdir(parents=True, exist_ok=True)
        (options.docs_dir / f"{name}.png").write_bytes(png_path.read_bytes())
        commands = ", then ".join(
            f"`{_command(line, script or name)}`"
            for line in getattr(options, "commands", [options.command_line]))
        (options.docs_dir / f"{name}.md").write_text(
            f"# {title}\n\n{summary}\n\n{markdown_table(rows)}\n\n![{title}]({name}.png)\n\n"
            f"Regenerate with {commands} (written {results['environment']['date']}, torch "
            f"{results['environment']['torch']}, {results['environment']['threads']} "
            "threads).\n")
    print(markdown_table(rows))
    print(f"wrote {json_path} and {png_path}")
    return results
