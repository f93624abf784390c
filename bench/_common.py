"""Shared helpers for the benchmark scripts: machine facts, timing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def versions(*packages: str) -> dict:
    out = {"python": platform.python_version()}
    for p in ("lcore", "numpy", *packages):
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "n_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "git_commit": commit or None,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv,
    }


def best_time(fn, repeat: int = 5, number: int = 1, min_time: float = 0.0) -> dict:
    """Run ``fn`` ``number`` times per sample, ``repeat`` samples; seconds per call."""
    samples = []
    t_start = time.perf_counter()
    while len(samples) < repeat or (time.perf_counter() - t_start) < min_time:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
        if len(samples) >= 1000:
            break
    return {"min": min(samples), "median": statistics.median(samples), "n": len(samples)}


def write(name: str, payload: dict, packages=()) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), "versions": versions(*packages), **payload}
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False)
        f.write("\n")
    return path
