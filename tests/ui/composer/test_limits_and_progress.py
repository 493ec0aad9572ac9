"""Limits said before work starts, progress with a percentage, chips that stay put under the pointer."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from mimo_desktop.ui.composer import media_worker

from .helpers import chip, drop, wait_prepared


def test_a_long_file_is_priced_from_its_header_and_decoded_only_when_the_user_says_so(
        qtbot, composer, media, monkeypatch):
    from mimo_desktop.media.costs import estimate

    monkeypatch.setattr(media_worker, "ASK_ABOVE_S", 1.0)  # the 1.5 s tone counts as "hours" here
    composer.edit.setPlainText("transcribe this")
    drop(composer, media / "tone.wav")
    the_chip = chip(composer)
    qtbot.waitUntil(lambda: the_chip.confirm.isVisible(), timeout=30_000)
    cost = estimate(media / "tone.wav")
    assert the_chip.detail.text() == f"0:02 · ≈ {cost.tokens:,} tokens · about 1 s to prepare"
    [draft] = composer.attachments()
    assert draft.prepared is None and draft.question is not None  # nothing was decoded
    assert not composer.send_button.isEnabled()
    assert composer.reason.text() == "tone.wav: long; press Prepare to decode it, or remove it."
    assert f"attachments {cost.tokens:,}" in composer.meter.text()  # the header's price counts already

    qtbot.mouseClick(the_chip.confirm, Qt.MouseButton.LeftButton)
    wait_prepared(qtbot, composer, 1)
    assert draft.prepared is not None and draft.prepared.tokens == cost.tokens
    assert not the_chip.confirm.isVisible() and composer.send_button.isEnabled()


def test_preparing_reports_progress_that_ends_at_100_percent(qtbot, composer, media):
    fractions: list[float] = []
    composer._worker.progressed.connect(lambda job, f: fractions.append(f))
    drop(composer, media / "clip.mp4")
    wait_prepared(qtbot, composer, 1)
    assert fractions and fractions == sorted(fractions) and fractions[-1] >= 0.99


def test_the_chip_says_percentage_and_time_left(qtbot, composer, media):
    drop(composer, media / "photo.png")
    the_chip = chip(composer)
    wait_prepared(qtbot, composer, 1)
    the_chip.show_preparing()
    the_chip.show_progress(0.1)
    qtbot.wait(300)
    the_chip.show_progress(0.5)
    text = the_chip.detail.text()
    assert text.startswith("Preparing… 50% · ") and text.endswith(" s left")
    assert the_chip.busy.maximum() == 100 and the_chip.busy.value() == 50


def test_removing_a_chip_does_not_slide_the_next_one_under_the_pointer(qtbot, composer, media):
    drop(composer, media / "photo.png", media / "tone.wav", media / "photo.png")
    wait_prepared(qtbot, composer, 3)
    qtbot.wait(50)
    first, second = chip(composer, 0), chip(composer, 1)
    where = second.mapTo(composer.strip, QPoint(0, 0))
    QCursor.setPos(first.remove.mapToGlobal(first.remove.rect().center()))
    if not composer.strip.rect().contains(composer.strip.mapFromGlobal(QCursor.pos())):
        import pytest

        pytest.skip("this platform plugin cannot place the pointer")
    qtbot.mouseClick(first.remove, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    assert len(composer.attachments()) == 2
    assert second.mapTo(composer.strip, QPoint(0, 0)) == where  # still where it was
    QApplication.sendEvent(composer.strip, QEvent(QEvent.Type.Leave))  # the pointer leaves the strip
    qtbot.wait(50)
    assert second.mapTo(composer.strip, QPoint(0, 0)).x() < where.x()  # now the row closes up
