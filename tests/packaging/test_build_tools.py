"""The packaging helpers on small libraries compiled here (fast; the full package is test_deb.py's job)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import bundle_rules  # noqa: E402
import cuda_stubs  # noqa: E402
import debian_depends  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("cc") is None or shutil.which("readelf") is None,
                                reason="needs a C compiler and binutils")

REAL_SOURCE = r"""
#include <string.h>
int fooGetCount(int *n) { *n = 7; return 0; }
const char *fooGetErrorString(int e) { return "real"; }
int fooUnused(void) { return 1; }
int fooTable[4] = {1, 2, 3, 4};
"""
CONSUMER_SOURCE = r"""
extern int fooGetCount(int *n);
extern const char *fooGetErrorString(int e);
extern int fooTable[4];
int consumerCount(void) { int n = -1; int status = fooGetCount(&n); return status ? -status : n + fooTable[0]; }
const char *consumerMessage(void) { return fooGetErrorString(1); }
"""


def _cc(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(out), str(src), *flags], check=True)
    return out


@pytest.fixture
def real_and_consumer(tmp_path: Path) -> tuple[Path, Path]:
    real_dir, consumer_dir = tmp_path / "real", tmp_path / "consumer"
    real_dir.mkdir()
    consumer_dir.mkdir()
    (tmp_path / "foo.map").write_text("FOO_1.0 { global: foo*; local: *; };\n")
    real = _cc(real_dir, "libfoo.so.1", REAL_SOURCE, "-Wl,-soname,libfoo.so.1", f"-Wl,--version-script={tmp_path / 'foo.map'}")
    consumer = _cc(consumer_dir, "libconsumer.so", CONSUMER_SOURCE, str(real))
    return real, consumer


def test_stand_in_exports_what_consumers_import_with_versions_and_says_no_device(
        real_and_consumer: tuple[Path, Path], tmp_path: Path) -> None:
    real, consumer = real_and_consumer
    stub = cuda_stubs.build_stub(real, tmp_path / "stub" / "libfoo.so.1", cuda_stubs.imported_names([consumer]))

    exported = {(s.name, s.version) for s in cuda_stubs.exported_symbols(stub)}
    assert exported == {("fooGetCount", "FOO_1.0"), ("fooGetErrorString", "FOO_1.0"), ("fooTable", "FOO_1.0")}
    assert cuda_stubs.soname(stub) == "libfoo.so.1"
    assert stub.stat().st_size < 100_000

    # The consumer, linked against the real library, loads against the stand-in and gets "no device".
    ctypes.CDLL(str(stub), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(str(consumer))
    assert lib.consumerCount() == -cuda_stubs.NO_DEVICE_STATUS
    lib.consumerMessage.restype = ctypes.c_char_p
    assert lib.consumerMessage().decode() == cuda_stubs.MESSAGE


def test_stand_in_never_offers_cxx_runtime_names(tmp_path: Path) -> None:
    """NVIDIA's libraries export private copies of libstdc++ templates: a stand-in must not interpose them."""
    names = ["cudaMalloc", "cublasCreate_v2", "_ZNSt6vectorIiSaIiEE9push_backERKi", "_ZTISt9exception", "__cxa_throw"]
    declarations = "".join(f'extern void f{i}(void) __asm__("{n}");\n' for i, n in enumerate(names))
    calls = " ".join(f"f{i}();" for i in range(len(names)))
    consumer = _cc(tmp_path, "libuses.so", f"{declarations}void use(void) {{ {calls} }}\n")
    assert [n for n in names if n in cuda_stubs.imported_names([consumer])] == ["cudaMalloc", "cublasCreate_v2"]


