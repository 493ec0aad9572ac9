"""EngineHost over a scripted engine: threads, ordering, cancel, death, restart."""

from __future__ import annotations

import threading

import pytest
from engine_events import ask
from engine_scripted import ScriptedEngine

from mimo_desktop.engine import (
    EngineDied,
    EngineHost,
    EngineStateChanged,
    Failed,
    Finished,
    StatsUpdated,
    TextDelta,
)


def texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def test_streams_deltas_in_order_then_finished(make_host, recorder):
    host = make_host()
    host.start()
    recorder.wait_state("ready")
    req = ask("tokens=6 delay=0.005")
    host.submit(req)
    end = recorder.wait_end(req.request_id)

    events = recorder.for_request(req.request_id)
    assert texts(events) == [f"t{i} " for i in range(6)]
    assert events[-1] is end and isinstance(end, Finished)
    assert (end.reason, end.output_tokens, end.prompt_tokens) == ("stop", 6, 7)
    assert end.ttft_s is not None and end.ttft_s >= 0 and end.tokens_per_s is not None
    assert (end.mtp_drafted, end.mtp_accepted, end.mtp_acceptance) == (4, 3, 0.75)
    # all per-request events come from the engine thread, not the caller's
    assert recorder.threads - {"mimo-engine-ticker"} == {"mimo-engine"}


def test_start_reports_stages_and_ready_with_info(make_host, recorder):
    host = make_host(start_delay=0.2, stages=("loading weights", "profiling"))
    host.start()
    recorder.wait_state("ready")
    states = [e for e in recorder.events if isinstance(e, EngineStateChanged)]
    starting = [e for e in states if e.state == "starting"]
    assert {"loading weights", "profiling"} <= {e.stage for e in starting}
    elapsed = [e.elapsed_s for e in starting]
    assert elapsed == sorted(elapsed) and elapsed[-1] > 0
    assert states[-1].state == "ready" and states[-1].info.tensor_parallel == 2
    assert host.state == "ready" and host.info.gpus == 2
    assert any(isinstance(e, StatsUpdated) for e in recorder.events)


def test_request_submitted_while_starting_waits_for_ready(make_host, recorder):
    host = make_host(start_delay=0.3)
    host.start()
    req = ask("tokens=2")
    host.submit(req)
    assert isinstance(recorder.wait_end(req.request_id), Finished)
    order = [e.state if isinstance(e, EngineStateChanged) else type(e).__name__
             for e in recorder.events if not isinstance(e, StatsUpdated)]
    assert order.index("ready") < order.index("TextDelta")


def test_ttft_does_not_count_a_start_that_blocked_the_loop(make_host, recorder):
    # like vLLM: the start blocks the loop, so the request only reaches the host once it is ready
    host = make_host(blocking_start_s=1.0)
    host.start()
    req = ask("tokens=3")
    host.submit(req)
    end = recorder.wait_end(req.request_id)
    assert isinstance(end, Finished)
    assert end.ttft_s < 0.5, f"TTFT {end.ttft_s:.3f} s includes the 1 s engine start"


def test_cancel_mid_stream_aborts_and_finishes_as_cancelled(make_host, recorder, engine_log):
    host = make_host()
    host.start()
    req = ask("tokens=1000 delay=0.01")
    host.submit(req)
    recorder.wait_for(lambda evs: len(texts(e for e in evs if getattr(e, "request_id", "") == req.request_id)) >= 3)
    host.cancel(req.request_id)
    end = recorder.wait_end(req.request_id)

    assert isinstance(end, Finished) and end.reason == "cancelled"
    assert 3 <= end.output_tokens < 1000
    assert engine_log.aborted == [req.request_id]
    after = ask("tokens=2")  # the engine keeps serving
    host.submit(after)
    assert isinstance(recorder.wait_end(after.request_id), Finished)
    events = recorder.for_request(req.request_id)
    assert events[-1] is end  # nothing arrives for the request after its end


