"""Run one of the app's main flows in a real window on an X server and save a screenshot of it.

    python tests/ui/xvfb_flows.py attachments|settings|download|sidebar WORK_DIR OUT.png

attachments: the main window with an image, a video with sound and a voice recording dropped on the composer
             (the real drop path), prepared by the real media layer, and a question typed.
settings:    the settings dialog, opened by the controller as the menu does, on the embedded vLLM engine with a
             tiny MiMo-V2 Omni checkpoint checked (two H100s stand in for the GPUs this machine lacks).
download:    the model download dialog mid-download from the loopback fake Hub (one shard stalls half-way).
sidebar:     conversations under date headings with a draft marked and the pointer on a row; then a search hit
             on an older branch, drafts across a switch and a restart, a drop on the chat view, F2, Ctrl+N.

The engine is scripted (no GPU here); media files are generated into WORK_DIR with Pillow, numpy and ffmpeg.
Prints ``key=value`` lines (chip texts, the meter, the check report, progress) for the test to check.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TESTS = Path(__file__).resolve().parents[1]
# the checkpoint builders, fake Hub and memory keyring; the composer tests' drag-and-drop helper
sys.path[:0] = [str(TESTS), str(TESTS / "models"), str(TESTS / "ui"), str(TESTS / "ui" / "window")]

QUESTION = "What do the photo, the clip and my voice memo have in common? Answer in three bullet points."
HUB_REPO = "XiaomiMiMo/MiMo-tiny"  # the fake Hub's name for the tiny checkpoint: not the real 300 GB model


# ---------------------------------------------------------------------- media
def make_photo(path: Path) -> Path:
    """A landscape (sky, sun, hills, a lake) rather than a flat colour, so the thumbnail reads as a photo."""
    width, height = 1280, 853
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height // 2):
        t = y / (height / 2)
        draw.line([(0, y), (width, y)], fill=(int(90 + 150 * t), int(150 + 80 * t), int(230 - 40 * t)))
    draw.ellipse((880, 90, 1040, 250), fill=(255, 214, 90))
    for top, colour in ((330, (70, 130, 80)), (400, (40, 100, 60))):
        points = [(x, top + 60 * math.sin(x / 140 + top) + 30 * math.sin(x / 47)) for x in range(0, width + 20, 20)]
        draw.polygon([(0, height), *points, (width, height)], fill=colour)
    draw.rectangle((0, 600, width, height), fill=(60, 120, 170))
    for y in range(610, height, 18):
        draw.line([(100 + (y * 37) % 400, y), (260 + (y * 37) % 400, y)], fill=(150, 190, 220), width=2)
    image.save(path, quality=90)
    return path


def street_at_night(width: int = 640, height: int = 360) -> Image.Image:
    """Buildings with lit windows under a dusk sky: the clip's background."""
    rng = np.random.default_rng(7)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=(int(20 + 60 * t), int(24 + 40 * t), int(60 + 70 * t)))
    x = 0
    while x < width:
        w, top = int(rng.integers(60, 120)), int(rng.integers(60, 200))
        draw.rectangle((x, top, x + w - 4, 290), fill=tuple(int(c) for c in rng.integers(30, 70, 3)))
        for wy in range(top + 10, 280, 18):
            for wx in range(x + 8, x + w - 14, 16):
                if rng.random() < 0.45:
                    draw.rectangle((wx, wy, wx + 7, wy + 9), fill=(250, 214, 120))
        x += w
    draw.rectangle((0, 290, width, height), fill=(45, 45, 52))
    for x in range(0, width, 60):
        draw.rectangle((x, 322, x + 30, 326), fill=(230, 230, 230))
    return image


