"""`mimo-desktop ask`: the headless twin of the app. The answer streams to
stdout, engine progress and statistics go to stderr.

Runs the same EngineHost and engines as the window does, so it is also the
command the GPU proof uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mimo_desktop.engine.host import EngineHost
from mimo_desktop.engine.protocol import Engine
from mimo_desktop.engine.types import (
    API_KEY_ENV,
    FIRST_TOKEN_TIMEOUT_S,
    TOKEN_TIMEOUT_S,
    EngineError,
    EngineStateChanged,
    Event,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    StatsUpdated,
    TextDelta,
    Turn,
)



class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mimo-desktop ask", description="Ask MiMo a question; the answer "
                                "streams to stdout, statistics go to stderr.")
    p.add_argument("question")
    p.add_argument("--attach", action="append", default=[], metavar="FILE", help="image, video or audio file")
    p.add_argument("--system", default=None, help="system prompt")
    p.add_argument("--engine", choices=("vllm", "remote"), default="vllm")
    g = p.add_argument_group("embedded vLLM engine")
    g.add_argument("--model", type=Path, help="local MiMo-V2.5 model folder")
    g.add_argument("--tp", type=int, default=None, help="tensor parallel size (default: every visible GPU, rounded down to a power of two)")
    g.add_argument("--pp", type=int, default=1, help="pipeline parallel size")
    g.add_argument("--mtp", type=int, default=1, help="MTP speculative tokens, 1-3; 0 turns MTP off")
    g.add_argument("--executor", choices=("mp", "ray"), default="mp")
    g.add_argument("--attention-backend", default="TRITON_ATTN_DIFFKV", help="'auto' lets vLLM choose")
    g.add_argument("--mtp-attention-backend", default="TRITON_ATTN_DIFFKV")
    g.add_argument("--mm-encoder-backend", default="TORCH_SDPA")
    g.add_argument("--gpu-memory", type=float, default=0.85, help="fraction of each GPU's memory")
    g.add_argument("--max-context", type=int, default=32768)
    g.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs (starts faster)")
    g.add_argument("--load-format", default="auto", help="'dummy': random weights, for tests")
    r = p.add_argument_group("remote server")
    r.add_argument("--url", help="OpenAI-compatible server, e.g. http://gpu-box:8000")
    r.add_argument("--remote-model", default=None, help="model name on the server (default: its first)")
    r.add_argument("--first-token-timeout", type=float, default=FIRST_TOKEN_TIMEOUT_S, metavar="S",
                   help="give up when no token arrived this long after sending (includes reading the prompt; "
                   "default %(default)g)")
    r.add_argument("--token-timeout", type=float, default=TOKEN_TIMEOUT_S, metavar="S",
                   help="give up when the answer stops for this long between two tokens (default %(default)g)")
    s = p.add_argument_group("sampling")
    s.add_argument("--max-tokens", type=int, default=1024)
    s.add_argument("--temperature", type=float)
    s.add_argument("--top-p", type=float)
    s.add_argument("--top-k", type=int)
    s.add_argument("--seed", type=int)
    s.add_argument("--ignore-eos", action="store_true", help="always generate --max-tokens (benchmarks)")
    p.add_argument("--stats-json", type=Path, help="also write the statistics to this JSON file")
    return p


def _backend(name: str) -> str | None:
    return None if name.lower() == "auto" else name


def make_engine(args: argparse.Namespace) -> Engine:
    if args.engine == "remote":
        from mimo_desktop.engine.remote import RemoteEngine, RemoteSettings, api_key_from_keyring

        if not args.url:
            raise UsageError("--engine remote needs --url (e.g. http://localhost:8000).")
        key = os.environ.get(API_KEY_ENV) or api_key_from_keyring(args.url)
        if args.first_token_timeout <= 0 or args.token_timeout <= 0:
            raise UsageError("--first-token-timeout and --token-timeout must be positive seconds.")
        return RemoteEngine(RemoteSettings(url=args.url, model=args.remote_model, api_key=key,
                                           first_token_timeout_s=args.first_token_timeout,
                                           token_timeout_s=args.token_timeout))
    from mimo_desktop.engine.vllm_engine import VllmEngine
    from mimo_desktop.engine.vllm_settings import VllmSettings

    if args.model is None:
        raise UsageError("--engine vllm needs --model DIR (a local MiMo-V2.5 folder).")
    return VllmEngine(VllmSettings(
        model_dir=args.model, tensor_parallel=args.tp, pipeline_parallel=args.pp,
        executor_backend=args.executor, mtp=args.mtp > 0, mtp_tokens=max(1, args.mtp),
        attention_backend=_backend(args.attention_backend),
        mtp_attention_backend=_backend(args.mtp_attention_backend),
        mm_encoder_attention_backend=_backend(args.mm_encoder_backend),
        gpu_memory_fraction=args.gpu_memory, max_context=args.max_context,
        enforce_eager=args.enforce_eager, load_format=args.load_format))


def prepare_attachments(paths: list[str], model_dir: Path | None) -> tuple[Any, ...]:
    """Decode and measure each file with the media layer (imported only when needed)."""
    if not paths:
        return ()
    try:
        from mimo_desktop.media import prepare_file  # type: ignore[attr-defined]
    except ImportError as exc:
        raise EngineError(f"Attachments need the media layer, which this build lacks ({exc}).") from exc
    return tuple(prepare_file(Path(p), model_dir=model_dir) for p in paths)


class _Printer:
    """Writes what the host reports; sets ``done`` at the request's end."""

    def __init__(self, request_id: str, out, err) -> None:
        self.rid, self.out, self.err = request_id, out, err
        self.done = threading.Event()
        self.result: Finished | Failed | None = None
        self.engine_failure: str | None = None
        self.stats: StatsUpdated | None = None
        self.info: dict[str, Any] = {}
        self._last_stage = ("", -10.0)
        self._in_reasoning = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, EngineStateChanged):
            self._on_state(event)
        elif isinstance(event, StatsUpdated):
            self.stats = event
        elif getattr(event, "request_id", None) != self.rid:
            return
        elif isinstance(event, TextDelta):
            if event.reasoning != self._in_reasoning:
                self.out.write("\n[thinking]\n" if event.reasoning else "\n[answer]\n")
                self._in_reasoning = event.reasoning
            self.out.write(event.text)
            self.out.flush()
        elif isinstance(event, (Finished, Failed)):
            self.result = event
            self.done.set()

    def _on_state(self, event: EngineStateChanged) -> None:
        if event.state == "starting":
            stage, shown_at = self._last_stage
            if event.stage != stage or event.elapsed_s - shown_at >= 15:
                self.err.write(f"[engine] starting ({event.elapsed_s:.0f} s): {event.stage}\n")
                self._last_stage = (event.stage, event.elapsed_s)
                self.info["start_elapsed_s"] = event.elapsed_s
        elif event.state == "ready" and event.info is not None:
            i = event.info
            mtp = f"MTP {i.mtp_tokens} token(s)" if i.mtp_tokens else "MTP off"
            defaults = ", ".join(f"{k}={v}" for k, v in i.sampling_defaults.items())
            self.err.write(f"[engine] ready: {i.name}, {i.gpus} GPU(s), TP={i.tensor_parallel}, "
                           f"PP={i.pipeline_parallel}, {mtp}, {'/'.join(i.modalities)}"
                           + (f"; sampling defaults: {defaults}" if defaults else "") + "\n")
            for note in i.notes:
                self.err.write(f"[engine] note: {note}\n")
        elif event.state == "dead":
            self.engine_failure = event.message
            self.err.write(f"[engine] failed: {event.message}\n")
            self.done.set()


