"""Start-up benchmark: how fast the ``hub`` command and ``hub serve`` start, and how much
memory an idle ``hub serve`` holds.

    python bench/startup.py [--repeat 5]

Prints the median of ``--repeat`` runs of:

- ``hub --help`` (wall time of the whole process);
- ``hub serve`` until ``GET /healthz`` answers 200, on a new data directory (a first start:
  migrations, key ring, first workspace) and on an existing one;
- the resident memory (VmRSS) of ``hub serve`` idle two seconds after it answered.

Each server runs on SQLite in a temporary directory on a free loopback port, without the
local model, and is stopped with SIGTERM. Bytecode caches are used (and written by a warm-up
run) even when ``PYTHONDONTWRITEBYTECODE`` is set, as in an installed hub.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (steadier than wall time under load)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_for(data_dir: Path, port: int) -> dict[str, str]:
    # As after `pip install`: with bytecode caches (a warm-up run writes any missing ones).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HUB_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_PORT=str(port), HUB_LOG_LEVEL="WARNING")
    return env


def serve_once(data_dir: Path, *, idle: float = 0.0) -> tuple[float, float, float | None]:
    """Start ``hub serve``; seconds until /healthz answers, the CPU seconds it used until
    then, and the idle RSS if asked."""
    port = free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env_for(data_dir, port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=data_dir.parent)
    try:
        while not healthz(port):
            if proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {proc.returncode}")
            if time.perf_counter() - start > 60:
                raise RuntimeError("hub serve did not answer within 60 s")
            time.sleep(0.01)
        ready = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid)
        rss = None
        if idle:
            time.sleep(idle)
            rss = rss_mb(proc.pid)
        return ready, cpu, rss
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def help_once() -> tuple[float, float]:
    """Wall and CPU seconds of one ``hub --help``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hub", "--help"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - start, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.repeat
    help_once()  # warm-up: bytecode caches, page cache
    helps = [help_once() for _ in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        serve_once(Path(tmp) / "warm-up" / "data")
        fresh = [serve_once(Path(tmp) / f"new{i}" / "data") for i in range(n)]
        again = [serve_once(Path(tmp) / "new0" / "data", idle=2.0) for _ in range(n)]

    def med(rows: list, i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"hub --help                           {med(helps, 0):6.3f} s  "
          f"(CPU {med(helps, 1):.2f} s)")
    print(f"hub serve ready, new database        {med(fresh, 0):6.3f} s  "
          f"(CPU {med(fresh, 1):.2f} s)")
    print(f"hub serve ready, existing database   {med(again, 0):6.3f} s  "
          f"(CPU {med(again, 1):.2f} s)")
    print(f"hub serve idle RSS                   {med(again, 2):6.1f} MB")
    print(f"(median of {n}; cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
