"""Run the real window on an X server, stream one answer into it, save a screenshot.

    python tests/ui/xvfb_driver.py HOME OUT.png light|dark

The engine is scripted (no GPU here) behind the real EngineHost; everything else is the app.
Prints ``state=<answer state> stats=<footer text>`` for the test to check.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mimo_desktop.app import build_window, save_screenshot
from mimo_desktop.core.conversation import Role
from mimo_desktop.core.store import Store
from mimo_desktop.engine.types import EngineInfo, EngineStats, Finished, TextDelta
from mimo_desktop.engine.choice import EngineChoice

QUESTION = "What kind of bird is this, and what is it eating?"
THINKING = "The photo shows a small bird with an orange-red breast on dug soil, holding a worm. "
ANSWER = (
    "It is a **European robin** (*Erithacus rubecula*) holding an **earthworm**.\n\n"
    "- orange-red breast and face, grey-brown back\n"
    "- it is standing on freshly dug soil, where worms come up\n\n"
    "To log the sighting:\n\n"
    "```python\nsightings = {'robin': 'earthworm'}\nprint(f\"{len(sightings)} bird seen\")\n```\n\n"
    "Robins often follow gardeners for exactly this reason."
)


class ScreenshotEngine:
    async def start(self, on_stage, on_stats) -> EngineInfo:
        on_stage("loading weights")
        on_stats(EngineStats(generation_tokens_per_s=118.0, mtp_acceptance_rate=0.81))
        return EngineInfo(name="MiMo-V2.5", gpus=2, tensor_parallel=2, mtp_tokens=1, max_context=32768)

    async def generate(self, request):
        rid = request.request_id
        await asyncio.sleep(0.3)  # prefill: the first token comes after the prompt is read
        for word in THINKING.split(" "):
            yield TextDelta(rid, word + " ", 1, reasoning=True)
            await asyncio.sleep(0.004)
        pieces = [ANSWER[i:i + 4] for i in range(0, len(ANSWER), 4)]
        for piece in pieces:
            yield TextDelta(rid, piece, 1)
            await asyncio.sleep(0.008)
        yield Finished(rid, "stop", 1312, len(pieces), None, None, 96, 78)

    async def abort(self, request_id):
        pass

    async def shutdown(self):
        pass


def seed(store: Store) -> None:
    older = store.create_conversation("Trip to the coast: tide tables")
    store.add_message(older.id, Role.USER, "When is low tide at Saint-Malo on Saturday?")
    store.create_conversation("Transcribe the voice memo")


def wait(app: QApplication, done, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.005)


def main(home: Path, out: Path, theme: str) -> int:
    app = QApplication(sys.argv[:1])
    store = Store.open(home)
    seed(store)
    store.set_setting("theme", theme)
    window, controller = build_window(store, start_engine=False)
    window.resize(1180, 760)
    window.show()
    controller.engine.start_with(EngineChoice("scripted", ScreenshotEngine, "MiMo-V2.5"))
    wait(app, lambda: controller.bridge.state == "ready")
    window.new_action.trigger()
    QTest.keyClicks(window.composer.edit, QUESTION)
    QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait(app, lambda: controller.streamer.busy)
    wait(app, lambda: not controller.streamer.busy and window.chat.streaming_message_id is None)
    window.composer.edit.setFocus()
    QTest.keyClicks(window.composer.edit, "Is it a male or a female?")
    wait(app, lambda: window.windowHandle().isExposed())
    for _ in range(20):  # let the last paints reach the X server
        app.processEvents()
        time.sleep(0.01)
    save_screenshot(app, window, out)
    [conv] = [c for c in store.conversations() if c.title.startswith("What kind")]
    answer = store.thread(conv.id)[-1]
    footer = next(line for line in window.chat.plain_text().splitlines() if "tokens/s" in line)
    print(f"state={answer.state.value} status={window.engine_status.text()!r} stats={footer!r}", flush=True)
    window.close()
    controller.shutdown()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
