"""`make bench`: banditd's Decide against an empty handler on the same gRPC server model.

Issue "Decide throughput vs an empty handler". Starts redis-server, a banditd replica and
loadtest.empty_server as separate processes on loopback, drives both with the same h2load
settings (a Python gRPC load generator when h2load is missing and cannot be installed), and
reports requests/s, server CPU per call from /proc, latency percentiles at a fixed rate, and
DecideBatch decisions/s. Writes loadtest/results/bench.{json,md}; exits 1 if a check failed.

    .venv/bin/python -m loadtest.bench [--load-generator auto|h2load|python]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import grpc
import numpy as np
import redis
from banditd.v1 import admin_pb2, admin_pb2_grpc, common_pb2, decisions_pb2, decisions_pb2_grpc

from bandit_service.embedded_redis import EmbeddedRedis, free_port

from . import bench_kernels, bench_rewards, bench_scale, processes
from .empty_server import ARMS, EXPERIMENT, MAX_WORKERS_DEFAULT
from .processes import (
    LOAD_CPU,
    SERVER_CPU,
    Child,
    Pinning,
    cpu_seconds,
    health_serving,
    python_env,
    raise_interrupt,
    start_child,
    stop_child,
    tree_cpu_seconds,
    wait_until,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DECIDE_PATH = "/banditd.v1.Decisions/Decide"
KEY_PREFIX = "banditd"  # banditd's default; this Redis is private to the bench
STATS_KEY = f"{KEY_PREFIX}:{{{EXPERIMENT}}}:stats"

# Load settings, identical for both servers. 64 streams in flight keep all 32 RPC threads busy.
CLIENTS = 4  # HTTP/2 connections
STREAMS = 16  # concurrent streams per connection
WARMUP_S = 2.0
SATURATION_S = 6.0
FIXED_RATE_S = 5.0
FIXED_RATE_SHARE = 0.5  # of banditd's median saturated rate, offered to both servers
REPEATS = 5
BATCH_COUNT = 1000
BATCH_S = 3.0
BATCH_THREADS = 2
# (workers, server CPUs) per run; the load generator stays on LOAD_CPU.
WORKER_RUNS = (
    (1, (SERVER_CPU,)),
    (2, (SERVER_CPU,)),
    (2, (SERVER_CPU, LOAD_CPU)),
)
WORKERS_CONNECTIONS = 16
SCALE_REPEATS = 5  # Decide runs of each kind on the replica with 10,000 experiments


# --- processes ---------------------------------------------------------------------------
# --- gRPC clients ------------------------------------------------------------------------
def decide_once(target: str) -> decisions_pb2.DecideResponse:
    """One Decide through a real gRPC client; raises grpc.RpcError unless the status is OK."""
    with grpc.insecure_channel(target) as channel:
        stub = decisions_pb2_grpc.DecisionsStub(channel)
        response: decisions_pb2.DecideResponse = stub.Decide(
            decisions_pb2.DecideRequest(experiment=EXPERIMENT), timeout=5.0
        )
        return response


def decide_answers(target: str) -> bool:
    try:
        decide_once(target)
    except grpc.RpcError:
        return False
    return True


def experiment_request() -> admin_pb2.CreateExperimentRequest:
    """The bench experiment: Thompson, binary rewards, the empty server's 10 arms."""
    return admin_pb2.CreateExperimentRequest(
        name=EXPERIMENT,
        description="make bench",
        policy=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_THOMPSON, thompson=admin_pb2.ThompsonParams()
        ),
        reward_type=admin_pb2.REWARD_TYPE_BINARY,
        arms=[admin_pb2.ArmSpec(name=name, version=version) for name, version in ARMS],
    )


def create_experiment(target: str, token: str) -> None:
    with grpc.insecure_channel(target) as channel:
        admin_pb2_grpc.AdminStub(channel).CreateExperiment(
            experiment_request(), metadata=[("authorization", f"Bearer {token}")], timeout=10.0
        )


class PullCounter:
    """The decisions banditd counted for the bench experiment, as flushed to Redis."""

    def __init__(self, url: str, key_prefix: str = KEY_PREFIX) -> None:
        self._redis = redis.Redis.from_url(url)
        self._key = f"{key_prefix}:{{{EXPERIMENT}}}:stats"

    def total(self) -> int:
        stats = cast(dict[bytes, bytes], self._redis.hgetall(self._key))
        return sum(int(v) for k, v in stats.items() if k.endswith(b":pulls"))

    def settled(self, timeout_s: float = 3.0) -> int:
        """The total once it stops moving (banditd flushes every 100 ms by default)."""
        last, stable_since = self.total(), time.monotonic()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.total()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= 0.35:
                break
        return last

    def close(self) -> None:
        self._redis.close()


# --- load generators ---------------------------------------------------------------------
@dataclass
class Load:
    """What one load-generator run saw."""

    seconds: float
    started: int
    done: int
    ok: int  # h2load: 2xx responses; Python client: status OK
    not_ok: int
    rps: float
    latencies_us: np.ndarray = field(repr=False)


class LoadGenerator(Protocol):
    name: str

    def run(
        self, target: str, seconds: float, rate: float | None, work: Path, connections: int = ...
    ) -> Load: ...


def decide_frame() -> bytes:
    """A gRPC length-prefixed message: uncompressed flag, big-endian length, DecideRequest."""
    body: bytes = decisions_pb2.DecideRequest(experiment=EXPERIMENT).SerializeToString()
    return b"\x00" + struct.pack(">I", len(body)) + body


