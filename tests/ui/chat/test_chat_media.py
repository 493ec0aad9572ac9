"""What was sent can be seen: tiles of the attachments in the conversation, viewers that open them."""

import sys
from pathlib import Path

import pytest
from chat_helpers import click_link
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument

from mimo_desktop.core.conversation import Role
from mimo_desktop.ui.chat.media import TILE_H, TILE_W, media_url
from mimo_desktop.ui.chat.media_viewer import ImageViewer, MediaPlayer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from xvfb_flows import make_clip, make_photo, make_recording  # noqa: E402


class SystemApps(QObject):
    """Stands in for the desktop: Qt hands it the file URLs QDesktopServices would open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[Path] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(Path(url.toLocalFile()))


@pytest.fixture
def sent_media(qtbot, window, store, tmp_path):
    photo = make_photo(tmp_path / "lake.jpg")
    clip = make_clip(tmp_path / "street.mp4", seconds=2)
    voice = make_recording(tmp_path / "memo.wav")
    stored = [store.add_attachment(photo, "image", tokens=810), store.add_attachment(clip, "video", tokens=1200),
              store.add_attachment(voice, "audio", tokens=175)]
    conv = store.create_conversation("media")
    question = store.add_message(conv.id, Role.USER, "What do these have in common?", attachments=stored)
    window.controller.open_conversation(conv.id)
    qtbot.waitUntil(lambda: window.chat.media.pending == 0, timeout=30000)
    return conv, question, stored


def tile_of(window, sha256: str) -> QImage:
    image = window.chat.document().resource(QTextDocument.ResourceType.ImageResource.value, media_url(sha256))
    assert isinstance(image, QImage) and image.size().toTuple() == (TILE_W, TILE_H)
    return image


def test_the_sent_message_shows_a_thumbnail_a_poster_and_a_waveform(qtbot, window, sent_media):
    _conv, question, (photo, clip, voice) = sent_media
    text = window.chat.plain_text()
    for name in ("lake.jpg · 810 tokens", "street.mp4 · 1,200 tokens", "memo.wav · 175 tokens"):
        assert name in text
    lake = tile_of(window, photo.sha256)
    sky, water = lake.pixelColor(TILE_W // 4, 8), lake.pixelColor(TILE_W // 4, TILE_H - 6)
    assert sky.blue() > sky.red() and water.blue() > 140  # the photo's sky and lake, not a placeholder tile
    street = tile_of(window, clip.sha256)
    assert street.pixelColor(TILE_W // 2, 10).lightness() < 90  # the night street's dark sky
    assert street.pixelColor(TILE_W // 2, TILE_H // 2).lightness() > 200  # the play mark on it
    memo = tile_of(window, voice.sha256)
    bars = [memo.pixelColor(x, TILE_H // 2) for x in range(10, TILE_W - 10)]
    assert sum(1 for c in bars if c.blue() > 200 and c.red() < 120) > 30  # waveform bars
    # the same after reopening the conversation (from the stored files)
    window.controller.open_conversation(question.conversation_id)
    assert tile_of(window, photo.sha256).pixelColor(TILE_W // 4, 8) == sky


def test_clicking_the_thumbnail_opens_a_viewer_that_fits_zooms_and_hands_the_file_to_the_system(
        qtbot, window, sent_media, tmp_path):
    _conv, question, (photo, _clip, _voice) = sent_media
    click_link(qtbot, window.chat, f"mimo:media/{question.id}/0")
    viewer = window.chat.findChild(ImageViewer)
    assert viewer is not None and viewer.isVisible() and viewer.windowTitle() == "lake.jpg"
    qtbot.waitUntil(lambda: viewer.loaded)  # decoded off the GUI thread
    assert viewer.view.item.pixmap().size().toTuple() == (1280, 853) and viewer.size_label.text() == "1280 × 853"
    qtbot.waitUntil(lambda: viewer.view.scale_factor < 1)  # fitted into the window
    fitted = viewer.view.scale_factor
    viewer.view.zoom(1.25)
    assert viewer.view.scale_factor == pytest.approx(fitted * 1.25)
    viewer.view.fit()
    assert viewer.view.scale_factor == pytest.approx(fitted)
    apps = SystemApps()
    QDesktopServices.setUrlHandler("file", apps, "open")
    try:
        viewer.open_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    [opened] = apps.opened
    assert opened.name == "lake.jpg" and opened.read_bytes() == (tmp_path / "lake.jpg").read_bytes()
    viewer.close()


def test_clicking_a_recording_opens_a_player_with_its_waveform_that_knows_its_length(qtbot, window, sent_media):
    _conv, question, _stored = sent_media
    click_link(qtbot, window.chat, f"mimo:media/{question.id}/2")
    player = window.chat.findChild(MediaPlayer)
    assert player is not None and player.isVisible() and player.kind == "audio"
    assert not player.wave.pixmap().isNull()
    qtbot.waitUntil(lambda: player.player.duration() > 0 or bool(player.error.text()), timeout=10000)
    assert player.error.text() == "" and abs(player.player.duration() - 7000) < 100
    assert "0:07" in player.time.text()
    player.close()


def test_a_missing_attachment_file_says_so_instead_of_a_picture(qtbot, window, store, sent_media):
    _conv, question, (photo, _clip, _voice) = sent_media
    store.attachment_path(photo).unlink()
    click_link(qtbot, window.chat, f"mimo:media/{question.id}/0")
    viewer = window.chat.findChild(ImageViewer)
    qtbot.waitUntil(lambda: viewer.loaded)
    assert viewer.note.text() == "lake.jpg is missing from the attachments folder."
    viewer.close()


def test_a_composer_chip_previews_its_file_in_the_same_viewers_before_sending(qtbot, window, tmp_path):
    from composer.helpers import chip, drop, wait_prepared

    photo = make_photo(tmp_path / "lake.jpg")
    voice = make_recording(tmp_path / "memo.wav")
    assert drop(window.composer, photo, voice)
    wait_prepared(qtbot, window.composer, 2)
    first = chip(window.composer, 0)
    assert first.show_button.accessibleName() == "Preview lake.jpg"
    qtbot.mouseClick(first.show_button, Qt.MouseButton.LeftButton)
    viewer = first.findChild(ImageViewer)
    assert viewer is not None and viewer.isVisible()
    qtbot.waitUntil(lambda: viewer.loaded)
    assert viewer.view.item.pixmap().size().toTuple() == (1280, 853)
    viewer.close()
    second = chip(window.composer, 1)
    qtbot.mouseDClick(second, Qt.MouseButton.LeftButton)
    player = second.findChild(MediaPlayer)
    assert player is not None and player.kind == "audio"
    qtbot.waitUntil(lambda: player.player.duration() > 0, timeout=10000)
    player.close()


def test_clicking_a_clip_opens_a_player_that_plays_it(qtbot, window, sent_media):
    from PySide6.QtMultimedia import QMediaPlayer

    _conv, question, _stored = sent_media
    click_link(qtbot, window.chat, f"mimo:media/{question.id}/1")
    player = window.chat.findChild(MediaPlayer)
    assert player is not None and player.kind == "video" and player.windowTitle() == "street.mp4"
    qtbot.waitUntil(lambda: player.player.duration() > 0 or bool(player.error.text()), timeout=10000)
    assert player.error.text() == "" and abs(player.player.duration() - 2000) < 150
    assert player.player.hasVideo() and player.player.hasAudio()  # the clip's sound plays with it
    qtbot.mouseClick(player.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
                    or bool(player.error.text()), timeout=5000)
    if player.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
        assert player.play_button.accessibleName() == "Pause"
        qtbot.waitUntil(lambda: player.player.position() > 200, timeout=5000)
        qtbot.mouseClick(player.play_button, Qt.MouseButton.LeftButton)
        assert player.play_button.accessibleName() == "Play"
    else:  # no sound device on this machine: the player says so in a sentence
        assert player.error.text().startswith("It cannot be played here:")
    player.close()
