"""The README's flows in a real window on an X server (Xvfb): attachments in the composer, the settings dialog's
model-folder check, the model download dialog mid-download, the sidebar. tests/ui/xvfb_flows.py drives each
one in its own process; these tests check what it printed and what the screenshot shows.

Set MIMO_UPDATE_SCREENSHOTS=1 to refresh docs/screenshot-attachments.png, docs/screenshot-settings.png,
docs/screenshot-download.png and docs/screenshot-sidebar.png, docs/screenshot-conversation(-viewer).png for the
README.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from test_real_window_xvfb import xvfb_display  # noqa: F401 (the fixture: an Xvfb of our own per test)

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("xvfb_flows.py")

pytestmark = pytest.mark.xvfb


@pytest.fixture
def work_dir():
    """A short folder name: the model folder's path is on screen in the settings and download dialogs."""
    with tempfile.TemporaryDirectory(prefix="mimo-") as folder:
        yield Path(folder)


def run_flow(flow: str, display: str, work: Path) -> tuple[dict[str, list[str]], Image.Image]:
    """Run one flow; its ``key=value`` lines (a key may repeat) and its screenshot."""
    shot = work / f"{flow}.png"
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    out = subprocess.run([sys.executable, str(DRIVER), flow, str(work), str(shot)],
                         env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    printed: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            printed.setdefault(key, []).append(value)
    if os.environ.get("MIMO_UPDATE_SCREENSHOTS"):
        shutil.copyfile(shot, ROOT / "docs" / f"screenshot-{flow}.png")
        extra = shot.with_name(f"{flow}-viewer.png")
        if extra.exists():
            shutil.copyfile(extra, ROOT / "docs" / f"screenshot-{flow}-viewer.png")
    return printed, Image.open(shot).convert("RGB")


def colours(image) -> int:
    return len(image.getcolors(maxcolors=1 << 22))


def count(image, test) -> int:
    return sum(1 for px in image.get_flattened_data() if test(px))


def dark(px) -> bool:
    return sum(px) < 200


def text_ink(px) -> bool:
    """Black text with its anti-aliased edges; lighter than the grey placeholder text."""
    return sum(px) < 300 and max(px) - min(px) < 30


def region(image, rect: str, inset: int = 0):
    """The part of the screenshot a widget covers; rect as the driver prints it: x,y,w,h."""
    x, y, w, h = map(int, rect.split(","))
    return image.crop((x + inset, y + inset, x + w - inset, y + h - inset))


def saturated(px) -> bool:
    """Colour, as in a photo or a progress bar, rather than text or widget greys."""
    return max(px) - min(px) > 80


def tokens(text: str) -> int:
    return int(re.search(r"([\d,]+) tokens", text).group(1).replace(",", ""))


def test_composer_with_an_image_a_video_and_a_recording_shows_each_cost(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("attachments", xvfb_display, work_dir)

    assert printed["kinds"] == ["image,video,audio"]
    chips = {name: (detail, pixmap) for name, detail, pixmap in (c.split("|") for c in printed["chip"])}
    assert set(chips) == {"lake.jpg", "street.mp4", "memo.wav"}
    assert all(pixmap == "pixmap=True" for _, pixmap in chips.values())  # thumbnail, poster frame, waveform
    assert re.fullmatch(r"≈ [\d,]+ tokens", chips["lake.jpg"][0])  # a picture has no duration
    assert re.fullmatch(r"0:04 · with sound · ≈ [\d,]+ tokens", chips["street.mp4"][0])
    assert re.fullmatch(r"0:07 · ≈ [\d,]+ tokens", chips["memo.wav"][0])
    costs = {name: tokens(detail) for name, (detail, _) in chips.items()}
    assert costs["lake.jpg"] > 500 and costs["street.mp4"] > 100 and costs["memo.wav"] > 10
    [meter] = printed["meter"]
    assert meter.startswith("Context: ≈ ") and " of 32,768 tokens" in meter
    assert f"attachments {sum(costs.values()):,})" in meter  # the meter adds up what the chips say
    assert printed["send_enabled"] == ["True"]

    assert image.width >= 1000 and image.height >= 600 and colours(image) > 200
    strip, edit = region(image, printed["strip_rect"][0]), region(image, printed["edit_rect"][0], inset=3)
    assert count(strip, saturated) > 3000, "the chips' thumbnail and poster frame are not on screen"
    assert count(strip, text_ink) > 300, "the chips' names and costs are not on screen"
    assert count(edit, text_ink) > 300, "no typed question in the composer"  # the grey placeholder is lighter


def test_settings_dialog_checks_a_mimo_omni_model_folder(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("settings", xvfb_display, work_dir)

    assert printed["engine"] == ["Embedded vLLM (GPUs in this computer)"]
    assert printed["folder"] == [str(work_dir / "models" / "MiMo-V2-Omni-tiny")]
    report = "\n".join(printed["report"])
    assert "MiMo-V2 Omni (text, images, video, audio)" in report
    assert "Weights: 3 of 3 shards complete" in report
    assert "Ready: the model can start. Works: chat, images, video, audio input, MTP speculative decoding." in report
    assert "Fits on 2 × NVIDIA H100 80GB HBM3 (80.0 GiB each) at TP 2" in report
    assert printed["save_enabled"] == ["True"]

    assert image.width >= 600 and image.height >= 450 and colours(image) > 50
    upper = image.crop((0, 0, image.width, image.height // 2))  # the folder and its check report
    assert count(upper, dark) > 2000, "the check report is not on screen"


def test_download_dialog_mid_download_from_the_loopback_hub(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("download", xvfb_display, work_dir)

    assert printed["status"] == ["Downloading…"]
    assert printed["done_files"] == ["10 of 11"]
    assert re.fullmatch(r"60% \([\d.]+ KiB\)", printed["shard"][0])
    assert 0 < int(printed["total"][0]) < 1000
    assert "files 10/11" in printed["speed"][0] and " of 3.6 MiB" in printed["speed"][0]
    assert printed["threads_left"] == [""]  # closing the dialog mid-file stopped the download

    assert image.width >= 600 and image.height >= 450 and colours(image) > 50
    assert count(image, saturated) > 3000, "no progress bar on screen"
    assert count(image.crop((0, 0, image.width, image.height // 2)), dark) > 2000, "no file list on screen"


def test_sidebar_dates_previews_hover_search_drafts_drop_and_window_size(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("sidebar", xvfb_display, work_dir)

    headings = printed["headings"][0].split("|")
    assert headings[:3] == ["Today", "Yesterday", "Previous 7 days"] and len(headings) == 5  # then two months
    assert printed["titles"][0].split("|")[:2] == ["Holiday notes", "Bird on the feeder"]
    assert printed["hscroll"] == ["False"]
    assert printed["drafts"] == ["||Could it be sunset instead?|||"]  # the unsent question, marked in its row
    assert printed["draft_elsewhere"] == ["''"]  # the draft stays with its own conversation
    assert printed["snippet"] == ["A house [sparrow]: the grey crown and the black bib."]
    assert printed["shown_answer"] == ["A house sparrow: the grey crown and the black bib."]  # the matching branch
    assert printed["draft_back"] == ["'And which beach had the fewest people?'"]
    assert printed["dropped"] == ["beach.jpg"]  # dropped on the chat view, attached to the message
    assert printed["restarted_size"] == ["1000x700"]
    assert printed["restarted_draft"] == ["'And which beach had the fewest people?'|beach.jpg"]
    assert printed["renamed"] == ["Holiday: beaches"]  # F2, typed, Enter
    assert printed["after_three_ctrl_n"] == ["7 conversations"]  # six, plus one blank one reused

    assert image.width >= 1000 and image.height >= 600
    sidebar = region(image, printed["sidebar_rect"][0])
    assert count(sidebar, text_ink) > 3000, "no titles and previews in the sidebar"
    x, y, w, h = map(int, printed["hovered_rect"][0].split(","))
    buttons = (x + w - 52, y, x + w, y + h)  # the rename and delete buttons at the row's end
    unhovered = Image.open(work_dir / "unhovered.png").convert("RGB")  # the pointer over the chat instead

    def ink(px):
        return sum(px) < 550  # the buttons' grey glyphs on the white list

    shown, gone = count(image.crop(buttons), ink), count(unhovered.crop(buttons), ink)
    assert shown > gone + 15, f"no hover buttons on the row under the pointer ({shown} vs {gone} pixels)"


def test_the_conversation_shows_what_was_sent_and_opens_it(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("conversation", xvfb_display, work_dir)

    assert printed["answer_state"] == ["complete"]
    shown = dict(line.split("|") for line in printed["shown"])
    assert all(v == "True" for v in shown.values()), shown
    assert printed["actions"] == ["Copy message,Regenerate answer|visible=True"]
    assert printed["viewer"] == ["lake.jpg|1280x853|fitted=True"]
    chat = region(image, printed["tiles_rect"][0])
    tiles = chat.crop((0, 0, chat.width, chat.height // 3))  # the sent message's tiles at the top
    assert count(tiles, saturated) > 5000, "the photo and the clip's poster are not on screen"
    viewer = Image.open(work_dir / "conversation-viewer.png").convert("RGB")
    assert count(viewer, saturated) > 0.3 * viewer.width * viewer.height * 0.5, "the photo is not in the viewer"


def test_an_answer_says_what_it_waits_for_folds_its_thinking_and_a_mebibyte_line(xvfb_display, work_dir):  # noqa: F811
    printed, image = run_flow("answer", xvfb_display, work_dir)

    assert re.fullmatch(r"[◐◓◑◒] waiting for the model · [12] s", printed["waiting"][0])
    assert printed["waiting_gone"] == ["True"]
    assert printed["folded_while_thinking"] == ["True"]
    assert int(printed["answer_chars_on_screen"][0]) < 10_000 and printed["show_all"] == ["True"]
    assert int(printed["viewer_chars"][0]) > 1024 * 1024
    assert printed["link_question"] == ["Open this address in your browser? https://example.com/base64"]
    assert image.width >= 1000 and count(image, text_ink) > 300
