"""CPU and memory of one measured phase, for the process and the dev server it started.

Linux figures come from /proc; elsewhere CPU falls back to ``time.process_time`` and peak RSS
to ``getrusage`` (which never resets, so there it is the peak of the whole process so far).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Meter", "Usage"]

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Usage:
    cpu_s: float  # this process: driver, worker and SMTP server all share it
    children_cpu_s: float | None  # child processes (the dev server), None if unknown
    peak_rss_mb: float
    peak_rss_scope: str  # "phase" when the high-water mark could be reset, else "process"


def _children_cpu_s() -> float | None:
    """utime+stime of our live child processes (the Temporal dev server is one)."""
    if not _PROC.is_dir():
        return None
    me, total = str(os.getpid()), 0
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[1] == me:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / _TICKS


def _reset_peak_rss() -> bool:
    """Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), giving a per-phase peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mb() -> float:
    status = _PROC / "self" / "status"
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class Meter:
    """Started before a phase, read after it."""

    def __init__(self) -> None:
        self._resettable = _reset_peak_rss()
        self._cpu = time.process_time()
        self._children = _children_cpu_s()

    def read(self) -> Usage:
        children = _children_cpu_s()
        return Usage(
            cpu_s=time.process_time() - self._cpu,
            children_cpu_s=(
                children - self._children
                if children is not None and self._children is not None
                else None
            ),
            peak_rss_mb=_peak_rss_mb(),
            peak_rss_scope="phase" if self._resettable else "process",
        )
