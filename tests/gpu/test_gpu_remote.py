"""The remote engine against a real `vllm serve` (OpenAI API) on this GPU host, over loopback:
tiny MiMo-V2.5 Omni, TP over every GPU, MTP 1; text, an image as a data URL, cancel mid-stream."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from engine_events import Recorder
from gpu_helpers import cuda_gpu_count, random_image, record

from mimo_desktop.engine import EngineHost, Finished, GenerationRequest, SamplingSettings, TextDelta, Turn
from mimo_desktop.engine.remote import RemoteEngine, RemoteSettings
from mimo_desktop.media.prepared import PreparedMedia

SERVE_TIMEOUT = 420.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_omni, results_dir):
    port = free_port()
    spec = json.dumps({"method": "mtp", "num_speculative_tokens": 1, "attention_backend": "TRITON_ATTN_DIFFKV"})
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_omni),
           "--served-model-name", "tiny-mimo", "--trust-remote-code", "--load-format", "dummy",
           "-tp", str(cuda_gpu_count()), "--enforce-eager", "--attention-backend", "TRITON_ATTN_DIFFKV",
           "--mm-encoder-attn-backend", "TORCH_SDPA", "--speculative-config", spec, "--host", "127.0.0.1",
           "--port", str(port), "--max-model-len", "4096",
           "--gpu-memory-utilization", os.environ.get("MIMO_GPU_MEM", "0.25")]
    log = open(results_dir / "vllm_serve.log", "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while time.monotonic() - t0 < SERVE_TIMEOUT:
            assert proc.poll() is None, f"vllm serve exited with {proc.returncode}; see vllm_serve.log"
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail("vllm serve did not become healthy")
        record(results_dir, "serve_ready", {"healthy_s": round(time.monotonic() - t0, 1)})
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def remote(server):
    recorder = Recorder()
    host = EngineHost(lambda: RemoteEngine(RemoteSettings(url=server)), recorder)
    host.start()
    recorder.wait_for(lambda evs: host.state in ("ready", "dead"), timeout=30)
    assert host.state == "ready", recorder.events[-1]
    yield host, recorder
    assert host.shutdown(timeout_s=30)


def png_part() -> dict:
    buf = io.BytesIO()
    random_image().save(buf, format="PNG")
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()}}


def ask(text: str, attachments=(), max_tokens: int = 32) -> GenerationRequest:
    return GenerationRequest((Turn("user", text, tuple(attachments)),),
                             SamplingSettings(max_tokens=max_tokens, temperature=0.0, ignore_eos=True))


def test_text_streams_from_the_server(remote, results_dir):
    host, recorder = remote
    req = ask("The quick brown fox.", max_tokens=128)
    host.submit(req)
    end = recorder.wait_end(req.request_id, timeout=60)
    assert isinstance(end, Finished), end
    assert end.output_tokens == 128 and end.prompt_tokens > 5
    record(results_dir, "remote_text_128", {"ttft_ms": round(end.ttft_s * 1000, 1),
                                            "tok_s": round(end.tokens_per_s, 1), "prompt_tokens": end.prompt_tokens})


def test_image_as_data_url(remote, results_dir):
    host, recorder = remote
    image = PreparedMedia(kind="image", tokens=0, vllm_data=None, openai_part=png_part())
    req = ask("Describe the image.", [image])
    host.submit(req)
    end = recorder.wait_end(req.request_id, timeout=60)
    assert isinstance(end, Finished), end
    assert end.prompt_tokens > 100
    record(results_dir, "remote_image", {"prompt_tokens": end.prompt_tokens, "output_tokens": end.output_tokens})


def test_cancel_closes_the_stream_and_server_keeps_serving(remote, results_dir):
    host, recorder = remote
    req = ask("Count forever.", max_tokens=3000)
    host.submit(req)
    recorder.wait_for(lambda evs: sum(1 for e in evs if isinstance(e, TextDelta) and e.request_id == req.request_id) >= 10,
                      timeout=60)
    t0 = time.monotonic()
    host.cancel(req.request_id)
    end = recorder.wait_end(req.request_id, timeout=30)
    cancel_ms = (time.monotonic() - t0) * 1000
    assert isinstance(end, Finished) and end.reason == "cancelled"
    after = ask("Again.", max_tokens=16)
    host.submit(after)
    assert isinstance(recorder.wait_end(after.request_id, timeout=60), Finished)
    record(results_dir, "remote_cancel", {"cancel_to_end_ms": round(cancel_ms, 1)})
