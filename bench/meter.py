"""CPU and memory of one measured phase: the bench process (the driver), the worker child
process of the side, and the other children (the Temporal dev server).

Linux figures come from /proc: utime+stime from ``/proc/<pid>/stat`` and the high-water mark
``VmHWM`` from ``/proc/<pid>/status``, reset at the start of the phase by writing 5 to
``/proc/<pid>/clear_refs``. Elsewhere the driver's CPU falls back to ``time.process_time``
and its peak RSS to ``getrusage`` (never reset: the peak of the whole process so far), and
the children's figures are unknown.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Meter", "ProcessUsage", "Usage"]

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ProcessUsage:
    cpu_s: float | None
    peak_rss_mb: float | None
    peak_rss_scope: str  # "phase" when the high-water mark could be reset, else "process"
    rss_mb: float | None = None  # resident at the end of the phase (VmRSS)

    def then(self, later: ProcessUsage) -> ProcessUsage:
        """This phase's usage and a later one's of the same side, as one."""
        return ProcessUsage(
            cpu_s=_sum((self.cpu_s, later.cpu_s)),
            peak_rss_mb=_max(self.peak_rss_mb, later.peak_rss_mb),
            peak_rss_scope=later.peak_rss_scope,
            rss_mb=later.rss_mb,
        )


@dataclass(frozen=True)
class Usage:
    driver: ProcessUsage  # the bench process: the iterations, the facade, the SMTP server
    workers: ProcessUsage | None  # the side's worker child(ren); None when it runs in-process
    server_cpu_s: float | None  # every other child (the dev server); None if unknown

    def then(self, later: Usage) -> Usage:
        workers = None
        if self.workers is not None and later.workers is not None:
            workers = self.workers.then(later.workers)
        return Usage(
            driver=self.driver.then(later.driver),
            workers=workers,
            server_cpu_s=_sum((self.server_cpu_s, later.server_cpu_s)),
        )


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None  # exited meanwhile, or no /proc
    # The command name may hold spaces and parentheses: split after the last ')'.
    return stat[stat.rfind(")") + 2 :].split()


def _cpu_s(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (clock ticks)


def _children_cpu_s(excluded: set[int]) -> float | None:
    """utime+stime of our live child processes other than ``excluded``."""
    if not _PROC.is_dir():
        return None
    me, total = str(os.getpid()), 0.0
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in excluded:
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and fields[1] == me:  # ppid
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def _reset_peak_rss(pid: int | str) -> bool:
    """Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), giving a per-phase peak."""
    try:
        (_PROC / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _vm_hwm_mb(pid: int | str) -> float | None:
    try:
        lines = (_PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _vm_rss_mb(pid: int) -> float | None:
    try:
        lines = (_PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    found = [line for line in lines if line.startswith("VmRSS:")]
    return int(found[0].split()[1]) / 1024 if found else None


def _own_peak_rss_mb() -> float:
    found = _vm_hwm_mb("self")
    if found is not None:
        return found
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _sum(values: Iterable[float | None]) -> float | None:
    known = list(values)
    return None if not known or any(v is None for v in known) else sum(v for v in known if v)


def _max(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(a, b)


class Meter:
    """Started before a phase, read after it (while the worker children still run)."""

    def __init__(self, worker_pids: Iterable[int] = (), dev_server: bool = True) -> None:
        """``dev_server``: the Temporal server is a child of the bench (else its CPU is
        unknown: an external cluster's)."""
        self._workers = tuple(worker_pids)
        self._dev_server = dev_server
        self._resettable = _reset_peak_rss("self")
        self._workers_resettable = all(_reset_peak_rss(pid) for pid in self._workers)
        self._cpu = time.process_time()
        self._worker_cpu = {pid: _cpu_s(pid) for pid in self._workers}
        self._server = _children_cpu_s(set(self._workers))

    def read(self) -> Usage:
        server = _children_cpu_s(set(self._workers)) if self._dev_server else None
        workers = None
        if self._workers:
            spent: list[float | None] = []
            for pid in self._workers:
                now, then = _cpu_s(pid), self._worker_cpu[pid]
                spent.append(now - then if now is not None and then is not None else None)
            workers = ProcessUsage(
                cpu_s=_sum(spent),
                peak_rss_mb=_sum(_vm_hwm_mb(pid) for pid in self._workers),
                peak_rss_scope="phase" if self._workers_resettable else "process",
                rss_mb=_sum(_vm_rss_mb(pid) for pid in self._workers),
            )
        return Usage(
            driver=ProcessUsage(
                cpu_s=time.process_time() - self._cpu,
                peak_rss_mb=_own_peak_rss_mb(),
                peak_rss_scope="phase" if self._resettable else "process",
            ),
            workers=workers,
            server_cpu_s=(
                server - self._server if server is not None and self._server is not None else None
            ),
        )
