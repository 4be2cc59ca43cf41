"""``comodo`` command line: ``world``, ``teacher``, ``distill``, ``evaluate``, ``egodistill``, ``study``, ``report``.

Every sub-command lives in the module that does the work and registers itself here through
``add_parser(subparsers)`` + ``run(args)``; heavy imports happen only when a command runs.
A :class:`~comodo.errors.ComodoError`, or an ``OSError`` (an output path that cannot be written), becomes
one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from comodo.errors import ComodoError

# sub-command name -> module holding add_parser() and run()
COMMANDS = {
    "world": "comodo.world.cli",
    "teacher": "comodo.teacher.cli",
    "distill": "comodo.train.cli",
    "evaluate": "comodo.evaluation.cli",
    "egodistill": "comodo.egodistill.cli",
    "study": "comodo.study.cli",
    "report": "comodo.study.report",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="comodo",
        description="Cross-modal video→IMU distillation (COMODO) for egocentric activity recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:  # a command not built yet
            if e.name and e.name.startswith(module.rsplit(".", 1)[0]):
                continue
            raise
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ComodoError as e:
        print(f"comodo: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a path that cannot be read or written (read-only, a file where a folder goes, ...)
        where = f"{e.filename}: " if e.filename else ""
        print(f"comodo: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("comodo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
