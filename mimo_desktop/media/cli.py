"""``mimo-desktop inspect FILE... [--model DIR] [--json] [--fast]``: what MiMo would make of each file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from mimo_desktop.media.config import ProcessorConfig, default_config, load_model_config
from mimo_desktop.media.errors import MediaError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimo-desktop inspect",
        description="Show the kind, size, sampled frames and exact MiMo-V2.5 token cost of media files.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="images, videos or audio files")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="model folder whose config.json and tokenizer set the rules "
                             "(without it: MiMo-V2.5's built-in defaults, and costs are estimates)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file, one per line")
    parser.add_argument("--fast", action="store_true", help="read headers only (no decoding)")
    return parser


def run(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        config = load_model_config(args.model) if args.model else default_config()
    except MediaError as exc:
        print(f"mimo-desktop inspect: {exc}", file=err)
        return 1
    failures = 0
    for name in args.files:
        report = inspect_file(name, config, fast=args.fast)
        failures += report["error"] is not None
        print(json.dumps(report, ensure_ascii=False) if args.json else describe(report), file=out)
    if failures:
        print(f"mimo-desktop inspect: {failures} of {len(args.files)} files cannot be used.", file=err)
    return 1 if failures else 0


def inspect_file(name: str, config: ProcessorConfig, fast: bool = False) -> dict[str, Any]:
    """A plain dict for people and scripts: the facts of ``prepare`` (or ``estimate``) or the error."""
    report: dict[str, Any] = {"file": name, "kind": None, "tokens": None, "resized": None, "timestamps": None,
                              "duration_s": None, "audio_track_tokens": 0, "estimate": config.estimate,
                              "details": {}, "error": None}
    try:
        if fast:
            from mimo_desktop.media.costs import estimate

            cost = estimate(name, config)
            report.update(kind=cost.kind, tokens=cost.tokens, duration_s=cost.duration_s,
                          audio_track_tokens=cost.audio_track_tokens, details=cost.details,
                          timestamps=cost.details.get("timestamps"), exact=cost.exact)
            resized = cost.resized
        else:
            from mimo_desktop.media.preparation import prepare

            item = prepare(name, config)
            report.update(kind=item.kind, tokens=item.tokens, duration_s=item.duration_s, details=item.details,
                          timestamps=list(item.timestamps) if item.timestamps is not None else None,
                          audio_track_tokens=item.audio_track.tokens if item.audio_track else 0)
            resized = item.resized
    except MediaError as exc:
        report["error"] = str(exc)
        return report
    report["resized"] = list(resized) if resized is not None else None
    return report


def describe(report: dict[str, Any]) -> str:
    """One line (two for videos) a person can read."""
    head = f"{report['file']}: "
    if report["error"] is not None:
        return head + f"error: {report['error']}"
    d = report["details"]
    parts = [report["kind"]]
    if "width" in d:
        parts.append(f"{d['width']}×{d['height']}")
    if report["duration_s"] is not None:
        parts.append(f"{report['duration_s']:.2f} s")
    if report["kind"] == "video":
        parts.append(f"{d.get('fps', 0):.3g} fps")
    if report["kind"] == "audio" and "sample_rate" in d:
        parts.append(f"{d['sample_rate']} Hz")
    if report["resized"] is not None:
        h, w = report["resized"]
        parts.append(f"resized to {w}×{h}")
    cost = f"{report['tokens']} tokens"
    if report["audio_track_tokens"]:
        cost += f" + {report['audio_track_tokens']} for its sound"
    if report["estimate"]:
        cost += " (estimate: built-in MiMo-V2.5 defaults)"
    line = head + ", ".join(parts) + f" → {cost}"
    if report["timestamps"]:
        times = " ".join(f"{t:.2f}" for t in report["timestamps"])
        line += f"\n    {len(report['timestamps'])} frames at {times} s"
    return line