class H2Load:
    """h2load POSTing gRPC frames. It sees HTTP status only, so callers check gRPC status."""

    name = "h2load"

    def __init__(self, binary: str, pinning: Pinning) -> None:
        self.binary = binary
        self._pinning = pinning
        self.version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()

    def run(
        self,
        target: str,
        seconds: float,
        rate: float | None,
        work: Path,
        connections: int = CLIENTS,
    ) -> Load:
        body, log = work / "decide.grpc", work / "h2load.log"
        body.write_bytes(decide_frame())
        log.unlink(missing_ok=True)
        argv = [
            *self._pinning.prefix(LOAD_CPU), self.binary,
            "-d", str(body),
            "-H", "content-type: application/grpc",
            "-H", "te: trailers",
            "-c", str(connections), "-m", str(STREAMS * CLIENTS // connections),
            "-D", f"{seconds:g}",
            "--log-file", str(log),
        ]  # fmt: skip
        if rate is not None:
            argv += ["--rps", f"{rate / connections:.1f}"]  # h2load's rate is per client
        argv.append(f"http://{target}{DECIDE_PATH}")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
        if done.returncode != 0:
            raise RuntimeError(f"h2load failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return self._parse(done.stdout, log)

    @staticmethod
    def _parse(out: str, log: Path) -> Load:
        finished = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out)
        requests = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done", out)
        codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
        if finished is None or requests is None or codes is None:
            raise RuntimeError(f"cannot read h2load's output:\n{out}")
        rows = [line.split("\t") for line in log.read_text().splitlines() if line]
        latencies = np.array([int(r[2]) for r in rows if r[1].startswith("2")], dtype=np.int64)
        done = int(requests[3])
        ok = int(codes[1])
        return Load(
            seconds=float(finished[1]),
            started=int(requests[2]),
            done=done,
            ok=ok,
            not_ok=done - ok,
            rps=float(finished[2]),
            latencies_us=latencies,
        )


class PythonLoad:
    """Fallback: blocking gRPC calls from threads of this process (pinned with it).

    Much weaker than h2load (the client shares one GIL), so saturated rates measure the
    client as much as the server; the report says which generator ran.
    """

    name = "python-grpc"
    threads = CLIENTS * 4

    def run(
        self,
        target: str,
        seconds: float,
        rate: float | None,
        work: Path,
        connections: int = CLIENTS,
    ) -> Load:
        channels = [grpc.insecure_channel(target) for _ in range(connections)]
        stubs = [decisions_pb2_grpc.DecisionsStub(c) for c in channels]
        request = decisions_pb2.DecideRequest(experiment=EXPERIMENT)
        per_thread: list[tuple[list[int], int]] = []
        lock = threading.Lock()
        interval = self.threads / rate if rate else 0.0
        start = time.monotonic()
        deadline = start + seconds

        def drive(index: int) -> None:
            stub = stubs[index % len(stubs)]
            latencies: list[int] = []
            errors = 0
            next_send = start + interval * index / self.threads
            while time.monotonic() < deadline:
                if interval:
                    time.sleep(max(0.0, next_send - time.monotonic()))
                    next_send += interval
                sent = time.perf_counter_ns()
                try:
                    stub.Decide(request, timeout=10.0)
                    latencies.append((time.perf_counter_ns() - sent) // 1000)
                except grpc.RpcError:
                    errors += 1
            with lock:
                per_thread.append((latencies, errors))

        workers = [threading.Thread(target=drive, args=(i,)) for i in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(seconds + 15)
        elapsed = time.monotonic() - start
        for channel in channels:
            channel.close()
        ok = sum(len(latencies) for latencies, _ in per_thread)
        not_ok = sum(errors for _, errors in per_thread)
        latencies_us = np.array(
            [v for latencies, _ in per_thread for v in latencies], dtype=np.int64
        )
        return Load(elapsed, ok + not_ok, ok + not_ok, ok, not_ok, ok / elapsed, latencies_us)


def ensure_h2load() -> tuple[str | None, str]:
    """h2load's path, installing Debian's nghttp2-client when it is missing and we are root."""
    found = shutil.which("h2load")
    if found:
        return found, "found on PATH"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "missing, and cannot install it (needs root and apt-get)"
    print("bench: h2load missing; installing nghttp2-client with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "nghttp2-client"]):
        try:
            step = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return None, f"'{' '.join(argv)}' timed out"
        if step.returncode != 0:
            return None, f"'{' '.join(argv)}' failed: {step.stderr.strip()[-300:]}"
    found = shutil.which("h2load")
    return found, "installed nghttp2-client" if found else "nghttp2-client gave no h2load"


# --- measurements ------------------------------------------------------------------------
@dataclass
class Server:
    name: str  # "decide" (banditd) or "empty"
    child: Child
    target: str


@dataclass
class Run:
    server: str
    kind: str  # "saturation" or "fixed_rate"
    repeat: int
    offered_rps: float | None
    seconds: float
    requests_started: int
    requests_done: int
    responses_ok: int
    responses_not_ok: int
    rps: float
    server_cpu_s: float
    cpu_us_per_call: float
    latency_ms: dict[str, float]
    redis_pulls_delta: int | None = None


def latency_summary(latencies_us: np.ndarray) -> dict[str, float]:
    if latencies_us.size == 0:
        return {}
    p50, p90, p99 = np.percentile(latencies_us, [50, 90, 99]) / 1000
    return {
        "mean": round(float(latencies_us.mean()) / 1000, 3),
        "p50": round(float(p50), 3),
        "p90": round(float(p90), 3),
        "p99": round(float(p99), 3),
        "max": round(float(latencies_us.max()) / 1000, 3),
    }


class Checks:
    """Every correctness check of the run; a failed one fails the bench."""

    def __init__(self) -> None:
        self.items: list[dict[str, object]] = []

    def add(self, what: str, ok: bool, detail: str) -> None:
        self.items.append({"check": what, "ok": ok, "detail": detail})
        if not ok:
            print(f"bench: CHECK FAILED: {what}: {detail}", flush=True)

    @property
    def all_ok(self) -> bool:
        return all(item["ok"] for item in self.items)


@dataclass
class Rig:
    """What every measurement shares: the load generator, scratch dir, checks, Redis counts."""

    load: LoadGenerator
    work: Path
    checks: Checks
    pulls: PullCounter


def measure(
    rig: Rig, server: Server, kind: str, repeat: int, seconds: float, rate: float | None
) -> Run:
    load, checks = rig.load, rig.checks
    # Only banditd counts decisions in Redis; the empty server is checked by a real client.
    pulls = rig.pulls if server.name != "empty" else None
    pulls_before = pulls.settled() if pulls is not None else 0
    cpu_before = cpu_seconds(server.child.pid)
    result = load.run(server.target, seconds, rate, rig.work)
    time.sleep(0.2)  # let the server finish the streams still in flight when the load stopped
    cpu = cpu_seconds(server.child.pid) - cpu_before
    label = f"{server.name} {kind} #{repeat}"
    checks.add(
        f"{label}: all responses OK",
        result.not_ok == 0 and result.done > 0,
        f"{result.ok} OK of {result.done} done ({load.name})",
    )
    delta = None
    if pulls is not None:
        delta = pulls.settled() - pulls_before
        # Every OK response is a counted decision; streams cut off at the end may add a few.
        checks.add(
            f"{label}: redis pulls match requests",
            result.done <= delta <= result.started,
            f"pulls grew by {delta}; load generator: {result.done} done, {result.started} started",
        )
    checks.add(
        f"{label}: real gRPC Decide afterwards", decide_answers(server.target), server.target
    )
    run = Run(
        server=server.name,
        kind=kind,
        repeat=repeat,
        offered_rps=rate,
        seconds=round(result.seconds, 3),
        requests_started=result.started,
        requests_done=result.done,
        responses_ok=result.ok,
        responses_not_ok=result.not_ok,
        rps=round(result.rps, 1),
        server_cpu_s=round(cpu, 3),
        cpu_us_per_call=round(cpu / max(result.done, 1) * 1e6, 1),
        latency_ms=latency_summary(result.latencies_us),
        redis_pulls_delta=delta,
    )
    print(
        f"bench: {label}: {run.rps:.0f} req/s, {run.cpu_us_per_call:.0f} µs CPU/call, "
        f"p50 {run.latency_ms.get('p50', 0):.2f} ms, p99 {run.latency_ms.get('p99', 0):.2f} ms",
        flush=True,
    )
    return run


def measure_batch(server: Server, pulls: PullCounter, checks: Checks) -> dict[str, float | int]:
    """DecideBatch(count=BATCH_COUNT) in a closed loop from BATCH_THREADS client threads."""
    request = decisions_pb2.DecideBatchRequest(experiment=EXPERIMENT, count=BATCH_COUNT)
    calls = [0] * BATCH_THREADS
    failures: list[str] = []
    with grpc.insecure_channel(
        server.target, options=[("grpc.max_receive_message_length", 64 << 20)]
    ) as channel:
        stub = decisions_pb2_grpc.DecisionsStub(channel)
        stub.DecideBatch(request, timeout=10.0)  # warm the path outside the window
        pulls_before = pulls.settled()
        cpu_before = cpu_seconds(server.child.pid)
        start = time.monotonic()
        deadline = start + BATCH_S

        def drive(index: int) -> None:
            while time.monotonic() < deadline:
                try:
                    response = stub.DecideBatch(request, timeout=10.0)
                except grpc.RpcError as exc:
                    failures.append(str(exc))
                    return
                if len(response.choices) != BATCH_COUNT:
                    failures.append(f"{len(response.choices)} choices in a batch")
                    return
                calls[index] += 1

        workers = [threading.Thread(target=drive, args=(i,)) for i in range(BATCH_THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(BATCH_S + 15)
        elapsed = time.monotonic() - start
        cpu = cpu_seconds(server.child.pid) - cpu_before
    decisions = sum(calls) * BATCH_COUNT
    delta = pulls.settled() - pulls_before
    checks.add(
        "batch: all calls OK", not failures, "; ".join(failures[:3]) or f"{sum(calls)} calls"
    )
    checks.add(
        "batch: redis pulls match decisions",
        delta == decisions,
        f"pulls grew by {delta}, decisions {decisions}",
    )
    result: dict[str, float | int] = {
        "count_per_call": BATCH_COUNT,
        "client_threads": BATCH_THREADS,
        "seconds": round(elapsed, 3),
        "calls": sum(calls),
        "decisions": decisions,
        "decisions_per_s": round(decisions / elapsed, 1),
        "server_cpu_s": round(cpu, 3),
        "cpu_us_per_decision": round(cpu / max(decisions, 1) * 1e6, 3),
        "decisions_per_server_cpu_s": round(decisions / cpu, 1) if cpu > 0 else 0.0,
    }
    print(
        f"bench: DecideBatch x{BATCH_COUNT}: {result['decisions_per_s']:.0f} decisions/s, "
        f"{result['cpu_us_per_decision']:.2f} µs CPU/decision",
        flush=True,
    )
    return result


def measure_workers(rig: Rig, redis_url: str, token: str, pinning: Pinning) -> dict[str, object]:
    """Saturated Decide throughput of `banditd serve --workers N` for each run of WORKER_RUNS.

    The figure that must hold as workers are added is throughput per server core: requests
    per second of server CPU, summed over the parent and its workers. With only two CPUs the
    load generator cannot stay apart from two busy workers, so N workers are measured on the
    servers' CPU alone and, last, two workers on both CPUs beside the load generator (its
    per-core figure still counts server CPU only). More connections than usual
    (WORKERS_CONNECTIONS, the same streams in flight in total) let SO_REUSEPORT spread them.
    After each run banditd gets SIGTERM and Redis must hold exactly the answered decisions.
    """
    per_n: dict[str, object] = {}
    for n, cpus in WORKER_RUNS:
        label = f"{n} on CPU {','.join(map(str, cpus))}"
        prefix = f"bench-workers-{n}-{len(cpus)}"
        server = start_banditd(
            rig.work, redis_url, token, pinning, workers=n, key_prefix=prefix, cpus=cpus
        )
        pulls = PullCounter(redis_url, prefix)
        try:
            ready = functools.partial(all_workers_answer, server, token)
            wait_until(f"banditd --workers {label}", ready, server.child, 120)
            rig.load.run(server.target, WARMUP_S, None, rig.work, WORKERS_CONNECTIONS)
            before = pulls.settled()
            cpu_before = tree_cpu_seconds(server.child.pid)
            result = rig.load.run(server.target, SATURATION_S, None, rig.work, WORKERS_CONNECTIONS)
            time.sleep(0.2)
            cpu = tree_cpu_seconds(server.child.pid) - cpu_before
        finally:
            stop_child(server.child)  # SIGTERM: every worker flushes its counts, then exits
        counted = pulls.settled() - before
        pulls.close()
        rig.checks.add(
            f"workers {label}: all responses OK",
            result.not_ok == 0 and result.done > 0,
            f"{result.ok} OK of {result.done}",
        )
        rig.checks.add(
            f"workers {label}: redis totals exact after SIGTERM",
            result.done <= counted <= result.started,
            f"pulls grew by {counted}; {result.done} done, {result.started} started",
        )
        per_n[label] = {
            "workers": n,
            "cpus": list(cpus),
            "rps": round(result.rps, 1),
            "server_cpu_s": round(cpu, 3),
            "server_cores_busy": round(cpu / result.seconds, 2),
            "rps_per_server_core": round(result.done / cpu, 1) if cpu > 0 else None,
            "p99_ms": latency_summary(result.latencies_us).get("p99"),
            "redis_pulls_delta": counted,
            "requests_done": result.done,
            # Requests cut off in flight when the load stops may be decided but not answered.
            "requests_started": result.started,
        }
        print(f"bench: --workers {label}: {per_n[label]}", flush=True)
    return {
        "connections": WORKERS_CONNECTIONS,
        "streams_in_flight": CLIENTS * STREAMS,
        "pinned": pinning.enabled,
        "by_workers": per_n,
    }


def decide_at_scale(rig: Rig, pinning: Pinning, fixed_rate: float) -> bench_scale.WhileChanging:
    """Decide on a replica holding 10,000 live experiments while 1% of them change every
    refresh interval (bench_scale's active window), against an empty server started now on
    the same CPU: the bench experiment is created beside the 10,000, then both servers are
    loaded saturated and at the fixed rate, alternating, SCALE_REPEATS times each.

    The replica's refresh runs on that CPU throughout, so the empty server shares the CPU
    with it too: the req/s and p99 ratios compare the servers under the same neighbour,
    while banditd's CPU per call includes its own refresh."""

    def run(child: Child, target: str, redis_url: str) -> dict[str, object]:
        bench_scale.create_from_requests(redis_url, [experiment_request()])
        banditd = Server("decide_10k", child, target)
        wait_until("the bench experiment at 10k", lambda: decide_answers(target), child, 30)
        with (
            tempfile.TemporaryDirectory(prefix="banditd-bench-10k-") as work,
            contextlib.closing(PullCounter(redis_url)) as pulls,
        ):
            here = Rig(rig.load, Path(work), rig.checks, pulls)
            empty = start_empty(here.work, pinning)
            try:
                wait_until("empty server", lambda: decide_answers(empty.target), empty.child, 30)
                for server in (banditd, empty):
                    here.load.run(server.target, WARMUP_S, None, here.work)
                runs = [
                    measure(here, server, kind, repeat, seconds, rate)
                    for repeat in range(1, SCALE_REPEATS + 1)
                    for kind, seconds, rate in (
                        ("saturation", SATURATION_S, None),
                        ("fixed_rate", FIXED_RATE_S, fixed_rate),
                    )
                    for server in (banditd, empty)
                ]
            finally:
                stop_child(empty.child)
        return {"repeats": SCALE_REPEATS, **compared(runs, banditd.name, fixed_rate)}

    return run


def compared(runs: list[Run], banditd: str, fixed_rate: float) -> dict[str, object]:
    """banditd's runs against the empty server's: medians, spreads and the three ratios."""

    def figures(server: str, kind: str, figure: Callable[[Run], float | None]) -> list[float]:
        values = (figure(r) for r in runs if r.server == server and r.kind == kind)
        return [v for v in values if v is not None]

    spreads = {
        f"{label}_{what}": spread(figures(server, kind, figure))
        for label, server in (("decide", banditd), ("empty", "empty"))
        for what, kind, figure in (
            ("rps", "saturation", lambda r: r.rps),
            ("cpu_us_per_call", "saturation", lambda r: r.cpu_us_per_call),
            ("p99_ms", "fixed_rate", lambda r: r.latency_ms.get("p99")),
        )
    }

    def ratio(what: str) -> float | None:
        top, bottom = spreads[f"decide_{what}"], spreads[f"empty_{what}"]
        if not top or not bottom or not bottom["median"]:
            return None
        return round(top["median"] / bottom["median"], 3)

    return {
        "fixed_rate_rps": round(fixed_rate, 1),
        **{key: value.get("median") for key, value in spreads.items()},
        "rps_ratio": ratio("rps"),
        "cpu_ratio": ratio("cpu_us_per_call"),
        "p99_ratio": ratio("p99_ms"),
        "spread": spreads,
        "runs": [asdict(r) for r in runs],
    }


def all_workers_answer(server: Server, token: str) -> bool:
    """Every worker answers Decide: each probe opens a new connection, which SO_REUSEPORT
    hands to any worker, so several probes in a row must pass. Creates the bench
    experiment once health says SERVING."""
    probes = 12
    if not all(health_serving(server.target) for _ in range(probes)):
        return False
    try:
        create_experiment(server.target, token)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    return all(decide_answers(server.target) for _ in range(probes))


# --- report ------------------------------------------------------------------------------
def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max; empty when no run produced the figure (its checks failed)."""
    if not values:
        return {}
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def machine(load: LoadGenerator, pinning: Pinning) -> dict[str, object]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "load_generator": load.name,
        "load_generator_version": getattr(load, "version", None),
        "pinning": pinning.describe(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def summarize(
    runs: list[Run], batch: dict[str, float | int], fixed_rate: float, extra: dict[str, object]
) -> dict[str, object]:
    def pick(server: str, kind: str) -> list[Run]:
        return [r for r in runs if r.server == server and r.kind == kind]

    def latency(server: str, kind: str, key: str) -> dict[str, float]:
        return spread([r.latency_ms[key] for r in pick(server, kind) if key in r.latency_ms])

    rps = {s: spread([r.rps for r in pick(s, "saturation")]) for s in ("decide", "empty")}
    cpu = {
        s: spread([r.cpu_us_per_call for r in pick(s, "saturation")]) for s in ("decide", "empty")
    }
    return {
        "issue": "Decide throughput vs an empty handler",
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "decide_rps": rps["decide"]["median"],
        "empty_rps": rps["empty"]["median"],
        "decide_rps_ratio": round(rps["decide"]["median"] / rps["empty"]["median"], 3),
        "decide_cpu_us_per_call": cpu["decide"]["median"],
        "empty_cpu_us_per_call": cpu["empty"]["median"],
        "cpu_ratio": round(cpu["decide"]["median"] / cpu["empty"]["median"], 3),
        "rps_spread": rps,
        "cpu_us_per_call_spread": cpu,
        "latency_ms": {
            "fixed_rate_rps": round(fixed_rate, 1),
            **{
                f"{s}_{kind}_{key}": latency(s, kind, key)
                for s in ("decide", "empty")
                for kind in ("fixed_rate", "saturation")
                for key in ("p50", "p99")
            },
        },
        # Client-observed p99 at half of banditd's saturated rate, median over the runs.
        "decide_p99_ms": latency("decide", "fixed_rate", "p99").get("median"),
        "empty_p99_ms": latency("empty", "fixed_rate", "p99").get("median"),
        # Per server core (decisions per second of server CPU): the target unit.
        "batch_decisions_per_s": batch["decisions_per_server_cpu_s"],
        "batch": batch,
        "load": {
            "clients": CLIENTS,
            "streams_per_client": STREAMS,
            "saturation_s": SATURATION_S,
            "fixed_rate_s": FIXED_RATE_S,
            "repeats": REPEATS,
            "max_workers": MAX_WORKERS_DEFAULT,
        },
        **extra,
        "runs": [asdict(r) for r in runs],
    }


def markdown(summary: dict[str, object]) -> str:
    rps = summary["rps_spread"]
    cpu = summary["cpu_us_per_call_spread"]
    lat = summary["latency_ms"]
    batch = summary["batch"]
    machine_info = summary["machine"]
    assert isinstance(rps, dict) and isinstance(cpu, dict) and isinstance(lat, dict)
    assert isinstance(batch, dict) and isinstance(machine_info, dict)

    def cell(s: dict[str, float], digits: int = 0) -> str:
        if not s:
            return "n/a"
        return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"

    def ratio(a: dict[str, float], b: dict[str, float]) -> str:
        return f"{a['median'] / b['median']:.2f}" if a and b and b["median"] else "n/a"

    rate = lat["fixed_rate_rps"]
    rows = [
        ("requests/s, saturated", rps["decide"], rps["empty"], 0),
        ("server CPU µs per call", cpu["decide"], cpu["empty"], 0),
        (
            f"p50 ms at {rate:.0f} req/s",
            lat["decide_fixed_rate_p50"],
            lat["empty_fixed_rate_p50"],
            2,
        ),
        (
            f"p99 ms at {rate:.0f} req/s",
            lat["decide_fixed_rate_p99"],
            lat["empty_fixed_rate_p99"],
            2,
        ),
        ("p50 ms, saturated", lat["decide_saturation_p50"], lat["empty_saturation_p50"], 2),
        ("p99 ms, saturated", lat["decide_saturation_p99"], lat["empty_saturation_p99"], 2),
    ]
    lines = [
        *target_lines(summary.get("targets")),
        "## banditd Decide vs an empty handler",
        "",
        f"| metric (median of {REPEATS}, min–max) | banditd Decide | empty handler | ratio |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {cell(d, n)} | {cell(e, n)} | {ratio(d, e)} |" for name, d, e, n in rows),
        "",
        f"DecideBatch (count={batch['count_per_call']}, {batch['client_threads']} Python client "
        f"threads, {batch['seconds']:.1f} s): **{batch['decisions_per_s']:.0f} decisions/s**, "
        f"{batch['cpu_us_per_decision']:.2f} µs server CPU per decision, i.e. "
        f"**{batch['decisions_per_server_cpu_s']:.0f} decisions per server core-second**.",
        "",
        *reward_lines(summary.get("rewards")),
        *worker_lines(summary.get("workers_scaling")),
        *scale_lines(summary.get("startup"), summary.get("refresh_at_scale")),
        f"Load: {machine_info['load_generator']}, {CLIENTS} connections x {STREAMS} streams, "
        f"{SATURATION_S:g} s saturated / {FIXED_RATE_S:g} s fixed-rate runs, servers alternated. "
        f"{machine_info['pinning']}. Both servers: grpc.server, ThreadPoolExecutor("
        f"max_workers={MAX_WORKERS_DEFAULT}); banditd wraps its methods (error mapping, admin "
        "auth) at registration and serves health, the empty server neither. Same response "
        f"size: {summary['response_bytes']}.",
        "",
        *kernel_lines(summary.get("kernels")),
        "",
        f"Machine: {machine_info['nproc']} CPUs, {machine_info['cpu_model']}, Python "
        f"{machine_info['python']}, grpcio {machine_info['grpcio']}, load average at start "
        f"{' '.join(machine_info['loadavg_at_start'])} (shared machine: expect noise).",
    ]
    return "\n".join(lines) + "\n"


def targets(summary: dict[str, Any]) -> list[dict[str, object]]:
    """The issue's targets against this run's figures (None: not measured in this run)."""

    def get(*path: str) -> Any:
        node: Any = summary
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def row(name: str, goal: str, value: Any, met: Callable[[float], bool]) -> dict[str, object]:
        return {
            "target": name,
            "goal": goal,
            "measured": value,
            "met": None if value is None else bool(met(float(value))),
        }

    p99 = get("latency_ms")
    p99_ratio = None
    if p99 and p99["decide_fixed_rate_p99"] and p99["empty_fixed_rate_p99"]:
        p99_ratio = round(
            p99["decide_fixed_rate_p99"]["median"] / p99["empty_fixed_rate_p99"]["median"], 3
        )
    by_workers = get("workers_scaling", "by_workers") or {}
    one_core = [r for r in by_workers.values() if len(r["cpus"]) == 1]
    per_core_ratio = None
    if len(one_core) >= 2 and one_core[0]["rps_per_server_core"]:
        per_core_ratio = round(
            one_core[-1]["rps_per_server_core"] / one_core[0]["rps_per_server_core"], 3
        )
    speedup = get("kernels", "speedup_vs_mabwiser_per_call", "thompson")
    return [
        row(
            "1. Decide server CPU per call / empty", "<= 1.1", get("cpu_ratio"), lambda v: v <= 1.1
        ),
        row("1. Decide req/s / empty", ">= 0.9", get("decide_rps_ratio"), lambda v: v >= 0.9),
        row("2. p99 at half saturation / empty", "<= 1.2", p99_ratio, lambda v: v <= 1.2),
        row(
            "3. req/s per server core, 2 workers / 1 worker (same core)",
            ">= 0.9",
            per_core_ratio,
            lambda v: v >= 0.9,
        ),
        row(
            "4. DecideBatch decisions per server core-second",
            ">= 1,000,000",
            get("batch_decisions_per_s"),
            lambda v: v >= 1e6,
        ),
        row(
            "5. reward events per server core-second",
            ">= 100,000",
            get("reward_events_per_s"),
            lambda v: v >= 1e5,
        ),
        row(
            "6. Thompson ns per decision in a batch (10 arms)",
            "<= 1000",
            get("kernel_ns_per_decision", "10_arms", "thompson"),
            lambda v: v <= 1000,
        ),
        row("6. Thompson per call vs MABWiser predict()", ">= 15x", speedup, lambda v: v >= 15),
        row(
            "7. refresh CPU, 10k experiments (fraction of a core)",
            "< 0.10",
            get("refresh_cpu_fraction_10k_experiments"),
            lambda v: v < 0.10,
        ),
        row(
            "7. at 10k: Decide req/s / empty",
            ">= 0.9",
            get("refresh_at_scale", "while_changing", "rps_ratio"),
            lambda v: v >= 0.9,
        ),
        row(
            "7. at 10k: Decide CPU per call (with refresh) / empty",
            "<= 1.1",
            get("refresh_at_scale", "while_changing", "cpu_ratio"),
            lambda v: v <= 1.1,
        ),
        row(
            "7. at 10k: p99 at the fixed rate / empty",
            "<= 1.2",
            get("refresh_at_scale", "while_changing", "p99_ratio"),
            lambda v: v <= 1.2,
        ),
        row("8. ready, warm numba cache (s)", "<= 3", get("ready_seconds_warm"), lambda v: v <= 3),
    ]


def target_lines(rows: object) -> list[str]:
    if not isinstance(rows, list):
        return []
    verdict = {True: "met", False: "NOT met", None: "not measured"}
    lines = ["## Targets", "", "| target | goal | this run | |", "|---|---|---:|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['goal']} | {r['measured']} | {verdict[r['met']]} |")
    return [*lines, ""]


def reward_lines(rewards: object) -> list[str]:
    if not isinstance(rewards, dict):
        return []
    return [
        f"ReportRewards ({rewards['streams']} streams, {rewards['events_per_batch']} events a "
        f"batch, {rewards['batches_in_flight_per_stream']} batches in flight per stream, "
        f"{rewards['seconds']:.1f} s): {rewards['events_per_s']:.0f} events/s acked, "
        f"{rewards['cpu_us_per_event']:.2f} µs server CPU per event, i.e. "
        f"**{rewards['events_per_server_cpu_s']:.0f} events per server core-second** (every "
        "id verified, every event deduplicated, acked after Redis has it).",
        "",
    ]


def worker_lines(workers: object) -> list[str]:
    if not isinstance(workers, dict):
        return []
    lines = [
        f"`--workers N` ({workers['connections']} connections, "
        f"{workers['streams_in_flight']} streams in flight; load generator on CPU {LOAD_CPU}):",
        "",
        "| workers | req/s | server cores busy | req/s per server core | p99 ms "
        "| answered <= counted in Redis <= sent |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, row in workers["by_workers"].items():
        lines.append(
            f"| {label} | {row['rps']:.0f} | {row['server_cores_busy']} | "
            f"{row['rps_per_server_core']:.0f} | {row['p99_ms']} | "
            f"{row['requests_done']} <= {row['redis_pulls_delta']} <= "
            f"{row.get('requests_started', '?')} |"
        )
    return [*lines, ""]


def scale_lines(startup: object, scale: object) -> list[str]:
    lines = []
    if isinstance(startup, dict):
        lines += [
            f"Start-up to health SERVING: warm numba cache **{startup['ready_seconds_warm']} s** "
            f"(median of {len(startup['ready_seconds_warm_all'])}: "
            f"{startup['ready_seconds_warm_all']}), cold cache {startup['ready_seconds_cold']} s "
            f"(first Decide answered after {startup['first_decide_seconds_cold']} s cold, "
            f"{startup['first_decide_seconds_warm']} s warm).",
            "",
        ]
    if isinstance(scale, dict):
        load, idle, active = scale["load"], scale["idle"], scale["active"]
        lines += [
            f"{scale['experiments']} experiments x {scale['arms']} arms on one replica "
            f"(refresh every {scale['server_settings']['refresh_interval_ms']} ms, full "
            f"refresh every {scale['server_settings']['full_refresh_s']} s): refresh CPU "
            f"**{scale['refresh_cpu_fraction_idle']} of a core** with nothing changing, "
            f"**{scale['refresh_cpu_fraction_10k_experiments']}** while "
            f"{scale['changed_per_interval']} experiments change every "
            f"{scale['change_interval_ms']} ms (decision counts and rewards written "
            f"separately, {active['partial_refreshes_per_s']} refreshes/s, keeps up: "
            f"{scale['active_refresh_keeps_up']}). Loading all of them: {load['seconds']} s "
            f"({load['server_cpu_ms_per_experiment']} ms of server CPU each); resident memory "
            f"{scale['rss_mb_after_load']} MiB after loading, {scale['rss_mb_at_end']} MiB at "
            f"the end (idle windows: {idle['seconds']} s and {active['seconds']} s).",
            "",
        ]
        during = scale.get("while_changing")
        if isinstance(during, dict):
            lines += [
                "Decide on that replica while the experiments keep changing, against an empty "
                f"server on the same CPU at the same time ({during['repeats']} runs each; "
                "banditd's CPU includes its refresh):",
                "",
                "| | banditd, 10k experiments | empty handler | ratio |",
                "|---|---:|---:|---:|",
                f"| requests/s, saturated | {during['decide_rps']} | {during['empty_rps']} | "
                f"{during['rps_ratio']} |",
                f"| server CPU µs per call | {during['decide_cpu_us_per_call']} | "
                f"{during['empty_cpu_us_per_call']} | {during['cpu_ratio']} |",
                f"| p99 ms at {during['fixed_rate_rps']:.0f} req/s | {during['decide_p99_ms']} | "
                f"{during['empty_p99_ms']} | {during['p99_ratio']} |",
                "",
            ]
    return lines


def kernel_lines(kernels: object) -> list[str]:
    """The kernel table of bench.md, from bench_kernels.run()."""
    if not isinstance(kernels, dict):
        return []
    theirs = kernels["mabwiser_predict_ns"]
    lines = [
        f"Kernels, {kernels['arms']} arms (ns; {kernels['method']}):",
        "",
        "| policy | per call | per decision in a batch | MABWiser predict() | x faster per call |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, ours in kernels["kernel_ns"].items():
        mab = theirs.get(name, "-") if isinstance(theirs, dict) else "-"
        speedup = kernels.get("speedup_vs_mabwiser_per_call", {}).get(name, "-")
        lines.append(
            f"| {name} | {ours['per_call_ns']} | {ours['batch_ns_per_decision']} | {mab} | "
            f"{speedup} |"
        )
    lines += ["", f"numpy Thompson per call: {kernels['numpy_thompson_per_call_ns']} ns.", ""]
    return lines


# --- orchestration -----------------------------------------------------------------------
def start_banditd(
    work: Path,
    redis_url: str,
    token: str,
    pinning: Pinning,
    workers: int = 1,
    key_prefix: str = KEY_PREFIX,
    cpus: tuple[int, ...] = (SERVER_CPU,),
) -> Server:
    env = {
        "BANDITD_REDIS_URL": redis_url,
        "BANDITD_ADMIN_TOKEN": token,
        "BANDITD_REDIS_KEY_PREFIX": key_prefix,
    }
    log = work / f"banditd-{key_prefix}.log"
    child, target = processes.start_banditd(log, env, pinning, cpus, workers)
    return Server("decide", child, target)


def start_empty(work: Path, pinning: Pinning) -> Server:
    target = f"127.0.0.1:{free_port()}"
    argv = [
        *pinning.prefix(SERVER_CPU), sys.executable, "-m", "loadtest.empty_server",
        "--listen", target, "--max-workers", str(MAX_WORKERS_DEFAULT),
    ]  # fmt: skip
    # The allocator `banditd serve` runs on (bandit_service/launch.py).
    env = {**python_env(), "PYTHONMALLOC": "malloc"}
    child = start_child("empty_server", argv, env, work / "empty_server.log")
    return Server("empty", child, target)


def choose_load(wanted: str, pinning: Pinning) -> tuple[LoadGenerator, str]:
    if wanted == "python":
        return PythonLoad(), "Python load generator requested"
    path, how = ensure_h2load()
    if path is not None:
        return H2Load(path, pinning), f"h2load: {how}"
    if wanted == "h2load":
        raise RuntimeError(f"h2load {how}")
    return PythonLoad(), f"h2load {how}; FALLING BACK to the Python gRPC load generator"


def run_bench(wanted_load: str, out_dir: Path) -> int:
    began = time.monotonic()
    pinning = Pinning()
    load, load_note = choose_load(wanted_load, pinning)
    print(f"bench: {load_note}\nbench: {pinning.describe()}", flush=True)
    checks = Checks()
    children: list[Child] = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="banditd-bench-")))
        redis_server = EmbeddedRedis(work / "redis", lock=False).start()
        stack.callback(redis_server.stop)

        @stack.callback
        def stop_children() -> None:
            for child in reversed(children):
                stop_child(child)

        token = secrets.token_urlsafe(24)
        decide = start_banditd(work, redis_server.url, token, pinning)
        children.append(decide.child)
        empty = start_empty(work, pinning)
        children.append(empty.child)
        pulls = PullCounter(redis_server.url)
        stack.callback(pulls.close)

        wait_until("banditd", lambda: health_serving(decide.target), decide.child, 120)
        create_experiment(decide.target, token)
        wait_until("empty server", lambda: decide_answers(empty.target), empty.child, 30)
        real, fake = decide_once(decide.target), decide_once(empty.target)
        sizes = (real.ByteSize(), fake.ByteSize())
        checks.add("real gRPC Decide on banditd", True, f"arm {real.arm}, epoch {real.epoch}")
        checks.add("real gRPC Decide on the empty server", True, f"arm {fake.arm}")
        if sizes[0] != sizes[1]:
            print(f"bench: note: response sizes differ: banditd {sizes[0]} B, empty {sizes[1]} B")
        print(
            f"bench: servers ready after {time.monotonic() - began:.1f} s; warming up", flush=True
        )

        cpu_before = cpu_seconds(decide.child.pid)
        time.sleep(1.0)
        idle_cpu = cpu_seconds(decide.child.pid) - cpu_before
        for server in (decide, empty):
            load.run(server.target, WARMUP_S, None, work)

        rig = Rig(load, work, checks, pulls)
        runs = [
            measure(rig, server, "saturation", repeat, SATURATION_S, None)
            for repeat in range(1, REPEATS + 1)
            for server in (decide, empty)
        ]
        decide_rps = statistics.median(r.rps for r in runs if r.server == "decide")
        fixed_rate = FIXED_RATE_SHARE * decide_rps
        runs += [
            measure(rig, server, "fixed_rate", repeat, FIXED_RATE_S, fixed_rate)
            for repeat in range(1, REPEATS + 1)
            for server in (decide, empty)
        ]
        batch = measure_batch(decide, pulls, checks)
        print("bench: reward ingestion (ReportRewards streams)", flush=True)
        rewards = bench_rewards.measure_rewards(
            decide.target,
            redis_server.url,
            STATS_KEY,
            EXPERIMENT,
            functools.partial(cpu_seconds, decide.child.pid),
        )
        for what, (ok, detail) in rewards.pop("checks").items():  # type: ignore[attr-defined]
            checks.add(f"rewards: {what}", ok, detail)
        print(
            f"bench: rewards: {rewards['events_per_s']:.0f} events/s, "
            f"{rewards['cpu_us_per_event']:.2f} µs server CPU per event",
            flush=True,
        )
        workers = measure_workers(rig, redis_server.url, token, pinning)
        print("bench: kernels (numba, numpy, MABWiser in .venv-mabwiser)", flush=True)
        kernels = bench_kernels.run(10)

        summary = summarize(
            runs,
            batch,
            fixed_rate,
            {
                "machine": machine(load, pinning),
                "load_generator_note": load_note,
                "banditd_idle_cpu_percent": round(idle_cpu * 100, 1),
                "response_bytes": {"decide": sizes[0], "empty": sizes[1]},
                "kernels": kernels,
                "kernel_ns_per_decision": {
                    f"{kernels['arms']}_arms": {
                        name: ns["batch_ns_per_decision"]
                        for name, ns in kernels["kernel_ns"].items()  # type: ignore[attr-defined]
                    }
                },
                "mabwiser_ns_per_decision": kernels["mabwiser_predict_ns"],
                "reward_events_per_s": rewards["events_per_server_cpu_s"],
                "rewards": rewards,
                "workers_scaling": workers,
            },
        )
    # After the servers above have stopped: these start their own, on the same CPU.
    print("bench: start-up, cold and warm numba cache", flush=True)
    startup = bench_scale.measure_startup(pinning=pinning)
    print("bench: refresh cost with 10,000 experiments", flush=True)
    scale = bench_scale.measure_refresh_at_scale(
        pinning=pinning, while_changing=decide_at_scale(rig, pinning, fixed_rate)
    )
    checks.add(
        "scale: the refresh keeps up while 1% of experiments change every interval",
        bool(scale["active_refresh_keeps_up"]),
        f"{scale['refresh_cpu_fraction_10k_experiments']} of a core",
    )
    shutdown = cast(dict[str, object], scale["shutdown_after_active"])
    checks.add(
        "scale: the replica stops on SIGTERM",
        not shutdown["sigkill_needed"],
        f"{shutdown['seconds']} s",
    )
    summary.update(
        {
            "ready_seconds_warm": startup["ready_seconds_warm"],
            "ready_seconds_cold": startup["ready_seconds_cold"],
            "startup": startup,
            "refresh_cpu_fraction_10k_experiments": scale["refresh_cpu_fraction_10k_experiments"],
            "refresh_at_scale": scale,
            "checks_ok": checks.all_ok,
            "checks": checks.items,
            "duration_s": round(time.monotonic() - began, 1),
        }
    )
    summary["targets"] = targets(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown(summary)
    (out_dir / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / "bench.md").write_text(table)
    print()
    print(table)
    print(f"bench: wrote {out_dir / 'bench.json'} and bench.md in {summary['duration_s']} s")
    if not checks.all_ok:
        print("bench: some checks FAILED (see 'checks' in bench.json)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loadtest.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--load-generator",
        choices=("auto", "h2load", "python"),
        default="auto",
        help="auto: h2load, installing it if possible, else Python",
    )
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        return run_bench(args.load_generator, args.out_dir)
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
