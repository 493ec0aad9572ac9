"""The remote engine against a real loopback server speaking the streaming protocol."""

from __future__ import annotations

import base64
import io

import pytest
from engine_events import Recorder, ask
from PIL import Image
from sse_server import MODEL, FakeOpenAIServer, refused_url

from mimo_desktop.engine import (
    EngineHost,
    EngineStateChanged,
    Failed,
    Finished,
    GenerationRequest,
    SamplingSettings,
    TextDelta,
    Turn,
)
from mimo_desktop.engine.remote import RemoteEngine, RemoteSettings, build_body
from mimo_desktop.engine.types import NO_ANSWER, STOPPED_MID_ANSWER
from mimo_desktop.media.prepared import PreparedMedia


@pytest.fixture
def server(no_thread_leaks):
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def connect(recorder, no_thread_leaks):
    hosts: list[EngineHost] = []

    def build(url: str, **kwargs) -> EngineHost:
        settings = RemoteSettings(url=url, **{"first_token_timeout_s": 5.0, "token_timeout_s": 5.0, **kwargs})
        host = EngineHost(lambda: RemoteEngine(settings), recorder, tick_s=0.05)
        hosts.append(host)
        host.start()
        recorder.wait_for(lambda evs: any(isinstance(e, EngineStateChanged) and e.state in ("ready", "dead")
                                          for e in evs))
        return host

    yield build
    for host in hosts:
        assert host.shutdown(timeout_s=10)


def run(host: EngineHost, recorder: Recorder, request: GenerationRequest):
    host.submit(request)
    end = recorder.wait_end(request.request_id)
    return recorder.for_request(request.request_id), end


def png_part() -> PreparedMedia:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return PreparedMedia(kind="image", tokens=5, vllm_data=None,
                         openai_part={"type": "image_url", "image_url": {"url": url}})


def test_streams_answer_with_usage_and_sends_media_parts(server, connect, recorder):
    host = connect(server.url)
    assert host.info.name == f"{MODEL} @ {server.url}/v1"
    image = png_part()
    req = GenerationRequest((Turn("user", "What colour?", (image,)),),
                            SamplingSettings(max_tokens=50, temperature=0.2), system_prompt="Be brief.")
    events, end = run(host, recorder, req)

    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello from the server"
    assert isinstance(end, Finished)
    assert (end.reason, end.prompt_tokens, end.output_tokens) == ("stop", 12, 4)
    body = server.requests[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == MODEL and body["max_tokens"] == 50 and body["temperature"] == 0.2
    assert "top_p" not in body  # unset: the server's generation_config decides
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1]["content"] == [image.openai_part, {"type": "text", "text": "What colour?"}]