def test_two_requests_stream_at_once(make_host, recorder):
    host = make_host()
    host.start()
    a, b = ask("tokens=20 delay=0.005"), ask("tokens=20 delay=0.005")
    host.submit(a)
    host.submit(b)
    recorder.wait_end(a.request_id)
    recorder.wait_end(b.request_id)
    for req in (a, b):
        assert texts(recorder.for_request(req.request_id)) == [f"t{i} " for i in range(20)]
    ids = [e.request_id for e in recorder.events if isinstance(e, (TextDelta, Finished))]
    # interleaved: b streamed before a finished
    first_b = ids.index(b.request_id)
    a_finish = max(i for i, rid in enumerate(ids) if rid == a.request_id)
    assert first_b < a_finish


def test_shutdown_while_a_finished_stream_closes_reports_one_end(make_host, recorder, engine_log):
    host = make_host()
    host.start()
    req = ask("tokens=2 then=slow_close")
    host.submit(req)
    recorder.wait_end(req.request_id)
    assert engine_log.closing.wait(10)
    assert host.shutdown(timeout_s=10)
    ends = [e for e in recorder.for_request(req.request_id) if isinstance(e, (Finished, Failed))]
    assert len(ends) == 1 and isinstance(ends[0], Finished)


def test_request_failure_keeps_engine_serving(make_host, recorder):
    host = make_host()
    host.start()
    bad = ask("tokens=2 then=fail")
    host.submit(bad)
    end = recorder.wait_end(bad.request_id)
    assert isinstance(end, Failed) and end.engine_alive
    assert end.message == "The scripted request failed on purpose."
    good = ask("tokens=1")
    host.submit(good)
    assert isinstance(recorder.wait_end(good.request_id), Finished)
    assert host.state == "ready"


def test_shutdown_while_streaming_ends_requests_and_joins_thread(make_host, recorder, engine_log):
    host = make_host()
    host.start()
    req = ask("tokens=1000 delay=0.01")
    host.submit(req)
    recorder.wait_for(lambda evs: any(isinstance(e, TextDelta) for e in evs))
    assert host.shutdown(timeout_s=10)

    end = recorder.for_request(req.request_id)[-1]
    assert isinstance(end, Failed) and end.message == "The app is closing." and not end.engine_alive
    assert engine_log.aborted == [req.request_id] and engine_log.shutdowns == 1
    assert recorder.states()[-1] == "stopped"
    assert not host.thread.is_alive()


def test_death_mid_stream_fails_every_request_and_restart_works(make_host, recorder, engine_log):
    host = make_host()
    host.start()
    bystander = ask("tokens=1000 delay=0.01")
    host.submit(bystander)
    recorder.wait_for(lambda evs: any(isinstance(e, TextDelta) for e in evs))
    dying = ask("tokens=2 then=die")
    host.submit(dying)

    for req in (dying, bystander):
        end = recorder.wait_end(req.request_id)
        assert isinstance(end, Failed) and not end.engine_alive
        assert "died" in end.message
    recorder.wait_state("dead")
    assert host.state == "dead" and engine_log.shutdowns == 1
    dead = [e for e in recorder.events if isinstance(e, EngineStateChanged) and e.state == "dead"][-1]
    assert "worker killed" in dead.message

    refused = ask("tokens=1")
    host.submit(refused)
    end = recorder.wait_end(refused.request_id)
    assert isinstance(end, Failed) and "Restart" in end.message

    host.restart()
    recorder.wait_state("ready", count=2)
    again = ask("tokens=3")
    host.submit(again)
    assert isinstance(recorder.wait_end(again.request_id), Finished)
    assert engine_log.started == 2