def make_clip(path: Path, seconds: int = 4, rate: int = 25) -> Path:
    """A car driving down a street, with a sound track (a tone), encoded by the ffmpeg CLI."""
    background = street_at_night()
    encoder = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "640x360", "-r", str(rate),
         "-i", "-", "-f", "lavfi", "-i", f"sine=frequency=523:duration={seconds}", "-c:v", "mpeg4",
         "-q:v", "3", "-c:a", "aac", "-shortest", str(path)],
        stdin=subprocess.PIPE,
    )
    for frame in range(seconds * rate):
        image = background.copy()
        draw = ImageDraw.Draw(image)
        x = 30 + frame * 420 // (seconds * rate)
        draw.rounded_rectangle((x, 292, x + 120, 322), 8, fill=(200, 40, 40))
        draw.rounded_rectangle((x + 25, 272, x + 90, 296), 8, fill=(170, 30, 30))
        draw.ellipse((x + 15, 312, x + 37, 334), fill=(15, 15, 15))
        draw.ellipse((x + 83, 312, x + 105, 334), fill=(15, 15, 15))
        draw.polygon([(x + 120, 300), (x + 200, 290), (x + 200, 318)], fill=(250, 240, 170))
        encoder.stdin.write(image.tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise RuntimeError("ffmpeg could not encode the clip")
    return path


def make_recording(path: Path) -> Path:
    """Seven seconds of speech-like bursts (syllables with pauses) so the waveform has a shape."""
    rate = 24000
    t = np.arange(7 * rate) / rate
    envelope = np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 2 * (0.4 + 0.6 * np.abs(np.sin(2 * np.pi * 0.31 * t)))
    envelope[(t > 2.6) & (t < 3.3)] = 0  # a pause between sentences
    voice = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 360 * t) + 0.25 * np.sin(2 * np.pi * 720 * t)
    samples = (voice * envelope * 12000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


# ---------------------------------------------------------------------- Qt helpers
def wait(app, done, timeout_s: float = 30.0, what: str = "the window") -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not get there in {timeout_s:.0f} s")
        app.processEvents()
        time.sleep(0.005)


def settle(app, widget) -> None:
    """Let the last paints reach the X server before grabbing it."""
    wait(app, lambda: widget.windowHandle() is not None and widget.windowHandle().isExposed(), what="the exposure")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def drop_files(target, paths: list[Path]) -> None:
    """Drag files onto ``target`` and release them, as a file manager does (the composer tests' helper)."""
    from composer.helpers import drop

    if not drop(target, *paths):
        raise RuntimeError("the composer refused the dragged files")


# ---------------------------------------------------------------------- flows
def attachments_flow(app, work: Path, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from xvfb_driver import ScreenshotEngine

    from mimo_desktop.app import build_window, save_screenshot
    from mimo_desktop.core.conversation import Role
    from mimo_desktop.core.store import Store
    from mimo_desktop.engine.choice import EngineChoice

    media = [make_photo(work / "lake.jpg"), make_clip(work / "street.mp4"),
             make_recording(work / "memo.wav")]
    store = Store.open(work / "home")
    store.set_setting("theme", "light")
    store.create_conversation("Trip to the coast: tide tables")
    conv = store.create_conversation("Holiday notes")
    store.add_message(conv.id, Role.USER, "I will send you a photo, a clip and a voice memo from the trip.")
    store.add_message(conv.id, Role.ASSISTANT, "Sure: attach them and ask your question, I will look at all three.")
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    controller.engine.start_with(EngineChoice("scripted", ScreenshotEngine, "MiMo-V2.5"))
    wait(app, lambda: controller.bridge.state == "ready", what="the engine")
    conversations = window.conversations.list
    holiday = window.conversations.item_of(conv.id)
    QTest.mouseClick(conversations.viewport(), Qt.MouseButton.LeftButton,
                     pos=conversations.visualItemRect(holiday).center())  # open it as a user does
    wait(app, lambda: controller.current_id == conv.id, what="the conversation")
    composer = window.composer
    drop_files(composer, media)
    wait(app, lambda: len(composer.attachments()) == 3 and not any(d.preparing for d in composer.attachments()),
         timeout_s=60, what="the attachments")
    composer.edit.setFocus()
    QTest.keyClicks(composer.edit, QUESTION)
    settle(app, window)
    save_screenshot(app, window, out)
    for chip in composer.strip.chips.values():
        print(f"chip={chip.name.text()}|{chip.detail.text()}|pixmap={not chip.preview.pixmap().isNull()}")
    print(f"kinds={','.join(d.kind for d in composer.attachments())}")
    print(f"meter={composer.meter.text()}")
    print(f"send_enabled={composer.send_button.isEnabled()}")
    print(f"strip_rect={rect_in(window, composer.strip)}")
    print(f"edit_rect={rect_in(window, composer.edit)}", flush=True)
    composer.shutdown()
    window.close()
    controller.shutdown()
    store.close()


def rect_in(window, widget) -> str:
    """The widget's rectangle in the window's screenshot, as x,y,w,h."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return f"{top_left.x()},{top_left.y()},{widget.width()},{widget.height()}"


def two_h100s():
    from mimo_desktop.models import GpuInfo, GpuSurvey
    from mimo_desktop.models.units import GIB

    return GpuSurvey(tuple(GpuInfo(i, "NVIDIA H100 80GB HBM3", 80 * GIB, 79 * GIB) for i in range(2)), "nvml")


def settings_flow(app, work: Path, out: Path) -> None:
    from model_checkpoints import build_checkpoint

    from mimo_desktop.app import build_window, save_screenshot
    from mimo_desktop.core.store import Store
    from mimo_desktop.ui.engine import model_check

    survey = two_h100s()
    model_check._detect_gpus = lambda: survey  # no GPU on this machine: the survey two H100s would give
    folder = build_checkpoint(work / "models" / "MiMo-V2-Omni-tiny", audio=True)
    store = Store.open(work / "home")
    store.set_setting("theme", "light")
    store.set_setting("engine", {"kind": "vllm", "vllm": {"model_dir": str(folder), "tensor_parallel": 2}})
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    dialog = controller.open_settings()  # what Settings… in the menu does
    panel = dialog.model_check
    wait(app, lambda: not panel.checking and panel.result is not None, what="the model folder check")
    dialog.resize(max(dialog.width(), 760), dialog.sizeHint().height())
    settle(app, dialog)
    save_screenshot(app, dialog, out)
    print(f"engine={dialog.kind.currentText()}")
    print(f"folder={dialog.model_dir.text()}")
    for line in panel.report.text().splitlines():
        print(f"report={line}")
    print(f"save_enabled={dialog.save_button.isEnabled()}", flush=True)
    dialog.reject()
    panel.shutdown()
    window.close()
    controller.shutdown()
    store.close()


def file_states(dialog) -> dict[str, str]:
    """What the dialog's file list shows: file name -> its state column ("done", "60% (768.6 KiB)", ...)."""
    rows = (dialog.files.topLevelItem(i) for i in range(dialog.files.topLevelItemCount()))
    return {row.text(0): row.text(2) for row in rows}


def download_flow(app, work: Path, out: Path) -> None:
    import os

    from fake_hub import FakeHub
    from model_checkpoints import build_checkpoint

    checkpoint = build_checkpoint(work / "source" / "MiMo-tiny", audio=True)
    shard = "model-00002-of-00003.safetensors"
    with FakeHub() as hub:
        hub.add_folder(HUB_REPO, checkpoint)
        hub.faults.stall_after[shard] = (checkpoint / shard).stat().st_size * 3 // 5
        os.environ["HF_ENDPOINT"] = hub.endpoint  # read by huggingface_hub when it is first imported
        os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
        from mimo_desktop.app import save_screenshot
        from mimo_desktop.ui.engine.download_dialog import DownloadDialog

        dialog = DownloadDialog(folder=str(work / "models" / "MiMo-tiny"), max_workers=3)
        dialog.repo.setText(HUB_REPO)
        dialog.show()
        dialog.start_button.click()

        def stalled_with_the_rest_done() -> bool:
            states = file_states(dialog)
            done = [name for name, state in states.items() if state == "done"]
            return hub.faults.stalled.is_set() and "%" in states.get(shard, "") and len(done) == len(states) - 1

        wait(app, stalled_with_the_rest_done, what="the download")
        time.sleep(0.3)  # let the repaint-coalescing timer run out: settle() then draws the latest progress
        settle(app, dialog)
        save_screenshot(app, dialog, out)
        print(f"status={dialog.status.text()}")
        print(f"speed={dialog.speed.text()}")
        print(f"total={dialog.total.value()}")
        states = file_states(dialog)
        print(f"shard={states[shard]}")
        print(f"done_files={sum(state == 'done' for state in states.values())} of {len(states)}", flush=True)
        dialog.reject()  # cancels the download and joins its threads
        hub.faults.release.set()
    left = [t.name for t in threading.enumerate() if t.name.startswith("model-download") and t.is_alive()]
    print(f"threads_left={','.join(left)}", flush=True)  # closing the dialog cancels and joins its download


def sidebar_flow(app, work: Path, out: Path) -> None:
    """The sidebar under date headings with the pointer over a row, then a search hit on an older branch,
    a draft kept across a switch, files dropped on the chat view, and the window's size after a restart."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QLineEdit
    from test_drop_anywhere import at, drag, file_mime

    from mimo_desktop.app import build_window, save_screenshot
    from mimo_desktop.core.store import Store

    store = Store.open(work / "home")
    store.set_setting("theme", "light")
    ids = sidebar_history(store)
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    settle(app, window)
    lst = window.conversations.list
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(window.conversations.item_of(ids["Lake photo: what time of day"])).center())
    wait(app, lambda: controller.current_id == ids["Lake photo: what time of day"], what="the lake conversation")
    QTest.keyClicks(window.composer.edit, "Could it be sunset instead?")  # left unsent: a draft
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(window.conversations.item_of(ids["Holiday notes"])).center())
    wait(app, lambda: controller.current_id == ids["Holiday notes"], what="the conversation")
    QTest.keyClicks(window.composer.edit, "And which beach had the fewest people?")
    hovered = lst.visualItemRect(window.conversations.item_of(ids["Bird on the feeder"]))
    QTest.mouseMove(lst.viewport(), hovered.center() + QPoint(hovered.width() // 4, 0))
    settle(app, window)
    save_screenshot(app, window, out)
    print(f"headings={'|'.join(window.conversations.headings())}")
    print(f"titles={'|'.join(window.conversations.titles())}")
    print(f"sidebar_rect={rect_in(window, window.conversations)}")
    print(f"hovered_rect={rect_in_list(window, lst, hovered)}")
    print(f"hscroll={lst.horizontalScrollBar().isVisible()}")
    print(f"drafts={'|'.join(window.conversations.drafts())}")
    QTest.mouseMove(window.chat.viewport(), window.chat.viewport().rect().center())  # the pointer leaves the list
    settle(app, window)
    save_screenshot(app, window, work / "unhovered.png")

    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(window.conversations.item_of(ids["Bird on the feeder"])).center())
    wait(app, lambda: controller.current_id == ids["Bird on the feeder"], what="the other conversation")
    print(f"draft_elsewhere={window.composer.text()!r}")
    window.conversations.search.setFocus()
    QTest.keyClicks(window.conversations.search, "sparrow")
    wait(app, lambda: window.conversations.titles() == ["Bird on the feeder"], what="the search")
    print(f"snippet={window.conversations.previews()[0].replace(chr(2), '[').replace(chr(3), ']')}")
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(window.conversations.item_of(ids["Bird on the feeder"])).center())
    app.processEvents()
    print(f"shown_answer={store.thread(ids['Bird on the feeder'])[-1].text}")
    window.conversations.search.clear()
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                     pos=lst.visualItemRect(window.conversations.item_of(ids["Holiday notes"])).center())
    wait(app, lambda: controller.current_id == ids["Holiday notes"], what="the conversation again")
    print(f"draft_back={window.composer.text()!r}")
    photo = make_photo(work / "beach.jpg")
    drag(window, file_mime(photo), at(window, window.chat))
    print(f"dropped={','.join(d.path.name for d in window.composer.attachments())}")
    window.resize(1000, 700)
    settle(app, window)
    window.close()
    again, controller = build_window(store, start_engine=False)
    again.show()
    settle(app, again)
    print(f"restarted_size={again.width()}x{again.height()}")
    print(f"restarted_draft={again.composer.text()!r}|{','.join(d.path.name for d in again.composer.attachments())}",
          flush=True)
    again.activateWindow()
    wait(app, lambda: QApplication.activeWindow() is again, what="the restarted window's focus")
    QTest.keyClick(again, Qt.Key.Key_F2)  # rename the open conversation in place
    editor = again.conversations.list.findChild(QLineEdit, "renameEdit")
    QTest.keyClicks(editor, "Holiday: beaches")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    app.processEvents()
    print(f"renamed={store.conversation(ids['Holiday notes']).title}")
    for _ in range(3):
        QTest.keyClick(again, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    print(f"after_three_ctrl_n={len(store.conversations())} conversations")
    again.close()
    store.close()


def rect_in_list(window, lst, rect) -> str:
    top_left = lst.viewport().mapTo(window, rect.topLeft())
    return f"{top_left.x()},{top_left.y()},{rect.width()},{rect.height()}"


def sidebar_history(store) -> dict[str, int]:
    """Conversations over two months, one with two answers to the same question (the older one matches)."""
    from mimo_desktop.core.conversation import Role

    day = 86400
    history = [
        ("Trip to the coast: tide tables", 40, ["When is high tide at Brighton on Saturday?",
                                               "High tide is at **6:12** and again at 18:40."]),
        ("Sourdough that will not rise", 9, ["My starter smells of acetone, is it dead?",
                                             "Not dead, just hungry: feed it twice a day for three days."]),
        ("Rust borrow checker", 5, ["Why can I not borrow `self` mutably twice?",
                                    "Because two `&mut` to one value could race: split the struct."]),
        ("Lake photo: what time of day", 3, ["Is this photo taken in the morning?",
                                             "Probably morning: the shadows point west and there is mist."]),
        ("Bird on the feeder", 1, None),
        ("Holiday notes", 0, ["I will send you a photo, a clip and a voice memo from the trip.",
                              "Sure: attach them and ask your question, I will look at all three."]),
    ]
    ids = {}
    for title, days_ago, texts in history:
        conv = store.create_conversation(title)
        ids[title] = conv.id
        if texts is None:
            question = store.add_message(conv.id, Role.USER, "Which bird is on my feeder? It is small and brown.")
            store.add_message(conv.id, Role.ASSISTANT, "A house sparrow: the grey crown and the black bib.")
            store.add_message(conv.id, Role.ASSISTANT, "Or a dunnock?",
                              parent_id=question.id)
        else:
            for i, text in enumerate(texts):
                store.add_message(conv.id, Role.USER if i % 2 == 0 else Role.ASSISTANT, text)
        store._conn.execute("UPDATE conversations SET updated_at = updated_at - ? WHERE id = ?",
                            (days_ago * day, conv.id))
    return ids



# ---------------------------------------------------------------------- the conversation (chat view)
CHAT_ANSWER = (
    "## What the three have in common\n\nAll three were made **by the sea at dusk**:\n\n"
    "| file | what it shows | when |\n| --- | --- | --- |\n| lake.jpg | the bay under a clear sky | sunset |\n"
    "| street.mp4 | a car on the harbour road | just after |\n| memo.wav | you, noting the tide | 19:40 |\n\n"
    "> The memo says the tide turns at 19:52.\n\n"
    "```python\nhigh_tide = \"19:52\"\nprint(f\"back before {high_tide}\")\n```\n\n"
    "So: one evening, one place, three views of it."
)


def conversation_flow(app, work: Path, out: Path) -> None:
    """A sent photo, clip and memo shown as tiles; a streamed answer with thinking, a table, a quote and code;
    the actions of the answer under the pointer; then the photo opened by a click on its tile."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from xvfb_driver import ScreenshotEngine

    from mimo_desktop.app import build_window, save_screenshot
    from mimo_desktop.core.conversation import Role
    from mimo_desktop.core.store import Store
    from mimo_desktop.engine.types import Finished, TextDelta
    from mimo_desktop.engine.choice import EngineChoice
    from mimo_desktop.ui.chat.media_viewer import ImageViewer

    class ChatEngine(ScreenshotEngine):
        async def generate(self, request):
            import asyncio

            rid = request.request_id
            await asyncio.sleep(0.3)
            for word in "Three files from one evening: compare place, light and time.".split(" "):
                yield TextDelta(rid, word + " ", 1, reasoning=True)
                await asyncio.sleep(0.004)
            pieces = [CHAT_ANSWER[i:i + 5] for i in range(0, len(CHAT_ANSWER), 5)]
            for piece in pieces:
                yield TextDelta(rid, piece, 1)
                await asyncio.sleep(0.006)
            yield Finished(rid, "stop", 3120, len(pieces), None, None, 96, 78)

    media = [make_photo(work / "lake.jpg"), make_clip(work / "street.mp4"), make_recording(work / "memo.wav")]
    store = Store.open(work / "home")
    store.set_setting("theme", "light")
    store.create_conversation("Trip to the coast: tide tables")
    conv = store.create_conversation("Evening by the sea")
    stored = [store.add_attachment(m, k, tokens=t) for m, k, t in zip(media, ("image", "video", "audio"),
                                                                       (1014, 1530, 175), strict=True)]
    question = store.add_message(conv.id, Role.USER, QUESTION, attachments=stored)
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    controller.engine.start_with(EngineChoice("scripted", ChatEngine, "MiMo-V2.5"))
    wait(app, lambda: controller.bridge.state == "ready", what="the engine")
    controller.open_conversation(conv.id)
    controller.after_user_message(question)  # as Send does once the files are stored
    wait(app, lambda: not controller.streamer.busy and window.chat.streaming_message_id is None, what="the answer")
    chat = window.chat
    wait(app, lambda: chat.media.pending == 0, timeout_s=60, what="the tiles")
    answer = store.thread(conv.id)[-1]
    cursor = chat.document().find("three views")
    chat.setTextCursor(cursor)
    chat.ensureCursorVisible()
    pos = chat.cursorRect(cursor).center()
    cursor.clearSelection()
    chat.setTextCursor(cursor)
    QApplication.sendEvent(chat.viewport(), QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), QPointF(chat.viewport().mapToGlobal(pos)), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))  # the pointer over the answer
    chat.verticalScrollBar().setValue(0)  # the tiles and the start of the answer in view
    window.composer.edit.setFocus()
    settle(app, window)
    save_screenshot(app, window, out)
    bar = chat.actions_bar
    print(f"tiles_rect={rect_in(window, chat.viewport())}")
    print(f"actions={','.join(b.accessibleName() for b in bar.buttons.values())}|visible={bar.isVisible()}")
    print(f"answer_state={answer.state.value}")
    text = chat.plain_text()
    for line in ("lake.jpg · 1,014 tokens", "street.mp4 · 1,530 tokens", "memo.wav · 175 tokens", "▸ Thinking",
                 "What the three have in common", "The memo says the tide turns at 19:52."):
        print(f"shown={line}|{line in text}")
    from chat_helpers import click_link

    class Bot:  # click_link's qtbot: only its mouseClick is used
        @staticmethod
        def mouseClick(widget, button, pos):  # noqa: N802 (qtbot's name)
            QTest.mouseClick(widget, button, pos=pos)

    click_link(Bot, chat, f"mimo:media/{question.id}/0")
    wait(app, lambda: chat.findChild(ImageViewer) is not None and chat.findChild(ImageViewer).loaded,
         what="the viewer")
    viewer = chat.findChild(ImageViewer)
    settle(app, viewer)
    save_screenshot(app, viewer, out.with_name(out.stem + "-viewer.png"))
    print(f"viewer={viewer.windowTitle()}|{viewer.view.item.pixmap().width()}x{viewer.view.item.pixmap().height()}"
          f"|fitted={viewer.view.scale_factor < 1}", flush=True)
    viewer.close()
    window.close()
    controller.shutdown()
    store.close()


