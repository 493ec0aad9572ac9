"""`mimo-desktop export`: conversations as Markdown or JSON, to a file or stdout."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from .errors import MimoError
from .export import FORMATS, export
from .store import Store


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mimo-desktop export", description="Export conversations.")
    parser.add_argument("--conversation", type=int, action="append", metavar="ID", help="only this one (repeatable)")
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--reasoning", action="store_true", help="include the model's thinking (Markdown)")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    parser.add_argument("--home", type=Path, help="data folder (default: $MIMO_DESKTOP_HOME or the user data folder)")
    args = parser.parse_args(argv)
    try:
        store = Store.open(args.home)
        try:
            text = export(store, args.format, args.conversation, reasoning=args.reasoning)
        finally:
            store.close()
        if args.output is None:
            sys.stdout.write(text)
        else:
            write_atomically(args.output, text)
    except MimoError as exc:
        sys.stderr.write(f"mimo-desktop export: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"mimo-desktop export: cannot write {args.output}: {exc.strerror}\n")
        return 1
    return 0


def write_atomically(target: Path, text: str) -> None:
    """Never leave a half-written export: write beside it, then rename over it."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