def test_death_while_idle_is_noticed_and_restart_works(make_host, recorder, engine_log):
    host = make_host()
    host.start()
    recorder.wait_state("ready")
    engine_log.killed.set()
    recorder.wait_state("dead")
    dead = [e for e in recorder.events if isinstance(e, EngineStateChanged)][-1]
    assert dead.message == "The scripted engine died while idle." and engine_log.shutdowns == 1
    engine_log.killed.clear()
    host.restart()
    recorder.wait_state("ready", count=2)
    req = ask("tokens=2")
    host.submit(req)
    assert isinstance(recorder.wait_end(req.request_id), Finished)


@pytest.mark.parametrize("error, expected", [
    (EngineDied("No CUDA GPU is visible."), "No CUDA GPU is visible."),
    (RuntimeError("Engine core initialization failed. See root cause above."),
     "The engine could not start: RuntimeError: Engine core initialization failed"),
])
def test_start_failure_becomes_dead_state(make_host, recorder, error, expected):
    host = make_host(start_error=error)
    host.start()
    recorder.wait_state("dead")
    dead = [e for e in recorder.events if isinstance(e, EngineStateChanged)][-1]
    assert dead.state == "dead" and dead.message.startswith(expected)
    req = ask("tokens=1")
    host.submit(req)
    end = recorder.wait_end(req.request_id)
    assert isinstance(end, Failed) and not end.engine_alive


def test_factory_failure_becomes_dead_state(recorder, no_thread_leaks):
    def factory():
        raise EngineDied("vLLM is not installed.")

    host = EngineHost(factory, recorder, tick_s=0.02)
    host.start()
    recorder.wait_state("dead")
    assert recorder.states()[-1] == "dead"
    assert host.shutdown(timeout_s=5)


def test_broken_listener_does_not_stop_the_engine(engine_log, no_thread_leaks):
    from engine_scripted import ScriptedEngine

    seen: list = []
    done = threading.Event()

    def listener(event):
        seen.append(event)
        if isinstance(event, Finished):
            done.set()
        if isinstance(event, TextDelta):
            raise ValueError("listener bug")

    host = EngineHost(lambda: ScriptedEngine(engine_log), listener, tick_s=0.02)
    host.start()
    host.submit(ask("tokens=3"))
    assert done.wait(10)
    assert host.shutdown(timeout_s=5)
    assert sum(isinstance(e, TextDelta) for e in seen) == 3


def test_submit_before_start_is_refused(recorder):
    host = EngineHost(lambda: None, recorder)  # type: ignore[arg-type, return-value]
    req = ask("tokens=1")
    with pytest.raises(RuntimeError, match="not running"):
        host.submit(req)
    assert isinstance(recorder.events[-1], Failed)
    assert host.shutdown() is True


def test_stop_pressed_while_a_blocking_start_runs_still_ends_the_request(make_host, recorder):
    # submit and cancel both wait behind vLLM's loop-blocking start, then run in the same turn:
    # the request's task is cancelled before it ever ran, and must still get its one end event
    host = make_host(blocking_start_s=0.5)
    host.start()
    req = ask("tokens=3")
    host.submit(req)
    host.cancel(req.request_id)
    end = recorder.wait_end(req.request_id)
    assert isinstance(end, Finished) and end.reason == "cancelled"
    after = ask("tokens=1")  # and the engine serves the next one
    host.submit(after)
    assert isinstance(recorder.wait_end(after.request_id), Finished)


def test_an_engine_that_finishes_starting_after_shutdown_gave_up_is_still_shut_down(recorder, engine_log,
                                                                                   no_thread_leaks):
    host = EngineHost(lambda: ScriptedEngine(engine_log, blocking_start_s=1.0), recorder, tick_s=0.02)
    host.start()
    assert not host.shutdown(timeout_s=0.2)  # the start still blocks the loop: shutdown gives up waiting
    host.thread.join(10)  # the thread ends once the start returns...
    assert not host.thread.is_alive()
    assert (engine_log.started, engine_log.shutdowns) == (1, 1)  # ...and it released the engine first
