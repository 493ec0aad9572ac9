"""From Send to the first token the answer says what it waits for; a failure says how far it got."""

import re

from chat_helpers import send, wait_idle

from mimo_desktop.core.conversation import MessageState


def test_until_the_first_token_the_answer_says_it_waits_for_the_model_and_for_how_long(qtbot, engine_window):
    chat = engine_window.chat
    send(qtbot, engine_window, "wait=2.5 tokens=2")
    qtbot.waitUntil(lambda: "waiting for the model · 0 s" in chat.plain_text(), timeout=5000)
    qtbot.waitUntil(lambda: "waiting for the model · 1 s" in chat.plain_text(), timeout=5000)
    frames = set()
    qtbot.waitUntil(lambda: frames.update(re.findall(r"([◐◓◑◒]) waiting", chat.plain_text())) or len(frames) > 1,
                    timeout=5000)  # it moves
    wait_idle(qtbot, engine_window)
    text = chat.plain_text()
    assert "t0 t1" in text and "waiting for the model" not in text


def test_an_answer_that_never_started_says_no_answer(qtbot, engine_window, store):
    send(qtbot, engine_window, "wait=0.3 tokens=0 then=fail")
    wait_idle(qtbot, engine_window)
    [conv] = store.conversations()
    answer = store.thread(conv.id)[-1]
    assert answer.state is MessageState.FAILED and answer.text == ""
    text = engine_window.chat.plain_text()
    assert "No answer: The scripted request failed on purpose." in text
    assert "waiting for the model" not in text and "after" not in text
    engine_window.controller.open_conversation(conv.id)  # the same after reopening
    assert "No answer: The scripted request failed on purpose." in engine_window.chat.plain_text()


def test_an_answer_that_broke_off_says_after_how_many_tokens(qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=3 then=fail")
    wait_idle(qtbot, engine_window)
    assert "Failed after 3 tokens: The scripted request failed on purpose." in engine_window.chat.plain_text()
    [conv] = store.conversations()
    engine_window.controller.open_conversation(conv.id)
    assert "Failed after 3 tokens: The scripted request failed on purpose." in engine_window.chat.plain_text()


def test_while_the_engine_starts_the_answer_says_so(qtbot, window, engine_log):
    import asyncio

    from ui_engine import UiScriptedEngine

    from mimo_desktop.engine.choice import EngineChoice

    class SlowStart(UiScriptedEngine):
        async def start(self, on_stage, on_stats):
            await asyncio.sleep(1.5)
            return await super().start(on_stage, on_stats)

    window.controller.engine.start_with(EngineChoice("slow", lambda: SlowStart(engine_log), "slow engine"))
    send(qtbot, window, "tokens=2")
    qtbot.waitUntil(lambda: "starting the engine · " in window.chat.plain_text(), timeout=5000)
    wait_idle(qtbot, window)
    assert "t0 t1" in window.chat.plain_text() and "starting the engine" not in window.chat.plain_text()