def test_reasoning_deltas_are_marked_and_counted_without_usage(server, connect, recorder):
    server.mode = "reasoning"
    events, end = run(connect(server.url), recorder, ask("hi"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert [(d.text, d.reasoning) for d in deltas] == [("Let me think.", True), ("Answer.", False)]
    assert isinstance(end, Finished) and end.reason == "length" and end.output_tokens == 2
    assert end.prompt_tokens is None


def test_raw_think_tags_are_split_even_when_cut_inside_a_tag_or_a_character(server, connect, recorder):
    server.mode = "raw_tags"
    events, end = run(connect(server.url), recorder, ask("hi"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(d.text for d in deltas if d.reasoning) == "Das ist ein Hund 🐕"
    assert "".join(d.text for d in deltas if not d.reasoning) == "Ein Hund."
    assert isinstance(end, Finished) and end.output_tokens == 4


def test_thinking_opened_by_the_servers_template_is_split_without_a_reasoning_parser(server, connect, recorder):
    server.tokenize, server.opens_thinking, server.mode = True, True, "implicit_thinking"
    events, end = run(connect(server.url), recorder, ask("hi"))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert "".join(d.text for d in deltas if d.reasoning) == "Let me think."
    assert "".join(d.text for d in deltas if not d.reasoning) == "\n\nThe answer is 4."
    # a server with a reasoning parser (reasoning fields) keeps its content as the answer
    server.mode = "reasoning"
    events, _ = run(connect(server.url), recorder, ask("hi"))
    assert [(e.text, e.reasoning) for e in events if isinstance(e, TextDelta) and e.text] == [
        ("Let me think.", True), ("Answer.", False)]


def test_sse_without_the_optional_space_and_without_finish_reason_completes(server, connect, recorder):
    server.mode = "compact"
    events, end = run(connect(server.url), recorder, ask("hi"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Compact answer"
    assert isinstance(end, Finished) and end.reason == "stop"


def test_thinking_history_and_switch_are_sent_as_the_server_expects(server, connect, recorder):
    from mimo_desktop.engine.types import GenerationRequest, SamplingSettings, Turn

    turns = (Turn("user", "hi"), Turn("assistant", "Hello!", reasoning="Greet back."), Turn("user", "and?"))
    run(connect(server.url), recorder, GenerationRequest(turns, SamplingSettings(thinking=False)))
    body = server.requests[-1]["body"]
    assert body["messages"][1] == {"role": "assistant", "content": "Hello!", "reasoning_content": "Greet back."}
    assert "reasoning_content" not in body["messages"][0]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}


def test_api_key_is_sent_and_never_in_repr(connect, recorder):
    with FakeOpenAIServer(api_key="s3cret-key") as srv:
        settings = RemoteSettings(url=srv.url, api_key="s3cret-key")
        assert "s3cret" not in repr(settings)
        _, end = run(connect(srv.url, api_key="s3cret-key"), recorder, ask("hi"))
        assert isinstance(end, Finished)
        assert srv.requests[-1]["headers"]["Authorization"] == "Bearer s3cret-key"


def test_wrong_api_key_makes_start_fail_clearly(connect, recorder):
    with FakeOpenAIServer(api_key="right") as srv:
        host = connect(srv.url, api_key="wrong")
        assert host.state == "dead"
        dead = recorder.events[-1]
        assert "refused the API key (401)" in dead.message and "wrong" not in dead.message


def test_refused_connection_makes_start_fail_clearly(connect, recorder):
    url = refused_url()
    host = connect(url)
    assert host.state == "dead"
    assert recorder.events[-1].message == f"Cannot reach the server at {url}/v1 (connection refused or no route). Is it running?"


def test_server_gone_after_start_fails_the_request_not_the_app(connect, recorder):
    with FakeOpenAIServer() as srv:
        url = srv.url
        host = connect(url)
    _, end = run(host, recorder, ask("hi"))
    assert isinstance(end, Failed) and end.engine_alive
    assert end.message.startswith(f"Cannot reach the server at {url}/v1")


@pytest.mark.parametrize("mode, message", [
    ("429", "The server is busy (429 Too Many Requests). It asks to retry after 7 s. Rate limit reached"),
    ("500", "The server failed (500): CUDA error: an illegal memory access"),
    ("400", "The server refused the request (400): max_tokens is too large: 99999"),
    ("malformed", "The server sent a malformed stream chunk: '{\"choices\": [oops'"),
    ("error_chunk", "The server reported an error mid-answer: The engine died"),
    ("disconnect", "closed the connection in the middle of the answer."),
])
def test_server_faults_become_clear_failures(server, connect, recorder, mode, message):
    server.mode = mode
    host = connect(server.url)
    _, end = run(host, recorder, ask("hi"))
    assert isinstance(end, Failed) and end.engine_alive
    assert message in end.message
    server.mode = "ok"  # the engine keeps working after the fault
    _, end = run(host, recorder, ask("again"))
    assert isinstance(end, Finished)


@pytest.mark.parametrize("mode, kind, tokens, message", [
    ("silent", NO_ANSWER, 0, "No answer from the server at {url}/v1: nothing arrived within 0.4 s (the "
     "first-token timeout, which includes reading the prompt). The request was abandoned."),
    ("stall_headers", NO_ANSWER, 0, "No answer from the server at {url}/v1: nothing arrived within 0.4 s"),
    ("stall", STOPPED_MID_ANSWER, 1, "The server at {url}/v1 stopped sending after 1 token: nothing more for "
     "0.3 s. The request was abandoned; what arrived is kept."),
])
def test_a_silent_or_stalled_server_is_given_up_on_and_says_which(server, connect, recorder, mode, kind,
                                                                   tokens, message):
    server.mode = mode
    host = connect(server.url, first_token_timeout_s=0.4, token_timeout_s=0.3)
    events, end = run(host, recorder, ask("hi"))
    assert [e.text for e in events if isinstance(e, TextDelta)] == (["first"] if tokens else [])
    assert isinstance(end, Failed) and end.engine_alive and (end.kind, end.tokens) == (kind, tokens)
    assert end.message.startswith(message.format(url=server.url))


def test_the_default_timeouts_are_far_under_two_minutes():
    s = RemoteSettings(url="http://x")
    assert s.first_token_timeout_s == 60 and s.token_timeout_s == 30


def test_a_server_that_never_stops_is_cut_at_max_tokens(server, connect, recorder):
    server.mode = "endless"
    host = connect(server.url)
    events, end = run(host, recorder, ask("hi", max_tokens=20))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "".join(f"e{i} " for i in range(20))
    assert isinstance(end, Finished) and end.reason == "length" and end.output_tokens == 20
    assert server.client_gone.wait(10), "the stream was not closed"


@pytest.mark.parametrize("shape", [
    '{"choices": [null, 5, {"delta": {"content": "x"}}]}',
    '{"choices": "abc"}',
    '{"choices": [{"delta": ["content"]}]}',
    '{"choices": [{"delta": {"content": 5}}]}',
    '{"choices": [{"delta": {"reasoning_content": {"a": 1}}}]}',
    '{"choices": [{"delta": {}, "finish_reason": 3}]}',
    '{"choices": [], "usage": "lots"}',
])
def test_every_odd_chunk_shape_is_a_clear_failure_not_a_traceback(server, connect, recorder, shape):
    server.mode, server.shape = "shape", shape
    host = connect(server.url)
    _, end = run(host, recorder, ask("hi"))
    assert isinstance(end, Failed) and end.engine_alive
    assert end.message == f"The server sent a stream chunk of an unexpected shape: {shape[:120]!r}"


def test_credentials_in_the_url_are_never_in_a_message(connect, recorder):
    url = refused_url().replace("http://", "http://alice:s3cret@")
    host = connect(url)
    assert host.state == "dead"
    message = recorder.events[-1].message
    assert "s3cret" not in message and "alice" not in message
    assert message.startswith(f"Cannot reach the server at {url.replace('alice:s3cret@', '')}/v1")


def test_cancel_closes_the_stream(server, connect, recorder):
    server.mode = "slow"
    host = connect(server.url)
    req = ask("hi", max_tokens=5000)  # the slow server sends 2000 tokens whatever it is asked
    host.submit(req)
    recorder.wait_for(lambda evs: sum(isinstance(e, TextDelta) for e in evs) >= 3)
    host.cancel(req.request_id)
    end = recorder.wait_end(req.request_id)
    assert isinstance(end, Finished) and end.reason == "cancelled"
    assert server.client_gone.wait(10), "the server never saw the client close the stream"


def test_body_has_no_sampling_the_user_did_not_choose():
    body = build_body(ask("hi", max_tokens=9), "m")
    assert set(body) == {"model", "messages", "stream", "stream_options", "max_tokens"}
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_server_metrics_become_live_stats(server, connect, recorder):
    from mimo_desktop.engine import StatsUpdated

    server.metrics = True
    host = connect(server.url, metrics_interval_s=0.05)
    for _ in range(3):  # each request moves the server's counters
        _, end = run(host, recorder, ask("hi"))
        assert isinstance(end, Finished)
        recorder.wait_for(lambda evs: any(isinstance(e, StatsUpdated) and e.stats.mtp_acceptance_rate
                                          for e in evs))
    stats = [e.stats for e in recorder.events if isinstance(e, StatsUpdated)]
    moving = [s for s in stats if s.mtp_acceptance_rate is not None]
    assert moving and all(s.mtp_acceptance_rate == pytest.approx(12 / 30) for s in moving)
    assert all(s.mtp_mean_acceptance_length == pytest.approx(1 + 12 / 10) for s in moving)
    assert stats[-1].kv_cache_usage == 0.125 and stats[-1].running_requests == 1


def test_server_without_metrics_gives_no_stats(server, connect, recorder):
    from mimo_desktop.engine import StatsUpdated

    host = connect(server.url, metrics_interval_s=0.05)
    _, end = run(host, recorder, ask("hi"))
    assert isinstance(end, Finished)
    assert not any(isinstance(e, StatsUpdated) for e in recorder.events)


def test_the_context_length_vllm_reports_is_the_engines(server, connect, recorder):
    server.max_model_len = 65536
    host = connect(server.url)
    assert host.info.max_context == 65536


def test_a_server_that_dies_while_connected_turns_the_engine_dead_with_why(connect, recorder):
    with FakeOpenAIServer() as srv:
        url = srv.url
        host = connect(url)
        assert host.state == "ready"
    dead = recorder.wait_for(lambda evs: any(isinstance(e, EngineStateChanged) and e.state == "dead" for e in evs))
    [event] = [e for e in dead if isinstance(e, EngineStateChanged) and e.state == "dead"]
    assert event.message == (f"The server at {url}/v1 no longer answers (connection refused). "
                             "Restart the engine once it is back.")
    _, end = run(host, recorder, ask("hi"))  # a send now names the server and the cause
    assert isinstance(end, Failed) and end.message == f"The engine has stopped working: {event.message} Restart it to continue."
