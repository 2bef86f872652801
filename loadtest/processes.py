"""Processes of the benchmarks: start, pin, watch and stop them by PID; read their CPU time.

Shared by loadtest.bench and its parts (bench_scale); nothing here knows what it measures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bandit_service.embedded_redis import free_port

SERVER_CPU, LOAD_CPU = 0, 1


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Pinning:
    """CPU pinning via taskset: servers on one CPU, load generator (and Redis) on the other."""

    def __init__(self) -> None:
        cpus = os.sched_getaffinity(0)
        self.taskset = shutil.which("taskset")
        self.enabled = self.taskset is not None and {SERVER_CPU, LOAD_CPU} <= cpus
        if self.enabled:
            # Children inherit this; redis-server and the Python load generator stay off CPU 0.
            os.sched_setaffinity(0, {LOAD_CPU})

    def prefix(self, cpu: int | tuple[int, ...]) -> list[str]:
        cpus = ",".join(map(str, cpu)) if isinstance(cpu, tuple) else str(cpu)
        return [self.taskset, "-c", cpus] if self.enabled and self.taskset else []

    def describe(self) -> str:
        if not self.enabled:
            why = "taskset not found" if self.taskset is None else "fewer than 2 usable CPUs"
            return f"no CPU pinning ({why})"
        return (
            f"servers pinned to CPU {SERVER_CPU} (taskset -c {SERVER_CPU}); load generator and "
            f"redis-server to CPU {LOAD_CPU}"
        )


def start_child(name: str, argv: list[str], env: dict[str, str], log: Path) -> Child:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    return Child(name, process, log)


def start_banditd(
    log: Path,
    env: dict[str, str],
    pinning: Pinning | None,
    cpus: tuple[int, ...] = (SERVER_CPU,),
    workers: int = 1,
) -> tuple[Child, str]:
    """`banditd serve` (with `--workers` above 1) on a free loopback port, pinned to cpus when
    pinning is on; env holds its BANDITD_* settings besides the listen address."""
    target = f"127.0.0.1:{free_port()}"
    prefix = pinning.prefix(cpus) if pinning is not None else []
    argv = [*prefix, sys.executable, "-m", "bandit_service", "serve"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    child_env = {**python_env(), **env, "BANDITD_LISTEN": target}
    return start_child("banditd", argv, child_env, log), target


def stop_child(child: Child, timeout_s: float = 10.0) -> None:
    """SIGTERM by PID (banditd flushes its counts on it), SIGKILL if it does not exit."""
    if child.process.poll() is None:
        child.process.terminate()
        try:
            child.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            print(f"bench: {child.name} (pid {child.pid}) ignored SIGTERM; killing it")
            child.process.kill()
            child.process.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of pid and of its direct children (the workers of `--workers N`)."""
    total = cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue  # it exited meanwhile
    return total


def wait_until(what: str, ready: Callable[[], bool], child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(
                f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}"
            )
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout_s:.0f} s:\n{child.log_tail()}")


def health_serving(target: str) -> bool:
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="banditd.v1.Decisions"), timeout=1.0
            )
        except grpc.RpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def python_env() -> dict[str, str]:
    # Only the bench's own BANDITD_* settings reach the servers, whatever the caller exported.
    return {k: v for k, v in os.environ.items() if not k.startswith("BANDITD_")}


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so the finally blocks stop every child on SIGTERM too
