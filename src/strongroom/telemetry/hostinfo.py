"""sys/host-info: CPU, memory, disk and host facts in OpenBao's shape (gopsutil's field names).

Layer: telemetry. Reads /proc, /etc/os-release and the os module; imports util and the stdlib only.

Invariant: only hardware and operating-system facts leave here; never an environment variable, a command
line, a process's details or the machine ID (systemd asks that it be kept confidential, so hostid is empty).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from strongroom.util.clock import rfc3339

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_KIB = 1024

# gopsutil's VirtualMemoryStat field -> the /proc/meminfo key it comes from.
_MEMINFO = {
    "total": "MemTotal", "available": "MemAvailable", "free": "MemFree", "active": "Active",
    "inactive": "Inactive", "buffers": "Buffers", "writeback": "Writeback", "dirty": "Dirty",
    "writebacktmp": "WritebackTmp", "shared": "Shmem", "slab": "Slab", "sreclaimable": "SReclaimable",
    "sunreclaim": "SUnreclaim", "pagetables": "PageTables", "swapcached": "SwapCached",
    "commitlimit": "CommitLimit", "committedas": "Committed_AS", "hightotal": "HighTotal",
    "highfree": "HighFree", "lowtotal": "LowTotal", "lowfree": "LowFree", "swaptotal": "SwapTotal",
    "swapfree": "SwapFree", "mapped": "Mapped", "vmalloctotal": "VmallocTotal", "vmallocused": "VmallocUsed",
    "vmallocchunk": "VmallocChunk", "hugepagestotal": "HugePages_Total", "hugepagesfree": "HugePages_Free",
    "hugepagesize": "Hugepagesize",
}  # fmt: skip
_CPU_TIMES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestNice")


def host_info(root: Path = _PROC, disk_path: str = "/") -> dict[str, Any]:
    """Everything sys/host-info answers, read now."""
    return {
        "cpu": cpu(root),
        "cpu_times": cpu_times(root),
        "disk": [disk(root, disk_path)],
        "host": host(root),
        "memory": memory(root),
        "timestamp": rfc3339(time.time()),
    }


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return 0


def cpu(root: Path) -> list[dict[str, Any]]:
    """One entry per logical processor, from /proc/cpuinfo."""
    found: list[dict[str, Any]] = []
    for block in _read(root / "cpuinfo").split("\n\n"):
        fields = dict(_pair(line) for line in block.splitlines() if ":" in line)
        if "processor" not in fields:
            continue
        found.append({
            "cpu": _number(fields["processor"]),
            "vendorId": fields.get("vendor_id", ""),
            "family": fields.get("cpu family", ""),
            "model": fields.get("model", ""),
            "stepping": _number(fields.get("stepping", "0")),
            "physicalId": fields.get("physical id", ""),
            "coreId": fields.get("core id", ""),
            "cores": 1,
            "modelName": fields.get("model name", ""),
            "mhz": float(_number(fields.get("cpu MHz", "0"))),
            "cacheSize": _number(fields.get("cache size", "0").split(" ")[0]),
            "flags": fields.get("flags", "").split(),
            "microcode": fields.get("microcode", ""),
        })  # fmt: skip
    return found


def _pair(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip(), value.strip()


def cpu_times(root: Path) -> list[dict[str, Any]]:
    """Seconds each logical processor has spent in each state, from /proc/stat."""
    found: list[dict[str, Any]] = []
    for line in _read(root / "stat").splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        seconds = [int(v) / _TICKS for v in values[: len(_CPU_TIMES)]]
        seconds += [0.0] * (len(_CPU_TIMES) - len(seconds))
        found.append({"cpu": name, **dict(zip(_CPU_TIMES, seconds, strict=True))})
    return found


def disk(root: Path, path: str) -> dict[str, Any]:
    """Space and inodes of the file system holding `path`."""
    stat = os.statvfs(path)
    total = stat.f_blocks * stat.f_frsize
    free = stat.f_bavail * stat.f_frsize
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    inodes_used = stat.f_files - stat.f_ffree
    return {
        "path": path,
        "fstype": _fstype(root, path),
        "total": total,
        "free": free,
        "used": used,
        "usedPercent": 100 * used / (used + free) if used + free else 0.0,
        "inodesTotal": stat.f_files,
        "inodesUsed": inodes_used,
        "inodesFree": stat.f_ffree,
        "inodesUsedPercent": 100 * inodes_used / stat.f_files if stat.f_files else 0.0,
    }


def _fstype(root: Path, path: str) -> str:
    kind = ""
    for line in _read(root / "self" / "mounts").splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[1] == path:
            kind = fields[2]  # the last mount on a path is the one in effect
    return kind


def host(root: Path) -> dict[str, Any]:
    """The host's name, uptime, operating system and kernel."""
    release = _os_release(Path("/etc/os-release"))
    uname = os.uname()
    uptime = _read(root / "uptime").split()
    boot = next(
        (line.split()[1] for line in _read(root / "stat").splitlines() if line.startswith("btime")), "0"
    )
    platform = release.get("ID", "")
    return {
        "hostname": socket.gethostname(),
        "uptime": int(float(uptime[0])) if uptime else 0,
        "bootTime": int(boot),
        "procs": sum(1 for entry in _entries(root) if entry.isdigit()),
        "os": uname.sysname.lower(),
        "platform": platform,
        "platformFamily": (release.get("ID_LIKE", "") or platform).split(" ")[0],
        "platformVersion": release.get("VERSION_ID", ""),
        "kernelVersion": uname.release,
        "kernelArch": uname.machine,
        "virtualizationSystem": "",
        "virtualizationRole": "",
        "hostid": "",
    }


def _entries(root: Path) -> list[str]:
    try:
        return os.listdir(root)
    except OSError:
        return []


def _os_release(path: Path) -> Mapping[str, str]:
    values: dict[str, str] = {}
    for line in _read(path).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def memory(root: Path) -> dict[str, Any]:
    """Memory use in bytes, from /proc/meminfo, as gopsutil reports it."""
    meminfo: dict[str, int] = {}
    for line in _read(root / "meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            # Sizes are in kB; the huge page counts carry no unit.
            meminfo[key] = int(parts[0]) * (_KIB if len(parts) > 1 else 1)
    values = {name: meminfo.get(key, 0) for name, key in _MEMINFO.items()}
    total, available = values["total"], values["available"]
    used = total - available
    return {
        "total": total,
        "available": available,
        "used": used,
        "usedPercent": 100 * used / total if total else 0.0,
        **{k: v for k, v in values.items() if k not in ("total", "available")},
        "cached": meminfo.get("Cached", 0) + meminfo.get("SReclaimable", 0),
        "wired": 0,
        "laundry": 0,
    }
