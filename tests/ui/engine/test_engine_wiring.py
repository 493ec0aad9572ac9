"""The window and the engine: attachments reach it as prepared media (again for later turns),
the status bar follows the engine's start, and an installation without vLLM says how to add it."""

import asyncio

from chat_helpers import send, wait_idle
from PIL import Image
from ui_engine import EngineLog, UiScriptedEngine

from mimo_desktop.engine.types import EngineInfo
from mimo_desktop.engine import choice as engine_config
from mimo_desktop.engine.choice import EngineChoice


def test_attachments_are_stored_and_sent_then_prepared_again_for_later_turns(
        qtbot, engine_window, store, engine_log, tmp_path):
    photo = tmp_path / "robin.png"
    Image.new("RGB", (320, 240), (200, 90, 30)).save(photo)
    engine_window.composer.add_files([photo])
    qtbot.waitUntil(lambda: all(d.prepared or d.error for d in engine_window.composer.attachments()),
                    timeout=60000)
    [draft] = engine_window.composer.attachments()
    assert draft.error is None
    send(qtbot, engine_window, "tokens=2")
    wait_idle(qtbot, engine_window)
    [conv] = store.conversations()
    question = store.thread(conv.id)[0]
    [stored] = question.attachments
    assert stored.kind == "image" and stored.name == "robin.png" and stored.tokens == draft.prepared.tokens
    assert store.attachment_path(stored).read_bytes() == photo.read_bytes()
    [turn] = engine_log.requests[0].turns
    assert [m.kind for m in turn.attachments] == ["image"] and turn.attachments[0].tokens == stored.tokens
    assert engine_window.composer.attachments() == []

    send(qtbot, engine_window, "tokens=1")  # the photo belongs to the first turn: prepared from the store
    wait_idle(qtbot, engine_window, timeout=60000)
    first, answer, second = engine_log.requests[1].turns
    assert [m.kind for m in first.attachments] == ["image"] and first.attachments[0].tokens == stored.tokens
    assert answer.role == "assistant" and answer.text == "t0 t1 " and second.attachments == ()


class SlowStartEngine(UiScriptedEngine):
    def __init__(self, log, gate):
        super().__init__(log)
        self.gate = gate

    async def start(self, on_stage, on_stats) -> EngineInfo:
        on_stage("loading weights")
        while not self.gate:
            await asyncio.sleep(0.01)
        return await super().start(on_stage, on_stats)


def test_status_bar_follows_the_start_then_shows_the_ready_engine(qtbot, window):
    gate: list[bool] = []
    control = window.controller.engine
    control.tick_s = 0.02
    control.start_with(EngineChoice("slow", lambda: SlowStartEngine(EngineLog(), gate), "slow"))
    status = window.engine_status
    qtbot.waitUntil(lambda: "Engine starting: loading weights" in status.text(), timeout=10000)
    assert status.text().endswith(" s)") and not status.restart_button.isVisible()
    gate.append(True)
    qtbot.waitUntil(lambda: status.text().startswith("Ready: scripted"), timeout=10000)
    assert "2 GPUs · TP 2 · MTP 1 · context 8,192" in status.text()


def test_live_speed_shows_while_an_answer_streams(qtbot, engine_window):
    send(qtbot, engine_window, "tokens=40 then=hang")
    live = engine_window.engine_status.live
    qtbot.waitUntil(lambda: live.isVisible() and "tokens/s" in live.text(), timeout=10000)
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    assert not live.isVisible()


def test_without_vllm_the_embedded_choice_says_how_to_install_it(qtbot, window, store, monkeypatch):
    monkeypatch.setattr(engine_config, "vllm_available", lambda: False)
    store.set_setting("engine", {"kind": "vllm", "vllm": {"model_dir": "/models/MiMo-V2.5"}})
    window.controller.engine.start_from_settings()
    assert "vLLM is not installed" in window.engine_status.text()
    assert "pip install 'mimo-desktop[gpu]'" in window.engine_status.text()
    assert window.first_run.isVisible() and "vLLM is not installed" in window.first_run.vllm_note.text()
    assert not window.controller.bridge.configured


def test_an_engine_replaced_while_starting_cannot_overwrite_the_new_ones_state(qtbot):
    import time as _time

    from mimo_desktop.engine.types import EngineInfo
    from mimo_desktop.ui.engine.bridge import EngineBridge

    class Named:
        def __init__(self, name, block_s):
            self.name, self.block_s = name, block_s

        async def start(self, on_stage, on_stats):
            _time.sleep(self.block_s)  # vLLM's start blocks the engine loop
            return EngineInfo(name=self.name)

        async def generate(self, request):
            yield  # never used here

        async def abort(self, request_id):
            pass

        async def shutdown(self):
            pass

    bridge = EngineBridge()
    states = []
    bridge.engineStateChanged.connect(lambda e: states.append((e.state, e.info.name if e.info else None)))
    bridge.start(lambda: Named("old", 1.0), tick_s=0.05)
    old_thread = bridge._host.thread
    assert not bridge.shutdown(timeout_s=0.2)  # gives up while the old start still blocks
    bridge.start(lambda: Named("new", 0.0), tick_s=0.05)
    qtbot.waitUntil(lambda: bridge.state == "ready", timeout=10000)
    old_thread.join(10)  # the old engine finishes starting now, and speaks
    qtbot.wait(200)
    assert bridge.state == "ready" and bridge.info.name == "new"
    assert ("ready", "old") not in states
    bridge.shutdown()


def test_a_failed_answer_keeps_its_turn_so_two_questions_never_go_out_in_a_row(qtbot, engine_window, engine_log):
    send(qtbot, engine_window, "tokens=2 then=fail")  # fails after "t0 t1 "
    wait_idle(qtbot, engine_window)
    send(qtbot, engine_window, "tokens=0 then=fail")  # fails before any text
    wait_idle(qtbot, engine_window)
    send(qtbot, engine_window, "tokens=1")
    wait_idle(qtbot, engine_window)
    from mimo_desktop.engine.history import NO_ANSWER_TURN

    turns = [(t.role, t.text) for t in engine_log.requests[-1].turns]
    assert turns == [("user", "tokens=2 then=fail"), ("assistant", "t0 t1 "),
                     ("user", "tokens=0 then=fail"), ("assistant", NO_ANSWER_TURN), ("user", "tokens=1")]


def test_a_stalled_server_reaches_the_window_with_what_happened(qtbot, window, store, no_thread_leaks):
    import importlib.util
    from pathlib import Path

    from mimo_desktop.engine.types import STOPPED_MID_ANSWER

    spec = importlib.util.spec_from_file_location(
        "wiring_sse", Path(__file__).resolve().parents[2] / "engine" / "sse_server.py")
    sse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sse)
    with sse.FakeOpenAIServer() as srv:
        srv.mode = "stall"
        store.set_setting("engine", {"kind": "remote", "remote": {"url": srv.url, "model": "",
                                                                  "first_token_timeout_s": 5, "token_timeout_s": 1}})
        window.controller.engine.start_from_settings()
        qtbot.waitUntil(lambda: window.controller.bridge.state == "ready", timeout=10000)
        failures = []
        window.controller.streamer.answerFailed.connect(failures.append)
        send(qtbot, window, "hello")
        wait_idle(qtbot, window)
    assert [(f.kind, f.tokens) for f in failures] == [(STOPPED_MID_ANSWER, 1)]
    expected = (f"The server at {srv.url}/v1 stopped sending after 1 token: nothing more for 1 s. "
                "The request was abandoned; what arrived is kept.")
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert (answer.text, answer.error) == ("first", expected)
    assert expected in window.chat.plain_text()
