"""Entry point: `mimo-desktop` opens the window; subcommands do the same work headless.

Kept import-light: the window must appear without importing torch or vLLM.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> module with `run(argv) -> int`; imported only when asked for.
SUBCOMMANDS = {
    "export": "mimo_desktop.core.export_cli",
    "inspect": "mimo_desktop.media.cli",
    "ask": "mimo_desktop.engine.cli",
    "model": "mimo_desktop.models.cli",
}

USAGE = """\
usage: mimo-desktop [--version] [--self-test] [--home DIR]
       mimo-desktop export [--conversation ID] --format md|json [-o FILE]
       mimo-desktop inspect FILE... [--model DIR] [--json]
       mimo-desktop ask "question" [--attach FILE]... [--engine vllm|remote] ...
       mimo-desktop model check|fit|download ...

Chat with Xiaomi's omni-modal MiMo-V2.5 models about images, video and sound.
Run `mimo-desktop SUBCOMMAND --help` for a subcommand's options.
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[argv[0]])
        return module.run(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if argv and argv[0] == "--version":
        from mimo_desktop import __version__

        print(f"mimo-desktop {__version__}")
        return 0
    known = {"--self-test", "--home", "--screenshot"}
    unknown = [a for a in argv if a.startswith("-") and a.split("=")[0] not in known]
    if unknown:
        sys.stderr.write(f"mimo-desktop: unknown option {unknown[0]}\n{USAGE}")
        return 2
    _use_spawn_for_workers()
    from mimo_desktop.app import run_gui  # Qt, but still no torch or vLLM

    return run_gui(argv)


def _use_spawn_for_workers() -> None:
    """vLLM's workers start from a process whose other threads already run: fork is unsafe there."""
    import multiprocessing
    import os

    os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")
    try:
        multiprocessing.set_start_method("spawn")
    except RuntimeError:
        pass  # already set by an embedding program


if __name__ == "__main__":
    sys.exit(main())