def format_finished(f: Finished) -> str:
    parts = [f"finish={f.reason}", f"prompt {f.prompt_tokens if f.prompt_tokens is not None else '?'} tok",
             f"output {f.output_tokens} tok"]
    if f.ttft_s is not None:
        parts.append(f"TTFT {f.ttft_s * 1000:.1f} ms")
    if f.tokens_per_s is not None:
        parts.append(f"{f.tokens_per_s:.1f} tok/s")
    if f.mtp_drafted is not None:
        rate = f" ({f.mtp_acceptance:.1%})" if f.mtp_acceptance is not None else ""
        parts.append(f"MTP accepted {f.mtp_accepted}/{f.mtp_drafted}{rate}")
    return "[stats] " + ", ".join(parts)


def _write_stats_json(path: Path, printer: _Printer, started: float) -> None:
    data: dict[str, Any] = {"wall_s": time.monotonic() - started, **printer.info}
    if isinstance(printer.result, Finished):
        f = printer.result
        data.update(reason=f.reason, prompt_tokens=f.prompt_tokens, output_tokens=f.output_tokens,
                    ttft_s=f.ttft_s, tokens_per_s=f.tokens_per_s, mtp_drafted=f.mtp_drafted,
                    mtp_accepted=f.mtp_accepted)
    elif isinstance(printer.result, Failed):
        data["failed"] = printer.result.message
    if printer.engine_failure:
        data["engine_failed"] = printer.engine_failure
    if printer.stats is not None:
        data["engine_stats"] = vars(printer.stats.stats)
    path.write_text(json.dumps(data, indent=1))


def run(argv: list[str], out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own usage message
        return 0 if exc.code == 0 else 2
    started = time.monotonic()
    try:
        sampling = SamplingSettings(max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
                                    top_k=args.top_k, seed=args.seed, ignore_eos=args.ignore_eos)
        engine = make_engine(args)
        attachments = prepare_attachments(args.attach, args.model if args.engine == "vllm" else None)
        request = GenerationRequest((Turn("user", args.question, attachments),), sampling,
                                    system_prompt=args.system)
    except UsageError as exc:
        err.write(f"mimo-desktop ask: {exc}\n")
        return 2
    except Exception as exc:  # noqa: BLE001 - bad input of any kind: one clear line
        err.write(f"mimo-desktop ask: {exc}\n")
        return 1
    # stdout carries only the answer: vLLM (and its worker processes) log to stdout by default
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    printer = _Printer(request.request_id, out, err)
    host = EngineHost(lambda: engine, printer)
    host.start()
    host.submit(request)
    try:
        while not printer.done.wait(0.5):
            pass
    except KeyboardInterrupt:
        host.cancel(request.request_id)
        printer.done.wait(10)
    host.shutdown(timeout_s=60)
    out.write("\n")
    out.flush()
    if args.stats_json:
        _write_stats_json(args.stats_json, printer, started)
    if isinstance(printer.result, Finished):
        err.write(format_finished(printer.result) + "\n")
        return 0
    message = printer.engine_failure or getattr(printer.result, "message", "the request did not finish")
    err.write(f"mimo-desktop ask: {message}\n")
    return 1
