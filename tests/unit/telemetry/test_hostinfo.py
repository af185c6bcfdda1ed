"""sys/host-info's facts, read from a /proc the test writes: gopsutil's field names and arithmetic."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from strongroom.telemetry.hostinfo import cpu, cpu_times, host_info, memory

MEMINFO = """MemTotal:       1000 kB
MemFree:         300 kB
MemAvailable:    600 kB
Buffers:          10 kB
Cached:          200 kB
SReclaimable:     50 kB
HugePages_Total:   4
Hugepagesize:   2048 kB
"""
CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.148
cache size\t: 1024 KB
physical id\t: 0
core id\t\t: 3
flags\t\t: fpu vme de

"""
STAT = "cpu  300 0 100 900 0 0 0 0 0 0\ncpu0 200 1 100 900 4 0 5 2 0 0\nbtime 1700000000\n"


def test_memory_is_read_as_gopsutil_reports_it(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text(MEMINFO)
    found = memory(tmp_path)
    assert found["total"] == 1000 * 1024
    assert found["available"] == 600 * 1024
    assert found["used"] == 400 * 1024
    assert found["usedPercent"] == 40.0
    assert found["cached"] == 250 * 1024
    assert found["hugepagestotal"] == 4
    assert found["hugepagesize"] == 2048 * 1024


def test_cpu_facts_and_times(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    (tmp_path / "stat").write_text(STAT)
    assert cpu(tmp_path) == [
        {
            "cpu": 0, "vendorId": "AuthenticAMD", "family": "25", "model": "17", "stepping": 1,
            "physicalId": "0", "coreId": "3", "cores": 1, "modelName": "AMD EPYC", "mhz": 2596.148,
            "cacheSize": 1024, "flags": ["fpu", "vme", "de"], "microcode": "0x1000065",
        }
    ]  # fmt: skip
    ticks = os.sysconf("SC_CLK_TCK")
    assert cpu_times(tmp_path) == [
        {
            "cpu": "cpu0", "user": 200 / ticks, "nice": 1 / ticks, "system": 100 / ticks, "idle": 900 / ticks,
            "iowait": 4 / ticks, "irq": 0.0, "softirq": 5 / ticks, "steal": 2 / ticks, "guest": 0.0,
            "guestNice": 0.0,
        }
    ]  # fmt: skip


def test_host_info_has_openbaos_fields_and_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_TEST_CANARY", "canary-value-4711")
    info = host_info()
    assert set(info) == {"cpu", "cpu_times", "disk", "host", "memory", "timestamp"}
    assert set(info["host"]) >= {"hostname", "uptime", "bootTime", "os", "kernelVersion", "kernelArch"}
    assert info["host"]["hostid"] == ""
    assert info["disk"][0]["path"] == "/"
    assert info["memory"]["total"] > 0
    assert "canary-value-4711" not in repr(info)
