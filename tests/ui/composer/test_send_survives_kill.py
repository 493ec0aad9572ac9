"""Send saves the question before copying its attachment, so a kill during the copy loses nothing typed.

A child process runs the real window and controller on a real store; the test kills it (SIGKILL)
while the 400 MB attachment is being copied into the store in the background, then opens the store
as the next start does: the question is there, the half-written copy is removed, and the copy is
finished from the original file.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mimo_desktop.core.store import Store

CHILD = r"""
import hashlib, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from mimo_desktop.app import build_window
from mimo_desktop.core.store import Store
from mimo_desktop.media.prepared import PreparedMedia
from mimo_desktop.ui.composer.attachments import DraftAttachment

home, clip, sha = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
app = QApplication([])
store = Store.open(home)
window, controller = build_window(store, start_engine=False)
window.show()
# what the composer's preparation hands over (its hash included); the file itself is not decoded here
item = PreparedMedia(kind="video", tokens=1234, vllm_data=None, openai_part={}, source=clip, sha256=sha,
                     details={"bytes": clip.stat().st_size})
draft = DraftAttachment(path=clip, kind="video", prepared=item)
window.composer.edit.setPlainText("what happens in this long clip?")
controller.send("what happens in this long clip?", [draft])
print("sent", flush=True)
app.exec()
"""


@pytest.mark.timeout(180)
def test_a_kill_during_the_attachment_copy_keeps_the_question(tmp_path):
    home, clip = tmp_path / "home", tmp_path / "long clip.mp4"
    block = os.urandom(1 << 20)
    with clip.open("wb") as f:
        for i in range(400):
            f.write(block[i:] + block[:i])
    with clip.open("rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIMO_DESKTOP_HOME": str(home),
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(clip), sha], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    attachments = home / "attachments"
    try:
        deadline = time.monotonic() + 120
        while not list(attachments.glob(".incoming-*")):  # the background copy has begun
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the copy never started"
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    half_written = list(attachments.glob(".incoming-*"))
    assert half_written and not (attachments / sha[:2] / sha).exists()  # killed in the middle of the copy

    store = Store.open(home)  # the next start
    try:
        [conv] = store.conversations()
        [question] = store.thread(conv.id)
        assert question.text == "what happens in this long clip?"
        assert [(a.sha256, a.name, a.tokens) for a in question.attachments] == [(sha, "long clip.mp4", 1234)]
        assert store.blobs.recover() == [sha]
        assert not list(attachments.glob(".incoming-*"))  # the leftover is gone
        store.blobs.complete(sha)
        assert store.blobs.recover() == []
        with store.attachment_path(question.attachments[0]).open("rb") as f:
            assert hashlib.file_digest(f, "sha256").hexdigest() == sha
    finally:
        store.close()


def test_the_app_start_removes_half_written_copies_and_finishes_interrupted_ones(qtbot, tmp_path, no_thread_leaks):
    from mimo_desktop.app import build_window

    home, clip = tmp_path / "home", tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(3 << 20))
    with clip.open("rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    store = Store.open(home)
    store.blobs.reserve(clip, sha)  # the question was saved, then the app died before the copy
    leftover = store.blobs.root / ".incoming-abc123"
    leftover.write_bytes(b"x" * 1000)

    window, controller = build_window(store, start_engine=False)
    qtbot.addWidget(window)
    try:
        assert not leftover.exists()
        qtbot.waitUntil(lambda: store.blobs.has(sha), timeout=10_000)
        assert store.blobs.path_for(sha).read_bytes() == clip.read_bytes()
        qtbot.waitUntil(lambda: not list((store.blobs.root / ".pending").glob("*.json")), timeout=10_000)
    finally:
        controller.shutdown()
        store.close()


def _sent_file(path: Path):
    """What the composer's preparation hands over for ``path`` (a picture, so nothing is decoded here)."""
    from PIL import Image

    from mimo_desktop.media.prepared import PreparedMedia
    from mimo_desktop.ui.composer.attachments import DraftAttachment

    with path.open("rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    item = PreparedMedia(kind="image", tokens=10, vllm_data=Image.new("RGB", (8, 8)), openai_part={},
                         source=path, sha256=sha, details={"bytes": path.stat().st_size})
    return DraftAttachment(path=path, kind="image", prepared=item), sha


def test_quitting_right_after_send_still_saves_a_pasted_picture_queued_behind_a_big_copy(
        qtbot, tmp_path, no_thread_leaks):
    from PIL import Image

    from mimo_desktop.app import build_window

    home, big = tmp_path / "home", tmp_path / "big scan.png"
    block = os.urandom(1 << 20)
    with big.open("wb") as f:
        for i in range(150):
            f.write(block[i:] + block[:i])
    store = Store.open(home)
    window, controller = build_window(store, start_engine=False)
    qtbot.addWidget(window)
    pasted = window.composer.scratch_path("pasted", "png")  # the composer's scratch folder, deleted at quitting
    Image.new("RGB", (40, 30), (10, 200, 30)).save(pasted)
    (big_draft, big_sha), (pasted_draft, pasted_sha) = _sent_file(big), _sent_file(pasted)
    try:
        controller.send("these two", [big_draft, pasted_draft])
        assert not store.blobs.has(pasted_sha)  # still queued behind the big copy
        controller.shutdown()  # the user quits at once
        assert not pasted.exists()  # the scratch folder is gone...
        assert store.blobs.has(big_sha) and store.blobs.has(pasted_sha)  # ...but both copies were finished first
        [conv] = store.conversations()
        [question] = store.thread(conv.id)
        assert all(store.attachment_path(a).is_file() for a in question.attachments)
        assert store.blobs.recover() == []
    finally:
        controller.shutdown()
        store.close()