def answer_flow(app, work: Path, out: Path) -> None:
    """Send with the keyboard; the waiting line until the first token; thinking folded by a click while it
    streams; a 1 MiB unbroken line folded, "Show all" opening it; a web link asking before it opens."""
    import asyncio

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox
    from xvfb_driver import ScreenshotEngine

    from mimo_desktop.app import build_window, save_screenshot
    from mimo_desktop.core.store import Store
    from mimo_desktop.engine.types import Finished, TextDelta
    from mimo_desktop.engine.choice import EngineChoice
    from mimo_desktop.ui.chat.text_viewer import TextViewer

    go_on = threading.Event()

    class SlowEngine(ScreenshotEngine):
        async def generate(self, request):
            rid = request.request_id
            await asyncio.sleep(2.2)  # a long prefill: the waiting line counts the seconds
            for i in range(12):
                yield TextDelta(rid, f"weighing{i} ", 1, reasoning=True)
                await asyncio.sleep(0.02)
            while not go_on.is_set():  # thinking, until the flow has folded it
                await asyncio.sleep(0.02)
            yield TextDelta(rid, "Here is the file, as asked:\n\n", 1)
            for _ in range(256):
                yield TextDelta(rid, "QUJD" * 1024, 1024)
                await asyncio.sleep(0)
            yield TextDelta(rid, "\n\nSee [the spec](https://example.com/base64) for the alphabet.", 1)
            yield Finished(rid, "stop", 40, 270, None, None)

    store = Store.open(work / "home")
    store.set_setting("theme", "light")
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    controller.engine.start_with(EngineChoice("scripted", SlowEngine, "MiMo-V2.5"))
    wait(app, lambda: controller.bridge.state == "ready", what="the engine")
    chat = window.chat
    window.composer.edit.setFocus()
    QTest.keyClicks(window.composer.edit, "Encode the file as base64")
    QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait(app, lambda: "waiting for the model · 1 s" in chat.plain_text(), what="the waiting line")
    settle(app, window)
    save_screenshot(app, window, out)
    print(f"waiting={next(line for line in chat.plain_text().splitlines() if 'waiting' in line)}")
    wait(app, lambda: "weighing11" in chat.plain_text(), what="the thinking")
    print(f"waiting_gone={'waiting for the model' not in chat.plain_text()}")
    from chat_helpers import click_link

    class Bot:  # click_link's qtbot: only its mouseClick is used
        @staticmethod
        def mouseClick(widget, button, pos):  # noqa: N802 (qtbot's name)
            QTest.mouseClick(widget, button, pos=pos)

    answer_id = chat.streaming_message_id
    click_link(Bot, chat, f"mimo:thinking/{answer_id}")
    print(f"folded_while_thinking={'weighing5' not in chat.plain_text() and '▸ Thinking' in chat.plain_text()}")
    go_on.set()
    wait(app, lambda: not controller.streamer.busy and chat.streaming_message_id is None, what="the answer")
    text = chat.plain_text()
    print(f"answer_chars_on_screen={len(text)}")
    print(f"show_all={'Show all 1,048,' in text}")
    click_link(Bot, chat, f"mimo:show-all/{answer_id}")
    viewer = window.findChild(TextViewer)
    print(f"viewer_chars={len(viewer.view.toPlainText().replace(chr(10), ''))}")
    viewer.close()
    seen: list[str] = []

    def answer_question() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer_question)
            return
        seen.append(f"{box.text()} {box.informativeText()}")
        box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(50, answer_question)
    click_link(Bot, chat, "https://example.com/base64")
    print(f"link_question={seen[0] if seen else ''}", flush=True)
    window.close()
    controller.shutdown()
    store.close()


FLOWS = {"attachments": attachments_flow, "settings": settings_flow, "download": download_flow,
         "sidebar": sidebar_flow, "conversation": conversation_flow, "answer": answer_flow}


def main(flow: str, work: Path, out: Path) -> int:
    import keyring
    from memory_keyring import MemoryKeyring
    from PySide6.QtWidgets import QApplication

    keyring.set_keyring(MemoryKeyring())  # settings and the Hub token go through keyring: never the user's own
    app = QApplication(sys.argv[:1])
    work.mkdir(parents=True, exist_ok=True)
    FLOWS[flow](app, work, out)
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
