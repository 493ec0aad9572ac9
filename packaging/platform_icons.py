"""Windows .ico and macOS .icns from resources/mimo-desktop.svg (rendered by render_icons.py, packed by Pillow).

    python packaging/platform_icons.py build/icons   ->  build/icons/mimo-desktop.ico, build/icons/mimo-desktop.icns

Runs anywhere (the Windows and macOS specs need its output; it is exercised on Linux by tests/packaging).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_icons import render  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def make_icons(out_dir: Path) -> tuple[Path, Path]:
    pngs = render(ROOT / "resources" / "mimo-desktop.svg", out_dir / "png")
    largest = Image.open(max(pngs, key=lambda p: int(p.parts[-3].split("x")[0]))).convert("RGBA")
    ico, icns = out_dir / "mimo-desktop.ico", out_dir / "mimo-desktop.icns"
    largest.save(ico, sizes=[(s, s) for s in ICO_SIZES])
    largest.save(icns)  # Pillow writes the standard icns sizes from the 512 px image
    return ico, icns


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/platform_icons.py OUT_DIR")
    for path in make_icons(Path(sys.argv[1])):
        print(path)
