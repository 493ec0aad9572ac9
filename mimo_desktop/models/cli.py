"""`mimo-desktop model ...`: check a model folder, estimate GPU fit, download from the Hub, keep the Hub token.

    mimo-desktop model check DIR [--tp N] [--context TOKENS|max] [--json]
    mimo-desktop model fit DIR [--tp N] [--context TOKENS|max] [--json]
    mimo-desktop model download REPO [--to DIR] [--revision R] [--include GLOB] [--exclude GLOB] [--workers N]
    mimo-desktop model token set|clear|status

Exit codes: 0 success, 1 failure (one clear line on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from mimo_desktop.models.errors import ModelsError
from mimo_desktop.models.fit import DEFAULT_CONTEXT_TOKENS as DEFAULT_CONTEXT
from mimo_desktop.models.progress import DownloadProgress



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mimo-desktop model", description="Get and check MiMo-V2.5 checkpoints.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (("check", "check a local model folder before starting the engine"),
                            ("fit", "estimate whether the model fits this machine's GPUs")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("folder", type=Path, metavar="DIR")
        p.add_argument("--tp", type=_positive_int, help="tensor-parallel size (number of GPUs) to check")
        p.add_argument("--context", type=_context, default=DEFAULT_CONTEXT,
                       help=f"context length in tokens for the KV-cache estimate (default {DEFAULT_CONTEXT}); "
                            "'max': the model's whole context")
        p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser("download", help="download a model repository from the Hugging Face Hub")
    p.add_argument("repo", metavar="REPO", help="repository id, e.g. XiaomiMiMo/MiMo-V2.5")
    p.add_argument("--to", type=Path, dest="folder", help="target folder (default: ./<repository name>)")
    p.add_argument("--revision", help="branch, tag or commit (default: main)")
    p.add_argument("--include", action="append", metavar="GLOB", help="only files matching GLOB (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB", help="skip files matching GLOB (repeatable)")
    p.add_argument("--workers", type=_positive_int, default=4, help="files fetched at once (default 4)")

    p = sub.add_parser("token", help="keep the Hugging Face token for gated repositories in the system keyring")
    p.add_argument("action", choices=("set", "clear", "status"))
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help
        return int(exc.code or 0)
    handler = {"check": _check, "fit": _fit, "download": _download, "token": _token}[args.command]
    try:
        return handler(args)
    except ModelsError as exc:
        print(f"mimo-desktop model {args.command}: {exc}", file=sys.stderr)
        return 1


def _context(text: str) -> int | None:
    return None if text == "max" else _positive_int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _check(args: argparse.Namespace) -> int:
    from mimo_desktop.models.folder_check import check_model_folder

    report = check_model_folder(args.folder)
    fit = _fit_for(report, args) if args.tp and report.config and report.config.shape else None
    if args.json:
        payload = report.to_dict()
        if fit is not None:
            payload["fit"] = _fit_dict(fit)
        print(json.dumps(payload, indent=1))
    else:
        print("\n".join(report.summary_lines()))
        if fit is not None:
            print(f"GPU fit: {fit.message}")
            for warning in fit.warnings:
                print(f"Warning: {warning}")
    fit_failed = fit is not None and fit.gpus_present > 0 and not fit.fits
    return 0 if report.can_start and not fit_failed else 1


def _fit(args: argparse.Namespace) -> int:
    from mimo_desktop.models.folder_check import check_model_folder

    fit = _fit_for(check_model_folder(args.folder), args)
    if args.json:
        print(json.dumps(_fit_dict(fit), indent=1))
    else:
        print(fit.message)
        for warning in fit.warnings:
            print(f"Warning: {warning}")
    return 0 if fit.fits else 1


def _fit_for(report, args: argparse.Namespace):
    from mimo_desktop.models.fit import estimate_fit_for

    return estimate_fit_for(report, tp=args.tp, context_tokens=args.context)


def _fit_dict(fit) -> dict:
    needs = fit.needs
    return {
        "fits": fit.fits, "tp": needs.tp, "gpus_present": fit.gpus_present, "minimum_gpus": fit.minimum_gpus,
        "per_gpu_bytes": {"weights": needs.weights, "kv_cache": needs.kv_cache, "reserve": needs.reserve,
                          "total": needs.total},
        "context_tokens": needs.context_tokens, "longest_context": fit.longest_context if fit.gpus_present else None, "message": fit.message,
        "warnings": list(fit.warnings),
    }


def _download(args: argparse.Namespace) -> int:
    from mimo_desktop.models.download_plan import hub_endpoint, plan_download
    from mimo_desktop.models.downloader import ModelDownload
    from mimo_desktop.models.folder_check import check_model_folder
    from mimo_desktop.models.hub_token import read_hub_token

    folder = (args.folder or Path.cwd() / args.repo.rstrip("/").split("/")[-1]).expanduser()
    token = read_hub_token()
    endpoint = hub_endpoint()
    plan = plan_download(args.repo, folder, revision=args.revision, token=token, endpoint=endpoint,
                         include=args.include, exclude=args.exclude)
    print(f"{args.repo}@{plan.commit[:12]}: {len(plan.files)} files, {_size(plan.total_bytes)}; "
          f"{_size(plan.bytes_to_fetch)} to fetch into {folder}", file=sys.stderr)
    download = ModelDownload(plan, token=token, endpoint=endpoint, max_workers=args.workers)
    download.subscribe(ProgressPrinter(sys.stderr))
    _run_cancellable(download)
    print(f"Downloaded {args.repo}@{plan.commit[:12]} to {folder}", file=sys.stderr)
    print("\n".join(check_model_folder(folder).summary_lines()))
    return 0


def _run_cancellable(download) -> None:
    """Run on a worker thread so Ctrl-C reaches us here and turns into a clean, resumable cancel."""
    failure: list[BaseException] = []
    finished = threading.Event()

    def work() -> None:
        try:
            download.run()
        except BaseException as exc:  # re-raised on the main thread below
            failure.append(exc)
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="model-download-main")
    worker.start()
    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking
    # finished while it still runs (CPython issue 90882), and we would report success.
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        download.cancel()
        finished.wait()
    worker.join()
    if failure:
        raise failure[0]


def _token(args: argparse.Namespace) -> int:
    from mimo_desktop.models.hub_token import delete_hub_token, read_hub_token, save_hub_token

    if args.action == "set":
        prompt = "Hugging Face token (input hidden): "
        token = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
        save_hub_token(token)
        print("Token saved in the system keyring.")
    elif args.action == "clear":
        print("Token removed." if delete_hub_token() else "No token was saved.")
    else:
        print("A Hugging Face token is saved." if read_hub_token() else "No Hugging Face token is saved.")
    return 0


def _size(count: int) -> str:
    from mimo_desktop.models.units import format_bytes

    return format_bytes(count)


class ProgressPrinter:
    """Progress on a terminal: one line redrawn in place; in a log (not a tty), a line every few seconds."""

    def __init__(self, stream: TextIO, *, log_every_s: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.log_every = log_every_s
        self._last = float("-inf")
        self._lock = threading.Lock()  # listeners run on several download threads

    def __call__(self, progress: DownloadProgress) -> None:
        with self._lock:
            final = progress.state in ("done", "cancelled", "failed")
            if self.tty:
                self.stream.write("\r\033[K" + progress.line() + ("\n" if final else ""))
            elif final or time.monotonic() - self._last >= self.log_every:
                self._last = time.monotonic()
                self.stream.write(progress.line() + "\n")
            self.stream.flush()
