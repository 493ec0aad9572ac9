"""A real MiMo Desktop process with a real window on an X server (Xvfb), and its screenshots.

Set MIMO_UPDATE_SCREENSHOTS=1 to refresh docs/screenshot-main.png and docs/screenshot-dark.png
(a streamed answer with its statistics, light and dark) for the README.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mimo_desktop.core.conversation import GenerationStats, Role
from mimo_desktop.core.store import Store

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xvfb


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is missing: the test command installs the xvfb package")
        pytest.skip("Xvfb not installed")
    for number in range(91, 120):
        if not Path(f"/tmp/.X{number}-lock").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def seed(home: Path) -> None:
    store = Store.open(home)
    store.create_conversation("Trip to the coast")
    conv = store.create_conversation("What is in this photo?")
    store.add_message(conv.id, Role.USER, "What kind of bird is this, and what is it eating?")
    answer = store.add_message(
        conv.id,
        Role.ASSISTANT,
        "It is a **European robin** (*Erithacus rubecula*) holding an earthworm.\n\n"
        "- orange-red breast and face\n- grey-brown back\n- it is standing on freshly dug soil\n\n"
        "```python\nbirds = {'robin': 'earthworm'}\n```",
    )
    store.update_message(answer.id, stats=GenerationStats(output_tokens=58, ttft_s=0.21, tokens_per_s=92.0))
    store.close()


def test_real_window_under_xvfb_shows_the_conversation(xvfb_display, tmp_path):
    from PIL import Image

    home = tmp_path / "home"
    seed(home)
    shot = tmp_path / "main.png"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", MIMO_DESKTOP_HOME=str(home))
    out = subprocess.run(
        [sys.executable, "-m", "mimo_desktop", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "heavy_modules=none" in out.stdout  # torch and vLLM stay off the start-up path
    image = Image.open(shot).convert("RGB")
    assert image.width >= 1000 and image.height >= 600
    # Content, not a blank frame: many colours (text anti-aliasing, Pygments colours, widgets) ...
    assert len(image.getcolors(maxcolors=1 << 20)) > 50
    # ... and the chat area (right of the list) has dark text pixels on a light background.
    chat = image.crop((image.width // 3, image.height // 8, image.width - 20, image.height // 2))
    dark = sum(1 for px in chat.get_flattened_data() if sum(px) < 200)
    assert dark > 500, f"only {dark} dark pixels in the chat area"


def chat_area(image):
    return image.crop((image.width // 3, image.height // 8, image.width - 20, image.height // 2))


@pytest.mark.slow
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_real_window_streams_an_answer_with_stats_under_xvfb(xvfb_display, tmp_path, theme):
    from PIL import Image

    shot = tmp_path / f"{theme}.png"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    driver = Path(__file__).with_name("xvfb_driver.py")
    out = subprocess.run([sys.executable, str(driver), str(tmp_path / "home"), str(shot), theme],
                         env=env, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "state=complete" in out.stdout
    assert "first token" in out.stdout and "tokens/s" in out.stdout and "MTP 78/96 accepted (81%)" in out.stdout
    assert "Ready: MiMo-V2.5 · 2 GPUs · TP 2 · MTP 1" in out.stdout
    image = Image.open(shot).convert("RGB")
    assert image.width >= 1000 and image.height >= 600
    assert len(image.getcolors(maxcolors=1 << 20)) > 50
    pixels = list(chat_area(image).get_flattened_data())
    dark = sum(1 for px in pixels if sum(px) < 200)
    light = sum(1 for px in pixels if sum(px) > 600)
    if theme == "light":
        assert light > 0.5 * len(pixels) and dark > 500  # dark text on a light page
    else:
        assert dark > 0.5 * len(pixels) and light > 300  # light text on a dark page
    if os.environ.get("MIMO_UPDATE_SCREENSHOTS"):
        name = "screenshot-main.png" if theme == "light" else "screenshot-dark.png"
        shutil.copyfile(shot, ROOT / "docs" / name)
