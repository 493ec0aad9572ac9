"""Answers streaming from a scripted engine behind the real EngineHost: what the user sees and what is stored."""

from chat_helpers import click_link, links, send, wait_idle
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from mimo_desktop.core.conversation import MessageState, Role
from mimo_desktop.core.store import Store


def answer_of(store):
    [conv] = store.conversations()
    return store.thread(conv.id)[-1]


def test_streamed_answer_is_shown_stored_and_has_its_stats(qtbot, engine_window, store, engine_log):
    send(qtbot, engine_window, "tokens=6")
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    assert answer.role is Role.ASSISTANT and answer.state is MessageState.COMPLETE
    assert answer.text == "t0 t1 t2 t3 t4 t5 "
    assert answer.stats.output_tokens == 6 and answer.stats.mtp_drafted == 8 and answer.stats.ttft_s is not None
    text = engine_window.chat.plain_text()
    assert "t0 t1 t2 t3 t4 t5" in text
    assert "6 tokens" in text and "first token" in text and "MTP 6/8 accepted (75%)" in text
    assert [t.text for t in engine_log.requests[0].turns] == ["tokens=6"]
    assert not engine_window.composer.stop_button.isVisible()


def test_stop_keeps_the_text_and_marks_the_answer_stopped(qtbot, engine_window, store, engine_log):
    send(qtbot, engine_window, "tokens=3 then=hang")
    qtbot.waitUntil(lambda: "t2" in engine_window.chat.plain_text(), timeout=10000)
    assert engine_window.composer.stop_button.isVisible()
    qtbot.keyClick(engine_window, Qt.Key.Key_Escape)
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    assert answer.state is MessageState.STOPPED
    assert answer.text == "t0 t1 t2 "
    assert len(engine_log.cancelled) == 1
    assert "Stopped" in engine_window.chat.plain_text()
    assert f"mimo:retry/{answer.id}" in links(engine_window.chat)


