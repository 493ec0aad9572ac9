"""The .deb's Depends: the fixed list in packaging/linux/depends.txt plus the Debian package of every system
library that a bundled binary links against directly (what dpkg-shlibdeps would find, without its need for
a debian/ source tree).

    python packaging/debian_depends.py BUNDLE_DIR packaging/linux/depends.txt   ->  "libc6 (>= 2.36), libavutil57, ..."

Libraries that the bundle needs but this machine lacks (torchcodec's builds for other FFmpeg versions, Qt's
optional GTK theme plugin) are skipped: the app works without them. They are listed on stderr.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# Loaded by the kernel / the C library itself: covered by libc6.
_IMPLICIT = re.compile(r"^(ld-linux.*|linux-vdso.*)$")


class DependsError(RuntimeError):
    """The Depends line could not be worked out (a tool is missing, a library has no package)."""


def needed_sonames(bundle: Path) -> set[str]:
    """DT_NEEDED entries of every ELF file in the bundle, minus those the bundle provides itself."""
    provided = {p.name for p in bundle.rglob("*")}
    needed: set[str] = set()
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink() and _is_elf(path):
            needed.update(_needed(path))
    return {n for n in needed - provided if not _IMPLICIT.match(n)}


# The loader's default directories: also searched by file name, as the loader does (Debian's libbz2.so.1 is
# such a file: a symlink that ldconfig's cache does not list because the library's SONAME is libbz2.so.1.0).
_LIBRARY_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib")


def system_paths(sonames: set[str]) -> tuple[dict[str, str], list[str]]:
    """Where the loader finds each soname (ldconfig's cache, then its default directories); and the rest."""
    ldconfig = "/sbin/ldconfig" if Path("/sbin/ldconfig").exists() else "/usr/sbin/ldconfig"
    found: dict[str, str] = {}
    for line in _run([ldconfig, "-p"]).splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if match and "x86-64" in match.group(2) and match.group(1) in sonames:
            found.setdefault(match.group(1), match.group(3))
    for soname in sonames - found.keys():
        hits = [f"{d}/{soname}" for d in _LIBRARY_DIRS if Path(d, soname).exists()]
        if hits:
            found[soname] = hits[0]
    return found, sorted(sonames - found.keys())


def owning_packages(paths: set[str]) -> set[str]:
    """The Debian packages that installed `paths` (each tried as given, resolved, and /usr-merged)."""
    spellings = {path: _spellings(path) for path in paths}
    owners = _dpkg_search([s for variants in spellings.values() for s in variants])
    packages = set()
    for path, variants in spellings.items():
        owner = next((owners[v] for v in variants if v in owners), None)
        if owner is None:
            raise DependsError(f"no Debian package owns {path}: install it from a package, not by hand")
        packages.add(owner)
    return packages


def _spellings(path: str) -> list[str]:
    real = str(Path(path).resolve())
    variants = [path, real]
    for p in (path, real):
        if p.startswith("/usr/lib/"):
            variants.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            variants.append("/usr" + p)
    return list(dict.fromkeys(variants))


def _dpkg_search(paths: list[str]) -> dict[str, str]:
    """One `dpkg -S` for all paths (it answers the ones it knows and complains about the others)."""
    done = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True)
    owners = {}
    for line in done.stdout.splitlines():
        package, _, path = line.partition(": ")
        owners[path.strip()] = package.split(",")[0].split(":")[0].strip()
    return owners


def depends_line(bundle: Path, fixed_list: Path) -> tuple[str, list[str]]:
    fixed = [line.strip() for line in fixed_list.read_text().splitlines() if line.strip() and not line.startswith("#")]
    found, missing = system_paths(needed_sonames(bundle))
    discovered = sorted(owning_packages(set(found.values())) - set(fixed))
    packages = [_with_minimum_version(p) for p in ["libc6", *fixed, *discovered]]
    return ", ".join(dict.fromkeys(packages)), missing


def _with_minimum_version(package: str) -> str:
    """libc6 gets `>= the build machine's glibc`: binaries built against it may use its newest symbols."""
    if package != "libc6":
        return package
    version = _run(["dpkg-query", "-W", "-f=${Version}", "libc6"]).split("-")[0]
    return f"libc6 (>= {version})"


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def _needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DependsError(f"{command[0]} failed: {exc}") from exc


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python packaging/debian_depends.py BUNDLE_DIR DEPENDS_TXT")
    try:
        line, missing = depends_line(Path(sys.argv[1]), Path(sys.argv[2]))
    except DependsError as exc:
        raise SystemExit(f"debian_depends: {exc}")
    if missing:
        shown = " ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        print(f"debian_depends: skipped {len(missing)} libraries this machine lacks: {shown}", file=sys.stderr)
    print(line)
