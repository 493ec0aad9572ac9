"""Stand-ins for the NVIDIA CUDA libraries that PyPI's torch 2.11 links against, for the CPU-only bundle.

Why: PyPI's torch, torchaudio and torchcodec wheels for Linux are CUDA builds. Their shared objects name
libcudart, libcublasLt, libcufft, libnccl, ... as DT_NEEDED, so the dynamic loader refuses to load torch
without them, even on a machine that never touches a GPU. Those libraries are ~1.9 GB. The CPU-only wheels
(download.pytorch.org/whl/cpu) would avoid this, but that index cannot be reached from this project's build
machines, and PyPI's torchcodec/torchaudio wheels are CUDA-linked too.

So the bundle ships, for each NVIDIA library, a tiny shared object with the same SONAME and the same exported
symbol names and versions. Loading succeeds; nothing in the CPU path calls them. If something does call one, it
gets the CUDA "no device" status (100 == cudaErrorNoDevice == CUDA_ERROR_NO_DEVICE), so torch concludes that
there is no GPU (`torch.cuda.is_available()` is False) exactly as on a machine without a driver; functions that
return an error *string* get a readable one instead. GPU users run the embedded engine from a real environment
with the real libraries (docs/packaging.md, "GPU engine").

A stand-in exports only the names that the bundled libraries actually import from it (and never C++ standard
library or C runtime names): the real libraries also export private copies of libstdc++ templates, and a
stand-in offering those would interpose on libstdc++ for everyone (seen: a crash in libc10's start-up).

Usage (build time, called by packaging/mimo-desktop.spec):
    build_stub(real_library, output_path, imported_names(consumer_libraries)).
Needs binutils' readelf and a C compiler driver (gcc/cc) that can assemble and link.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

NO_DEVICE_STATUS = 100
MESSAGE = "CUDA is not part of MiMo Desktop's CPU bundle (this library is a stand-in)"
# Functions that return `const char *` rather than a status code.
_RETURNS_STRING = re.compile(r"(Error|Status)(String|Name)$|^ncclGetLastError$")


class StubBuildError(RuntimeError):
    """A stand-in library could not be generated (missing tool, unreadable library)."""


@dataclass(frozen=True)
class ExportedSymbol:
    name: str
    kind: str  # FUNC, OBJECT or TLS
    size: int
    version: str  # "" when unversioned
    default: bool  # name@@VERSION (default) rather than name@VERSION (older, hidden)


def exported_symbols(library: Path) -> list[ExportedSymbol]:
    """Defined dynamic symbols of `library`, read with `readelf --dyn-syms`."""
    out = _run(["readelf", "-W", "--dyn-syms", str(library)])
    symbols: dict[tuple[str, str], ExportedSymbol] = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 8 or not fields[0].endswith(":") or fields[6] == "UND":
            continue
        kind, bind, full_name = fields[3], fields[4], fields[7]
        if bind not in ("GLOBAL", "WEAK") or kind not in ("FUNC", "IFUNC", "OBJECT", "TLS", "NOTYPE"):
            continue
        name, sep, version = full_name.partition("@")
        default = version.startswith("@")
        version = version.lstrip("@")
        if not name or name == version or (kind == "OBJECT" and fields[6] == "ABS"):
            continue  # version-definition markers, not real symbols
        kind = {"IFUNC": "FUNC", "NOTYPE": "FUNC"}.get(kind, kind)
        size = int(fields[2], 0) if fields[2].isdigit() or fields[2].startswith("0x") else 0
        symbols[(name, version)] = ExportedSymbol(name, kind, size, version, default or not sep)
    return list(symbols.values())


# Runtime names a stand-in must never define, whoever imports them.
_RUNTIME_NAME = re.compile(r"^(_ZN?K?St|_ZNSs|_ZNKSs|_ZT[VISTh]St|_ZTv|__cxa_|__gxx_|_Unwind_|__gcc_|_init$|_fini$)")


def imported_names(consumers: list[Path]) -> set[str]:
    """Names that `consumers` leave undefined (UND) and expect some other library to provide."""
    names: set[str] = set()
    for library in consumers:
        out = _run(["readelf", "-W", "--dyn-syms", str(library)])
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 8 and fields[0].endswith(":") and fields[6] == "UND":
                names.add(fields[7].split("@")[0])
    return {n for n in names if n and not _RUNTIME_NAME.match(n)}


def soname(library: Path) -> str:
    out = _run(["readelf", "-W", "-d", str(library)])
    match = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return match.group(1) if match else library.name


def assembly_for(symbols: list[ExportedSymbol]) -> str:
    """GNU assembler source defining every symbol: functions alias one of two tiny bodies, data is zeros."""
    lines = [
        ".text",
        "__mimo_stub_status:",
        f"    movl ${NO_DEVICE_STATUS}, %eax",
        "    ret",
        "__mimo_stub_message:",
        "    leaq __mimo_stub_text(%rip), %rax",
        "    ret",
        '.section .rodata',
        "__mimo_stub_text:",
        f'    .asciz "{MESSAGE}"',
    ]
    for index, sym in enumerate(symbols):
        local = f"__mimo_sym_{index}"
        if sym.kind == "FUNC":
            body = "__mimo_stub_message" if _RETURNS_STRING.search(sym.name) else "__mimo_stub_status"
            lines += [".text", f".globl {local}", f".type {local}, @function", f".set {local}, {body}"]
        else:
            section = '.section .tbss,"awT",@nobits' if sym.kind == "TLS" else ".data"
            kind = "@tls_object" if sym.kind == "TLS" else "@object"
            size = max(sym.size, 8)
            lines += [section, ".balign 16", f".globl {local}", f".type {local}, {kind}", f".size {local}, {size}",
                      f"{local}:", f"    .zero {size}"]
        if sym.version:
            at = "@@" if sym.default else "@"
            lines.append(f".symver {local}, {sym.name}{at}{sym.version}")
        else:
            lines += [f".globl {sym.name}", f".set {sym.name}, {local}"]
    lines.append('.section .note.GNU-stack,"",@progbits')
    return "\n".join(lines) + "\n"


def version_script_for(symbols: list[ExportedSymbol]) -> str:
    """One version node per version name, so `name@@VERSION` references in torch resolve."""
    versions = sorted({s.version for s in symbols if s.version})
    if not versions:
        return "{ global: *; local: __mimo_*; };\n"
    unversioned = "".join(f" {s.name};" for s in symbols if not s.version)
    nodes = [f"{v} {{ }};" for v in versions[:-1]]
    # The __mimo_* helpers stay local; unversioned names (rare in a versioned library) join the last node.
    global_part = f" global:{unversioned}" if unversioned else ""
    nodes.append(f"{versions[-1]} {{{global_part} local: __mimo_*; }};")
    return "\n".join(nodes) + "\n"


def build_stub(real_library: Path, output: Path, wanted: set[str]) -> Path:
    """Write a stand-in for `real_library` at `output` exporting the names in `wanted` it defines."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None or shutil.which("readelf") is None:
        raise StubBuildError("building the CUDA stand-ins needs a C compiler (gcc) and binutils (readelf)")
    symbols = [s for s in exported_symbols(real_library) if s.name in wanted]
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mimo-stub-") as tmp:
        source, script = Path(tmp, "stub.S"), Path(tmp, "stub.map")
        source.write_text(assembly_for(symbols))
        script.write_text(version_script_for(symbols))
        _run([compiler, "-shared", "-nostdlib", "-o", str(output), str(source),
              f"-Wl,-soname,{soname(real_library)}", f"-Wl,--version-script={script}"])
    return output


