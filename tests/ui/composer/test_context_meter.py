"""The context meter: text + media tokens against the engine's context; Send blocked when it would not fit."""

from __future__ import annotations

from PySide6.QtCore import Qt

from .helpers import chip, drop, wait_prepared


def test_meter_counts_text_and_attachments_as_estimates_without_a_model(qtbot, composer, media):
    assert composer.meter.text() == "Message: ≈ 0 tokens (text 0 · attachments 0)"
    composer.edit.setPlainText("x" * 40)  # built-in estimate: 4 bytes a token
    assert composer.meter.text() == "Message: ≈ 10 tokens (text 10 · attachments 0)"
    drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    assert composer.meter.text() == "Message: ≈ 312 tokens (text 10 · attachments 302)"


def test_over_the_context_blocks_send_with_the_reason(qtbot, composer, media):
    sent = []
    composer.sendRequested.connect(lambda text, drafts: sent.append(text))
    composer.set_context_limit(1000, used_by_history=600)
    composer.edit.setPlainText("x" * 40)
    drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    assert composer.meter.text() == "Context: ≈ 912 of 1,000 tokens (history 600 · text 10 · attachments 302)"
    assert composer.send_button.isEnabled()
    composer.set_context_limit(1000, used_by_history=700)
    assert not composer.send_button.isEnabled()
    assert composer.reason.isVisible()
    assert composer.reason.text() == (
        "Too long: this message needs 312 tokens but only 300 of the 1,000-token context are left. "
        "Remove an attachment or start a new chat."
    )
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == []
    composer.edit.setPlainText("x" * 30)  # 8 tokens: 310 > 300, still too long
    assert not composer.send_button.isEnabled()
    qtbot.mouseClick(chip(composer).remove, Qt.MouseButton.LeftButton)
    assert composer.send_button.isEnabled() and composer.reason.isHidden()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == ["x" * 30]


def test_an_outside_reason_wins_and_lifting_it_restores_the_composer_state(qtbot, composer):
    composer.set_context_limit(100, used_by_history=99)
    composer.edit.setPlainText("x" * 40)
    composer.set_blocked("The engine is starting (stage: loading weights).")
    assert composer.reason.text() == "The engine is starting (stage: loading weights)."
    composer.set_blocked("")
    assert composer.reason.text().startswith("Too long: this message needs 10 tokens but only 1 of")
    assert not composer.send_button.isEnabled()


def test_a_model_folder_gives_exact_costs_with_its_tokenizer(qtbot, composer, media, model_dir):
    drop(composer, media / "photo.png")
    wait_prepared(qtbot, composer, 1)
    composer.edit.setPlainText("describe this photo 12:30")
    composer.set_model_dir(model_dir)
    qtbot.waitUntil(lambda: not composer.meter.text().startswith("Message: ≈"), timeout=30_000)
    wait_prepared(qtbot, composer, 1)
    # word-level tokenizer: describe, this, photo, 12, :, 30 -> 6 tokens; no "≈" anywhere
    assert composer.meter.text() == "Message: 308 tokens (text 6 · attachments 302)"
    assert chip(composer).detail.text() == "302 tokens"
    assert composer.attachments()[0].prepared.estimate is False
    composer.set_model_dir(None)
    qtbot.waitUntil(lambda: composer.meter.text().startswith("Message: ≈"), timeout=30_000)


def test_a_folder_that_is_not_a_model_keeps_estimates_and_says_why(qtbot, composer, tmp_path):
    composer.set_model_dir(tmp_path)
    qtbot.waitUntil(lambda: composer.reason.isVisible(), timeout=30_000)
    assert composer.reason.text() == f"Costs are estimates: {tmp_path} has no config.json; is it a model folder?"
    assert composer.send_button.isEnabled()  # a note, not a block