def test_regenerate_adds_a_sibling_and_the_switcher_moves_between_them(qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=2")
    wait_idle(qtbot, engine_window)
    first = answer_of(store)
    click_link(qtbot, engine_window.chat, f"mimo:regenerate/{first.id}")
    wait_idle(qtbot, engine_window)
    second = answer_of(store)
    assert second.id != first.id and second.parent_id == first.parent_id
    assert store.siblings(second.id) == [first.id, second.id]
    assert "2/2" in engine_window.chat.plain_text()
    click_link(qtbot, engine_window.chat, f"mimo:branch/{second.id}/-1")
    assert answer_of(store).id == first.id
    assert "1/2" in engine_window.chat.plain_text()


def test_editing_a_question_makes_a_new_branch_and_keeps_the_old(qtbot, engine_window, store, engine_log):
    send(qtbot, engine_window, "tokens=2")
    wait_idle(qtbot, engine_window)
    [conv] = store.conversations()
    question = store.thread(conv.id)[0]
    click_link(qtbot, engine_window.chat, f"mimo:edit/{question.id}")
    assert engine_window.edit_bar.isVisible()
    assert engine_window.composer.text() == "tokens=2"
    engine_window.composer.edit.selectAll()
    qtbot.keyClicks(engine_window.composer.edit, "tokens=4")
    qtbot.keyClick(engine_window.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, engine_window)
    thread = store.thread(conv.id)
    assert [m.text for m in thread] == ["tokens=4", "t0 t1 t2 t3 "]
    assert store.siblings(thread[0].id) == [question.id, thread[0].id]
    assert "2/2" in engine_window.chat.plain_text()
    assert not engine_window.edit_bar.isVisible()
    assert [t.text for t in engine_log.requests[-1].turns] == ["tokens=4"]  # the old branch is not sent


def test_failure_is_shown_and_retry_answers_again(qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=2 then=fail")
    wait_idle(qtbot, engine_window)
    failed = answer_of(store)
    assert failed.state is MessageState.FAILED and failed.text == "t0 t1 "
    assert "The scripted request failed on purpose." in failed.error
    assert "Failed after 2 tokens: The scripted request failed on purpose." in engine_window.chat.plain_text()
    [conv] = store.conversations()
    store.update_message(store.thread(conv.id)[0].id, text="tokens=3")  # the retry should now succeed
    click_link(qtbot, engine_window.chat, f"mimo:retry/{failed.id}")
    wait_idle(qtbot, engine_window)
    retried = answer_of(store)
    assert retried.state is MessageState.COMPLETE and retried.text == "t0 t1 t2 "
    assert store.siblings(retried.id) == [failed.id, retried.id]


def test_engine_death_offers_restart_and_restart_works(qtbot, engine_window, store, engine_log):
    send(qtbot, engine_window, "tokens=1 then=die")
    wait_idle(qtbot, engine_window)
    status = engine_window.engine_status
    qtbot.waitUntil(lambda: status.restart_button.isVisible())
    assert "Engine failed: The scripted engine died" in status.text()
    assert answer_of(store).state is MessageState.FAILED
    status.restart_button.click()
    qtbot.waitUntil(lambda: engine_window.controller.bridge.state == "ready", timeout=10000)
    assert engine_log.started == 2 and not status.restart_button.isVisible()
    assert "Ready: scripted" in status.text() and "2 GPUs" in status.text() and "MTP 1" in status.text()
    send(qtbot, engine_window, "tokens=2")
    wait_idle(qtbot, engine_window)
    assert answer_of(store).text == "t0 t1 "


def test_thinking_streams_then_folds_and_unfolds_on_click(qtbot, engine_window, store):
    send(qtbot, engine_window, "think=4 tokens=2")
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    assert answer.reasoning == "ponder0 ponder1 ponder2 ponder3 "
    text = engine_window.chat.plain_text()
    assert "▸ Thinking" in text and "ponder1" not in text and "t0 t1" in text
    assert answer.stats.thinking_s is not None and answer.stats.thinking_s >= 0
    engine_window.controller.open_conversation(answer.conversation_id)  # as rendered from history
    assert f"▸ Thinking (4 words, {answer.stats.thinking_s:.1f} s)" in engine_window.chat.plain_text()
    click_link(qtbot, engine_window.chat, f"mimo:thinking/{answer.id}")
    assert "ponder1" in engine_window.chat.plain_text()
    click_link(qtbot, engine_window.chat, f"mimo:copy/{answer.id}")
    assert QGuiApplication.clipboard().text() == "t0 t1 "
    click_link(qtbot, engine_window.chat, f"mimo:copy-thinking/{answer.id}")
    assert QGuiApplication.clipboard().text() == "> **Thinking**\n>\n> ponder0 ponder1 ponder2 ponder3\n\nt0 t1 "


def test_copy_code_button_puts_the_code_on_the_clipboard(qtbot, engine_window, store):
    send(qtbot, engine_window, "code tokens=1")
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    click_link(qtbot, engine_window.chat, f"mimo:copy-code/{answer.id}/0")
    assert QGuiApplication.clipboard().text() == "def add(a, b):\n    return a + b\n"
    click_link(qtbot, engine_window.chat, f"mimo:copy/{answer.id}")
    assert QGuiApplication.clipboard().text() == answer.text


def test_closing_mid_answer_keeps_it_as_stopped(qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=2 then=hang")
    qtbot.waitUntil(lambda: "t1" in engine_window.chat.plain_text(), timeout=10000)
    engine_window.close()
    answer = answer_of(store)
    assert answer.state is MessageState.STOPPED and answer.text == "t0 t1 "
    assert engine_window.controller.bridge.state == "stopped"


def test_events_of_other_requests_are_dropped(qtbot, engine_window, store):
    from mimo_desktop.engine.types import Failed, Finished

    send(qtbot, engine_window, "tokens=2 then=hang")
    qtbot.waitUntil(lambda: "t1" in engine_window.chat.plain_text(), timeout=10000)
    bridge = engine_window.controller.bridge
    bridge.textReceived.emit("an-old-request", "INTRUDER ", 1, False)
    bridge.requestFinished.emit(Finished("an-old-request", "stop", 1, 1, None, None))
    bridge.requestFailed.emit(Failed("an-old-request", "old failure", True))
    assert engine_window.controller.streamer.busy
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    assert answer.state is MessageState.STOPPED and answer.text == "t0 t1 " and not answer.error
    assert "INTRUDER" not in engine_window.chat.plain_text()


def test_a_full_disk_at_the_end_of_an_answer_is_said_and_the_answer_is_written_once_freed(
        qtbot, engine_window, store):
    send(qtbot, engine_window, "tokens=3 then=hang")
    qtbot.waitUntil(lambda: "t2" in engine_window.chat.plain_text(), timeout=10000)
    pages = store.on_writer(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    store.on_writer(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
    engine_window.controller.streamer.current.writer.append("word " * 40_000)  # more than the disk holds
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    qtbot.waitUntil(lambda: "Disk full: 40003 words kept in memory, retrying." in engine_window.notice.text())
    assert "t0 t1 t2" in engine_window.chat.plain_text() and "Stopped" in engine_window.chat.plain_text()
    store.on_writer(lambda c: c.execute("PRAGMA max_page_count = 1073741823"), front=True)  # space freed
    qtbot.waitUntil(lambda: "written again" in engine_window.notice.text(), timeout=10000)
    store.close()  # what another program reads from the file
    reopened = Store.open(store.db_path.parent)
    assert answer_of(reopened).text == "t0 t1 t2 " + "word " * 40_000
    reopened.close()


def test_thinking_is_shown_live_before_the_answer_begins(qtbot, engine_window, store):
    send(qtbot, engine_window, "think=3 tokens=0 then=hang")
    qtbot.waitUntil(lambda: "ponder2" in engine_window.chat.plain_text(), timeout=10000)
    engine_window.controller.stop()
    wait_idle(qtbot, engine_window)
    answer = answer_of(store)
    assert answer.state is MessageState.STOPPED and answer.reasoning == "ponder0 ponder1 ponder2 " and answer.text == ""
    text = engine_window.chat.plain_text()
    assert "▸ Thinking" in text and "ponder1" not in text  # folded once the answer ended


def test_next_turn_passes_the_earlier_thinking_back_and_the_thinking_switch(qtbot, engine_window, store, engine_log):
    send(qtbot, engine_window, "think=2 tokens=2")
    wait_idle(qtbot, engine_window)
    conv = store.conversations()[0]
    store.set_conversation_settings(conv.id, {"sampling": {"thinking": False}})
    send(qtbot, engine_window, "tokens=1")
    wait_idle(qtbot, engine_window)
    second = engine_log.requests[-1]
    assert [(t.role, t.reasoning) for t in second.turns] == [
        ("user", ""), ("assistant", "ponder0 ponder1 "), ("user", "")]
    assert second.sampling.thinking is False
    assert engine_log.requests[0].sampling.thinking is None  # the template's own default