def device_code_range(library: Path) -> tuple[int, int] | None:
    """(file offset, size) of the library's CUDA device code (the `.nv_fatbin` section), if it has any."""
    out = _run(["readelf", "-W", "-S", str(library)])
    match = re.search(r"\]\s+\.nv_fatbin\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", out)
    return (int(match.group(1), 16), int(match.group(2), 16)) if match else None


def blank_device_code(library: Path, output: Path) -> bool:
    """Copy `library` to `output` with its CUDA device code zeroed; False (and no copy) if it has none.

    The GPU kernels in libtorch_cuda.so (~300 MB of its 456 MB) barely compress. The stand-in libcudart
    ignores them (the CPU bundle registers no kernels), so zeros in their place keep the library's layout
    and every address intact while the package shrinks by ~200 MB.

    Only for libraries that register their kernels through the shared libcudart (which the bundle stubs out);
    one with CUDA's runtime linked in statically (libnvjpeg) keeps its kernels untouched.
    """
    found = device_code_range(library)
    if found is None or "libcudart.so" not in _run(["readelf", "-W", "-d", str(library)]):
        return False
    offset, size = found
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(library, output)
    chunk = bytes(1 << 20)
    with output.open("r+b") as handle:
        handle.seek(offset)
        for start in range(0, size, len(chunk)):
            handle.write(chunk[: min(len(chunk), size - start)])
    return True


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise StubBuildError(f"cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        raise StubBuildError(f"{' '.join(command[:2])} ... failed: {done.stderr.strip()[:500]}")
    return done.stdout


if __name__ == "__main__":  # python packaging/cuda_stubs.py REAL_LIB OUT_LIB CONSUMER...: build one by hand
    import sys

    print(build_stub(Path(sys.argv[1]), Path(sys.argv[2]), imported_names([Path(p) for p in sys.argv[3:]])))