def test_device_code_is_zeroed_only_where_the_shared_cuda_runtime_registers_it(tmp_path: Path) -> None:
    fake_cudart = _cc(tmp_path, "libcudart.so.13", "int cudaFree(void *p) { return 0; }\n", "-Wl,-soname,libcudart.so.13")
    kernel_source = ('__attribute__((section(".nv_fatbin"), used)) const unsigned char kernels[4096] = {[0 ... 4095] = 0xAB};\n'
                     "extern int cudaFree(void *); int run(void) { return cudaFree(0); }\n")
    with_runtime = _cc(tmp_path, "libkernels.so", kernel_source, str(fake_cudart))
    static_runtime = _cc(tmp_path, "libstatic.so", kernel_source.replace("cudaFree(0)", "0"))

    offset, size = cuda_stubs.device_code_range(with_runtime)
    assert size == 4096
    blanked = tmp_path / "out" / "libkernels.so"
    assert cuda_stubs.blank_device_code(with_runtime, blanked)
    before, after = with_runtime.read_bytes(), blanked.read_bytes()
    assert after[offset:offset + size] == bytes(size) and before[offset:offset + size] == b"\xab" * size
    assert after[:offset] == before[:offset] and after[offset + size:] == before[offset + size:]
    assert not cuda_stubs.blank_device_code(static_runtime, tmp_path / "out" / "libstatic.so")
    assert not (tmp_path / "out" / "libstatic.so").exists()


def test_binaries_are_sorted_into_kept_stubbed_system_and_dropped() -> None:
    sp = "/venv/lib/python3.11/site-packages"
    toc = [
        ("torch/lib/libtorch_cpu.so", f"{sp}/torch/lib/libtorch_cpu.so", "BINARY"),
        ("nvidia/cu13/lib/libcublasLt.so.13", f"{sp}/nvidia/cu13/lib/libcublasLt.so.13", "BINARY"),
        ("libavcodec.so.59", "/lib/x86_64-linux-gnu/libavcodec.so.59", "BINARY"),
        ("libxcb-cursor.so.0", "/usr/lib/x86_64-linux-gnu/libxcb-cursor.so.0", "BINARY"),
        ("torch/lib/libtorch_cuda_linalg.so", f"{sp}/torch/lib/libtorch_cuda_linalg.so", "BINARY"),
        ("torch/bin/ptxas", f"{sp}/torch/bin/ptxas", "BINARY"),
    ]
    groups = bundle_rules.split_binaries(toc)
    names = {group: [entry[0].rsplit("/", 1)[-1] for entry in entries] for group, entries in groups.items()}
    assert names == {"keep": ["libtorch_cpu.so"], "cuda": ["libcublasLt.so.13"],
                     "system": ["libavcodec.so.59", "libxcb-cursor.so.0"], "drop": ["libtorch_cuda_linalg.so", "ptxas"]}


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg")
def test_depends_names_the_fixed_list_then_the_packages_of_linked_system_libraries(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    _cc(bundle, "libuses_zlib.so", "extern const char *zlibVersion(void);\nconst char *v(void) { return zlibVersion(); }\n",
        "-l:libz.so.1")
    (tmp_path / "depends.txt").write_text("# comment\nlibpulse0\n")
    line, missing = debian_depends.depends_line(bundle, tmp_path / "depends.txt")
    packages = line.split(", ")
    assert packages[0].startswith("libc6 (>= ") and packages[1] == "libpulse0"
    assert "zlib1g" in packages and missing == []


def test_windows_and_macos_icons_are_made_from_the_svg(tmp_path: Path) -> None:
    from PIL import Image

    # In a child process: the renderer creates a QGuiApplication, which must not outlive into pytest-qt's tests.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, str(ROOT / "packaging/platform_icons.py"), str(tmp_path)], env=env,
                   check=True, capture_output=True, timeout=60)
    with Image.open(tmp_path / "mimo-desktop.ico") as ico:
        assert {(16, 16), (32, 32), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(tmp_path / "mimo-desktop.icns") as icns:
        assert icns.format == "ICNS" and icns.size[0] >= 256
        corner, centre = icns.convert("RGBA").getpixel((0, 0)), icns.convert("RGBA").getpixel((icns.size[0] // 2, 40))
    assert corner[3] == 0 and centre[3] == 255  # transparent outside the rounded tile, opaque on it
