"""Byte counts in the words people read: GiB for memory, GB-style binary units everywhere."""

from __future__ import annotations

GIB = 1024**3
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(count: int | float) -> str:
    """``1536`` -> ``"1.5 KiB"``; one decimal above bytes, so sizes line up in lists."""
    value = float(count)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_rate(bytes_per_second: float) -> str:
    return f"{format_bytes(bytes_per_second)}/s"


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1 h 02 min"``; ``75`` -> ``"1 min 15 s"``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
