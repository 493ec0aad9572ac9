"""The Debian package that `make package` builds: unpacked into a temporary root and used as installed.

One build per test session (~3-4 min on 2 cores, at a fast zstd level: the level changes the size, not the
contents). MIMO_TEST_DEB=path tests an existing .deb instead (CI may build it in an earlier step).
Needs dpkg-deb, readelf (binutils), cc (gcc) and the ffmpeg CLI; desktop-file-validate and appstreamcli are
used when installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mimo_desktop import __version__

# The first test also waits for the build (~3-4 min): more than the suite's 300 s default timeout allows.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import bundle_rules  # noqa: E402

FFMPEG_PACKAGES = ("libavutil57", "libavcodec59", "libavformat59", "libavdevice59", "libavfilter8",
                   "libswscale6", "libswresample4")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("MIMO_TEST_DEB")
    if given:
        return Path(given)
    missing = [tool for tool in ("dpkg-deb", "readelf", "cc") if shutil.which(tool) is None]
    assert not missing, f"building the package needs {missing} (apt install dpkg binutils gcc)"
    # A private build folder: a developer's `make package` (or another test run) in this checkout is untouched.
    work = tmp_path_factory.mktemp("package")
    env = {**os.environ, "PYTHON": sys.executable, "MIMO_DEB_ZSTD": "3",
           "MIMO_BUILD_DIR": str(work / "build"), "MIMO_DIST_DIR": str(work / "dist")}
    done = subprocess.run(["bash", "packaging/build_deb.sh"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"build_deb.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    path = work / "dist" / f"mimo-desktop_{__version__}_amd64.deb"
    assert path.is_file(), done.stdout[-2000:]
    shutil.rmtree(work / "build")  # 2 GB of intermediates; the .deb is what the tests look at
    return path


@pytest.fixture(scope="session")
def root(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("installed")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True, timeout=300)
    return target


def _control(deb: Path) -> dict[str, str]:
    info = subprocess.run(["dpkg-deb", "-I", str(deb)], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^ ([A-Za-z-]+): (.*)$", info, flags=re.M))


def _run_installed(root: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The package's /usr/bin/mimo-desktop, with a fresh home and nothing of the dev environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "QT_", "MIMO_"))}
    clean.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.run([str(root / "usr/bin/mimo-desktop"), *args], env=clean, capture_output=True,
                          text=True, timeout=240)


def test_package_metadata_names_version_architecture_and_system_libraries(deb: Path) -> None:
    assert deb.name == f"mimo-desktop_{__version__}_amd64.deb"
    fields = _control(deb)
    assert (fields["Package"], fields["Version"], fields["Architecture"]) == ("mimo-desktop", __version__, "amd64")
    depends = [d.split(" ")[0] for d in fields["Depends"].split(", ")]
    for package in (*FFMPEG_PACKAGES, "libpulse0", "libxcb-cursor0", "libxkbcommon-x11-0", "libc6"):
        assert package in depends, f"Depends lacks {package}: {fields['Depends']}"
    assert not [d for d in depends if "nvidia" in d or "cuda" in d], fields["Depends"]


def test_packaged_app_passes_its_self_test_offscreen(root: Path, tmp_path: Path) -> None:
    done = _run_installed(root, tmp_path, "--self-test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "self-test passed" in done.stdout
    for check in ("window shown", "conversation deleted", "import torch", "import torchcodec.decoders"):
        assert f"ok   {check}" in done.stdout, done.stdout


def test_packaged_app_reports_its_version(root: Path, tmp_path: Path) -> None:
    done = _run_installed(root, tmp_path, "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"mimo-desktop {__version__}"), done.stderr


def test_packaged_app_decodes_video_and_sound_like_the_source_tree(root: Path, tmp_path: Path) -> None:
    """torchcodec on Debian's FFmpeg and torch on the CPU, inside the bundle: same answer as from source."""
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(clip)], check=True, timeout=60)
    packaged = _run_installed(root, tmp_path, "inspect", str(clip), "--json")
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    source = subprocess.run([sys.executable, "-m", "mimo_desktop", "inspect", str(clip), "--json"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert source.returncode == 0, source.stderr
    result = json.loads(packaged.stdout)
    assert result["kind"] == "video" and result["error"] is None and result["audio_track_tokens"] > 0
    assert result == json.loads(source.stdout)


def test_bundle_holds_no_gpu_engine_and_no_cuda_libraries(root: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader

    internal = root / "opt/mimo-desktop/_internal"
    files = [p.relative_to(internal).as_posix() for p in internal.rglob("*")]
    archive = CArchiveReader(str(root / "opt/mimo-desktop/mimo-desktop"))
    pyz_name = next(name for name in archive.toc if name.endswith(".pyz"))
    modules = list(archive.open_embedded_archive(pyz_name).toc)
    assert "mimo_desktop.engine.remote" in modules and "torchcodec.decoders" in modules
    for package in bundle_rules.MUST_NOT_SHIP:
        assert not [m for m in modules if m == package or m.startswith(package + ".")], package
        assert not [f for f in files if f.split("/")[0] in (package, f"{package}.libs")], package
    cuda = [p for p in (internal / "nvidia").rglob("*") if p.is_file()]
    assert cuda and all(p.stat().st_size < 1_000_000 for p in cuda), "CUDA libraries must be stand-ins"


def test_desktop_entry_icons_and_appstream_metadata(root: Path) -> None:
    desktop = root / "usr/share/applications/mimo-desktop.desktop"
    entry = dict(line.split("=", 1) for line in desktop.read_text().splitlines() if "=" in line)
    assert (root / "usr/bin" / entry["Exec"].split()[0]).is_file()
    for size in ICON_SIZES:
        png = root / f"usr/share/icons/hicolor/{size}x{size}/apps/{entry['Icon']}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert (root / f"usr/share/icons/hicolor/scalable/apps/{entry['Icon']}.svg").is_file()
    metainfo = list((root / "usr/share/metainfo").glob("*.metainfo.xml"))
    assert len(metainfo) == 1 and "mimo-desktop.desktop" in metainfo[0].read_text()
    for tool, args in (("desktop-file-validate", [desktop]), ("appstreamcli", ["validate", "--no-net", metainfo[0]])):
        if shutil.which(tool):  # desktop-file-utils / appstream: validate when the machine has them
            done = subprocess.run([tool, *map(str, args)], capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr


def test_launcher_starts_a_gpu_environment_of_the_same_version_only(root: Path, tmp_path: Path) -> None:
    gpu_env = tmp_path / "data/mimo-desktop/gpu-env"
    (gpu_env / "bin").mkdir(parents=True)
    # Stands in for the ~5 GB vLLM environment mimo-desktop-gpu-setup makes: same entry point, same place.
    (gpu_env / "bin/mimo-desktop").write_text('#!/bin/sh\necho "gpu environment: $*"\n')
    (gpu_env / "bin/mimo-desktop").chmod(0o755)
    (gpu_env / "mimo-desktop-version").write_text(f"{__version__}\n")
    assert _run_installed(root, tmp_path, "--version").stdout == "gpu environment: --version\n"

    forced = _run_installed(root, tmp_path, "--version", MIMO_DESKTOP_BUNDLED="1")
    assert forced.stdout.strip() == f"mimo-desktop {__version__}"

    (gpu_env / "mimo-desktop-version").write_text("0.0.1\n")
    stale = _run_installed(root, tmp_path, "--version")
    assert stale.stdout.strip() == f"mimo-desktop {__version__}"
    assert "not for version" in stale.stderr and "mimo-desktop-gpu-setup" in stale.stderr


def test_gpu_setup_installs_the_packaged_app_with_the_gpu_extra(root: Path, tmp_path: Path) -> None:
    wheels = list((root / "opt/mimo-desktop/share").glob("mimo_desktop-*.whl"))
    assert [w.name for w in wheels] == [f"mimo_desktop-{__version__}-py3-none-any.whl"]
    with zipfile.ZipFile(wheels[0]) as wheel:
        metadata = wheel.read(f"mimo_desktop-{__version__}.dist-info/METADATA").decode()
        assert "mimo_desktop/__main__.py" in wheel.namelist()
    assert re.search(r"^Requires-Dist: vllm==0\.33\.0; extra == \"gpu\"$", metadata, flags=re.M), metadata

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "PYTHON": sys.executable}
    done = subprocess.run([str(root / "usr/bin/mimo-desktop-gpu-setup"), "--dry-run"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{wheels[0]}[gpu]" in done.stdout
    assert str(tmp_path / "data/mimo-desktop/gpu-env") in done.stdout
    assert not (tmp_path / "data/mimo-desktop").exists()
