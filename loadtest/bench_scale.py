"""Start-up time and refresh cost at scale, for `make bench`.

measure_startup(): seconds from spawning `banditd serve` until gRPC health reports SERVING,
with an empty numba cache (cold) and with the cache it left (warm). measure_refresh_at_scale():
CPU of one replica keeping 10,000 loaded Thompson experiments fresh, idle and while 1% of
them change every refresh interval. Both return plain dicts; main() runs both, prints JSON.

    .venv/bin/python -m loadtest.bench_scale [--experiments 10000] [--window-s 32]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import cast

import grpc
import redis
from banditd.v1 import admin_pb2, common_pb2, decisions_pb2, decisions_pb2_grpc

from bandit_service import convert
from bandit_service.admin import AdminService
from bandit_service.config import Settings
from bandit_service.domain import Experiment
from bandit_service.embedded_redis import EmbeddedRedis
from bandit_service.engine import Engine, now_ms
from bandit_service.store import Keys, PullFlush, RedisStateStore, RewardWrite

from . import processes
from .processes import (
    LOAD_CPU,
    SERVER_CPU,
    Child,
    Pinning,
    cpu_seconds,
    health_serving,
    raise_interrupt,
    stop_child,
)

KEY_PREFIX = "banditd"  # the default; every Redis here is private to the measurement
ACTOR = "loadtest.bench_scale"
READY_TARGET_WARM_S = 3.0  # the issue: a warm replica is ready within 3 s
POLL_S = 0.02
DEFAULTS = Settings.model_fields  # the service's defaults, which the replicas here run with
# "kernels warm in 0.21 s, ready in 0.35 s": the replica's own account of its start.
SERVER_READY_LOG = re.compile(r"kernels warm in ([\d.]+) s, ready in ([\d.]+) s")


def log(message: str) -> None:
    print(f"bench_scale: {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- processes and /proc -----------------------------------------------------------------
def start_banditd(
    work: Path, redis_url: str, pinning: Pinning | None, env: dict[str, str], log_name: str
) -> tuple[Child, str]:
    """`banditd serve` on this measurement's Redis, with the service's default settings."""
    settings = {**env, "BANDITD_REDIS_URL": redis_url, "BANDITD_REDIS_KEY_PREFIX": KEY_PREFIX}
    return processes.start_banditd(work / log_name, settings, pinning)


def cpu_busy_seconds(cpu: int) -> float:
    """Seconds CPU `cpu` was busy (any process) since boot, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields[0] == f"cpu{cpu}":
            user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
            return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")


def rss_mb(pid: int) -> float:
    """Resident memory of the process (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


@functools.cache
def process_pinning() -> Pinning:
    """This process's Pinning, created once: Pinning() moves the calling process to LOAD_CPU,
    so a second one would find a single usable CPU and turn itself off."""
    pinning = Pinning()
    cpus = os.cpu_count() or 1
    if not pinning.enabled and pinning.taskset and os.sched_getaffinity(0) == {LOAD_CPU}:
        # Another Pinning (loadtest.bench's) moved this process to LOAD_CPU already.
        pinning.enabled = max(SERVER_CPU, LOAD_CPU) < cpus
    return pinning


def resolve_pinning(pinning: Pinning | bool) -> Pinning | None:
    """True: this process's Pinning; False: none; or the caller's own (loadtest.bench's)."""
    if isinstance(pinning, Pinning):
        return pinning
    return process_pinning() if pinning else None


def describe(pinning: Pinning | None) -> str:
    return pinning.describe() if pinning is not None else "no CPU pinning (pinning=False)"


def stop_timed(child: Child, timeout_s: float) -> dict[str, object]:
    """SIGTERM by PID; SIGKILL after timeout_s. How long the graceful stop took."""
    started = time.monotonic()
    child.process.terminate()
    try:
        code = child.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.process.kill()
        child.process.wait()
        return {"seconds": round(time.monotonic() - started, 2), "sigkill_needed": True}
    return {"seconds": round(time.monotonic() - started, 2), "sigkill_needed": False, "exit": code}


# --- gRPC --------------------------------------------------------------------------------
def decide(target: str, experiment: str, timeout_s: float = 5.0) -> bool:
    """One Decide on a fresh channel; True if it returned OK."""
    with grpc.insecure_channel(target) as channel:
        try:
            decisions_pb2_grpc.DecisionsStub(channel).Decide(
                decisions_pb2.DecideRequest(experiment=experiment), timeout=timeout_s
            )
        except grpc.RpcError:
            return False
    return True


def seconds_until(
    what: str, ready: Callable[[], bool], child: Child, started: float, timeout_s: float
) -> float:
    """Seconds since started at which ready() first held, polled every POLL_S."""
    deadline = started + timeout_s
    next_poll = time.monotonic()
    while True:
        if child.process.poll() is not None:
            raise RuntimeError(
                f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}"
            )
        if ready():
            return time.monotonic() - started
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not within {timeout_s:.0f} s:\n{child.log_tail()}")
        next_poll += POLL_S
        time.sleep(max(0.0, next_poll - time.monotonic()))


# --- experiments, written the way the service writes them --------------------------------
class _NoReplica:
    """Stands in for the engine: AdminService installs what it creates on its own replica;
    this process serves nothing, so there is nothing to install."""

    def apply(self, experiment: Experiment, raw: object = None) -> None:
        pass


def arm_names(arms: int) -> list[str]:
    return [f"v{i}" for i in range(arms)]


def create_request(name: str, arms: int) -> admin_pb2.CreateExperimentRequest:
    """What `banditctl experiment create NAME --arm v0 ... --policy thompson` sends."""
    return admin_pb2.CreateExperimentRequest(
        name=name,
        description="loadtest.bench_scale",
        policy=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_THOMPSON, thompson=admin_pb2.ThompsonParams()
        ),
        reward_type=admin_pb2.REWARD_TYPE_BINARY,
        arms=[admin_pb2.ArmSpec(name=arm, version=f"model-{arm}") for arm in arm_names(arms)],
    )


def create_experiments(
    redis_url: str, names: Sequence[str], arms: int, key_prefix: str = KEY_PREFIX
) -> None:
    """Creates Thompson experiments named `names` with `arms` arms each."""
    create_from_requests(redis_url, (create_request(name, arms) for name in names), key_prefix)


def create_from_requests(
    redis_url: str,
    requests: Iterable[admin_pb2.CreateExperimentRequest],
    key_prefix: str = KEY_PREFIX,
) -> None:
    """Creates the experiments through the admin use case the CreateExperiment RPC runs
    (same translation, validation, Lua script, history entry and changes-feed notice), from
    this process: about 0.4 ms each instead of a gRPC round trip through the server."""
    store = RedisStateStore.from_url(redis_url, key_prefix)
    try:
        settings = Settings.model_validate({"redis_url": redis_url, "redis_key_prefix": key_prefix})
        admin = AdminService(store, cast(Engine, _NoReplica()), settings)
        for request in requests:
            admin.create_experiment(convert.experiment_from_create(request), ACTOR)
    finally:
        store.close()


def seed_statistics(
    redis_url: str,
    names: Sequence[str],
    arms: int,
    rng: random.Random,
    key_prefix: str = KEY_PREFIX,
    chunk: int = 500,
) -> int:
    """Gives every arm a history (1,000 to 50,000 pulls, 1% to 10% conversion) the way
    `banditctl arm import` records one: the store's own import_outcomes script, with its
    changes-feed notice, pipelined (the RPC would take a round trip per arm).

    Returns the number of imports applied.
    """
    client = redis.Redis.from_url(redis_url)
    source = resources.files("bandit_service").joinpath("lua", "import_outcomes.lua").read_text()
    script = client.register_script(source)
    keys = Keys(key_prefix)
    notices = RedisStateStore(client, key_prefix)
    applied = 0
    try:
        for start in range(0, len(names), chunk):
            batch = names[start : start + chunk]
            pipe = client.pipeline(transaction=False)
            for name in batch:
                for arm in arm_names(arms):
                    pulls = rng.randint(1_000, 50_000)
                    successes = round(pulls * rng.uniform(0.01, 0.10))
                    # Binary rewards: a success is a reward of 1, so its square is 1 too.
                    reward_sum = repr(float(successes))
                    script(
                        keys=[keys.stats(name), keys.imports(name)],
                        args=[f"{ACTOR}-seed-{arm}", arm, pulls, successes, reward_sum, reward_sum],
                        client=pipe,
                    )
            applied += sum(int(r) for r in pipe.execute())
            notices.note_changed(batch)
    finally:
        client.close()
    return applied


# --- what the server does, seen from Redis -----------------------------------------------
def command_calls(client: redis.Redis) -> dict[str, int]:
    """Calls per Redis command so far (INFO commandstats), e.g. {"hget": 20000}."""
    info = cast(dict[str, dict[str, int]], client.info("commandstats"))
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


@dataclass
class WindowProbe:
    """Samples the server's CPU every second and notices full refreshes.

    A full refresh is the only thing that reads the config of an experiment nobody writes
    to (the sentinel); OBJECT IDLETIME (which does not touch the key) drops back to 0 then.
    """

    client: redis.Redis
    pid: int
    sentinel_key: str
    step_s: float = 1.0
    cpu_per_step: list[float] = field(default_factory=list)
    full_refreshes: int = 0

    def _idle_s(self) -> int:
        return int(cast(int, self.client.object("idletime", self.sentinel_key)))

    def run(self, seconds: float) -> None:
        last_idle = self._idle_s()
        last_cpu = cpu_seconds(self.pid)
        started = time.monotonic()
        ticks = max(1, round(seconds / self.step_s))
        for tick in range(1, ticks + 1):
            # Quarter steps: the idle time counts whole seconds, a full refresh resets it.
            for quarter in range(1, 5):
                wake = started + (tick - 1 + quarter / 4) * seconds / ticks
                time.sleep(max(0.0, wake - time.monotonic()))
                idle = self._idle_s()
                if idle < last_idle:
                    self.full_refreshes += 1
                last_idle = idle
            cpu = cpu_seconds(self.pid)
            self.cpu_per_step.append(round(cpu - last_cpu, 2))
            last_cpu = cpu


def window(
    client: redis.Redis,
    pid: int,
    sentinel_key: str,
    seconds: float,
    loaded: int,
    server_cpu: int | None,
) -> dict[str, object]:
    """Server CPU over `seconds`, and the refreshes it did meanwhile (from Redis' counters).

    server_cpu: the CPU the server is pinned to; what other processes ran there meanwhile
    is reported too, since a busy neighbour there starves the server.
    """
    probe = WindowProbe(client, pid, sentinel_key)
    calls_before = command_calls(client)
    busy_before = cpu_busy_seconds(server_cpu) if server_cpu is not None else 0.0
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    probe.run(seconds)
    cpu, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - wall_before
    others = None
    if server_cpu is not None:
        others = round(max(0.0, cpu_busy_seconds(server_cpu) - busy_before - cpu) / wall, 3)
    calls = command_calls(client)

    def delta(command: str) -> int:
        return calls.get(command, 0) - calls_before.get(command, 0)

    # A partial refresh reads the two changes feeds (all changes, config changes: one
    # ZRANGEBYSCORE each, nothing else uses it); every refresh then reads one HGETALL
    # (statistics) per experiment it reloads.
    partial = delta("zrangebyscore") // 2
    refreshes = partial + probe.full_refreshes
    names_read = delta("hgetall")
    names_in_partial = names_read - probe.full_refreshes * loaded
    interval_s = cast(int, DEFAULTS["refresh_interval_ms"].default) / 1000
    return {
        "seconds": round(wall, 2),
        "server_cpu_s": round(cpu, 2),
        "cpu_fraction": round(cpu / wall, 4),
        "cpu_s_per_second": probe.cpu_per_step,
        # Share of the server's CPU that other processes used (None: not pinned). Much
        # above 0 means the server was starved and the window says little.
        "other_processes_on_server_cpu": others,
        "partial_refreshes": partial,
        "partial_refreshes_per_s": round(partial / wall, 2),
        "full_refreshes": probe.full_refreshes,
        # How stale a snapshot gets: the replica refreshes once per cycle (0.1 s when it
        # keeps up); a refresh that takes longer delays the next.
        "seconds_per_refresh": round(wall / refreshes, 3) if refreshes else None,
        "refresh_keeps_up": refreshes >= 0.5 * wall / interval_s,
        "experiments_read": names_read,
        "experiments_read_per_partial_refresh": (
            round(names_in_partial / partial, 1) if partial else None
        ),
    }


# --- load: the background writer ----------------------------------------------------------
class ChangeWriter:
    """Every interval, writes new decisions (a replica's count flush) and rewards to `per_tick`
    random experiments with the store calls the service uses, so the changes feed names them."""

    def __init__(
        self,
        redis_url: str,
        names: Sequence[str],
        arms: int,
        per_tick: int,
        interval_s: float,
        seed: int,
    ) -> None:
        self._store = RedisStateStore.from_url(redis_url, KEY_PREFIX)
        self._names = list(names)
        self._arms = arm_names(arms)
        self._per_tick = min(per_tick, len(self._names))
        self._interval_s = interval_s
        self._rng = random.Random(seed)
        self._seq: dict[str, int] = {}
        self._replica = f"bench-scale-{seed}"
        self._ttl_s = int(cast(int, DEFAULTS["decision_ttl_s"].default))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-scale-writer", daemon=True)
        self.ticks = 0
        self.late_ticks = 0
        self.busy_s = 0.0
        self.errors: list[str] = []

    def __enter__(self) -> ChangeWriter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        self._store.close()

    def tick(self) -> None:
        rng = self._rng
        chosen = rng.sample(self._names, self._per_tick)
        flushes = []
        for name in chosen:
            self._seq[name] = seq = self._seq.get(name, 0) + 1
            counts = {arm: rng.randint(5, 40) for arm in self._arms}
            flushes.append(PullFlush(name, seq, counts))
        self._store.flush_pulls(self._replica, flushes)
        hour = now_ms() // 3_600_000
        for flush in flushes:
            rewarded = [arm for arm in flush.counts if rng.random() < 0.1]
            writes = [
                RewardWrite(hour, rng.randbytes(8), f"e{self.ticks}-{i}", arm, 1.0)
                for i, arm in enumerate(rewarded)
            ]
            if writes:
                self._store.record_rewards(flush.experiment, writes, False, self._ttl_s)

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.tick()
            except Exception as exc:  # reported, never silently lost
                if len(self.errors) < 5:
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            self.ticks += 1
            self.busy_s += time.monotonic() - began
            next_tick += self._interval_s
            if time.monotonic() > next_tick:
                self.late_ticks += 1
                next_tick = time.monotonic()
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def report(self) -> dict[str, object]:
        return {
            "experiments_per_tick": self._per_tick,
            "interval_ms": round(self._interval_s * 1000),
            "ticks": self.ticks,
            "late_ticks": self.late_ticks,
            "mean_tick_ms": round(self.busy_s / max(self.ticks, 1) * 1000, 1),
            "errors": self.errors,
        }


def load_all(
    target: str, names: Sequence[str], threads: int, timeout_s: float
) -> tuple[int, list[str]]:
    """One Decide per experiment from `threads` threads; returns (OK count, some failures)."""
    deadline = time.monotonic() + timeout_s
    failures: list[str] = []

    def drive(part: Sequence[str]) -> int:
        ok = 0
        with grpc.insecure_channel(target) as channel:
            stub = decisions_pb2_grpc.DecisionsStub(channel)
            for name in part:
                if time.monotonic() > deadline:
                    failures.append(f"load not done within {timeout_s:.0f} s")
                    break
                try:
                    stub.Decide(decisions_pb2.DecideRequest(experiment=name), timeout=30.0)
                    ok += 1
                except grpc.RpcError as exc:
                    if len(failures) < 5:
                        failures.append(f"{name}: {exc.code().name}: {exc.details()}")
        return ok

    with futures.ThreadPoolExecutor(threads, thread_name_prefix="bench-scale-load") as pool:
        done = sum(pool.map(drive, [names[i::threads] for i in range(threads)]))
    return done, failures


def settle(client: redis.Redis, timeout_s: float, quiet_ms: int = 2500) -> float:
    """Waits until the replica has caught up with the load: the changes feed has had no
    notice for quiet_ms (its decision counts are flushed and reloaded) and it refreshes at
    least 5 times a second (it is not stuck rebuilding). Returns seconds waited."""
    started = time.monotonic()
    sequence = Keys(KEY_PREFIX).changes_seq
    last, quiet_since = client.get(sequence), time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = command_calls(client).get("zrangebyscore", 0)
        time.sleep(1.0)
        refreshes = command_calls(client).get("zrangebyscore", 0) - before
        now = client.get(sequence)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif refreshes >= 5 and time.monotonic() - quiet_since >= quiet_ms / 1000:
            break
    return round(time.monotonic() - started, 2)


@contextlib.contextmanager
def private_redis(work: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(work / "redis", lock=False).start()
    try:
        yield server
    finally:
        server.stop()


def time_start(
    work: Path,
    redis_url: str,
    pinning: Pinning | None,
    numba_cache: Path,
    experiment: str,
    label: str,
    timeout_s: float,
) -> dict[str, object]:
    """Starts one replica and times it: to health SERVING, then to a first Decide."""
    env = {"NUMBA_CACHE_DIR": str(numba_cache)}
    spawned = time.monotonic()
    child, target = start_banditd(work, redis_url, pinning, env, f"banditd-{label}.log")
    try:
        ready = seconds_until(
            "health SERVING", lambda: health_serving(target), child, spawned, timeout_s
        )
        decided = seconds_until(
            "a first Decide", lambda: decide(target, experiment, 60.0), child, spawned, timeout_s
        )
    finally:
        stop_child(child)
    reported = SERVER_READY_LOG.search(child.log.read_text(errors="replace"))
    return {
        "ready_s": round(ready, 3),
        "first_decide_s": round(decided, 3),
        # The replica's own clock: kernels compiled or loaded, and BanditServer.start() to
        # SERVING (after interpreter start-up and imports, which ready_s includes).
        "server_kernels_warm_s": float(reported[1]) if reported else None,
        "server_start_to_serving_s": float(reported[2]) if reported else None,
    }


# --- the two measurements -----------------------------------------------------------------
def measure_startup(
    *,
    warm_starts: int = 3,
    numba_cache_dir: Path | None = None,
    pinning: Pinning | bool = True,
    timeout_s: float = 180.0,
) -> dict[str, object]:
    """Seconds from spawning `banditd serve` until health reports SERVING, cold and warm.

    Cold: NUMBA_CACHE_DIR is an empty directory (numba compiles every kernel); warm: the same
    directory again, as a restarted replica finds it. After each SERVING, one Decide on an
    existing experiment is timed too (first_decide_seconds_*), to check that SERVING means
    it can serve. numba_cache_dir, if given, must be empty and is left warm; else a
    temporary one is used and removed. pinning: True pins the servers to CPU 0 and this
    process to CPU 1 like loadtest.bench (which passes its own Pinning), False does not.
    """
    pinned = resolve_pinning(pinning)
    experiment = "startup-check"
    began = time.monotonic()
    runs: list[dict[str, object]] = []
    cached_files = 0
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="banditd-startup-")))
        cache = numba_cache_dir if numba_cache_dir is not None else work / "numba-cache"
        cache.mkdir(parents=True, exist_ok=True)
        if any(cache.iterdir()):
            raise RuntimeError(f"numba cache {cache} is not empty; a cold start needs it empty")
        redis_server = stack.enter_context(private_redis(work))
        create_experiments(redis_server.url, [experiment], 10)
        for attempt in range(1 + warm_starts):
            kind = "cold" if attempt == 0 else "warm"
            run = time_start(
                work, redis_server.url, pinned, cache, experiment, f"startup-{attempt}", timeout_s
            )
            runs.append({"kind": kind, **run})
            if kind == "cold":
                cached_files = sum(1 for p in cache.rglob("*") if p.is_file())
            log(
                f"{kind} start: SERVING after {run['ready_s']} s, "
                f"first Decide after {run['first_decide_s']} s"
            )

    cold, warm = runs[0], runs[1:]

    def median(key: str) -> float | None:
        values = [cast(float, r[key]) for r in warm if r[key] is not None]
        return round(statistics.median(values), 3) if values else None

    ready_warm, decided_warm = median("ready_s"), median("first_decide_s")
    cold_ready, cold_decided = cast(float, cold["ready_s"]), cast(float, cold["first_decide_s"])
    gaps = [cast(float, r["first_decide_s"]) - cast(float, r["ready_s"]) for r in runs]
    return {
        "ready_seconds_cold": cold_ready,
        "ready_seconds_warm": ready_warm,
        "ready_seconds_warm_all": [r["ready_s"] for r in warm],
        "first_decide_seconds_cold": cold_decided,
        "first_decide_seconds_warm": decided_warm,
        "first_decide_seconds_warm_all": [r["first_decide_s"] for r in warm],
        "decide_after_serving_seconds": {
            "cold": round(gaps[0], 3),
            "warm": round(statistics.median(gaps[1:]), 3) if warm else None,
        },
        # A Decide on a warm replica takes milliseconds; much longer right after SERVING
        # means something on the decision path was compiled only then.
        "serving_before_kernels_compiled": any(gap > 0.5 for gap in gaps),
        "ready_target_warm_s": READY_TARGET_WARM_S,
        "ready_warm_within_target": (
            decided_warm is not None and decided_warm <= READY_TARGET_WARM_S
        ),
        "ready_means": (
            "ready_seconds: from spawning the process until gRPC health (banditd.v1.Decisions) "
            f"reports SERVING, polled every {POLL_S * 1000:.0f} ms. first_decide_seconds: until "
            "the first Decide sent right after SERVING has answered; that is the time to "
            "serve, and what ready_warm_within_target judges"
        ),
        "numba_cache": {
            "files_after_cold_start": cached_files,
            "honoured": cached_files > 0 and ready_warm is not None and ready_warm < cold_ready,
        },
        "runs": runs,
        "pinning": describe(pinned),
        "duration_s": round(time.monotonic() - began, 1),
    }


# (replica, its gRPC target, Redis URL) -> figures; see measure_refresh_at_scale.
WhileChanging = Callable[[Child, str, str], dict[str, object]]


def measure_refresh_at_scale(
    n_experiments: int = 10_000,
    arms: int = 10,
    *,
    idle_window_s: float = 32.0,
    active_window_s: float = 32.0,
    changed_per_interval: int = 100,
    change_interval_ms: int = 100,
    load_threads: int = 8,
    load_timeout_s: float = 600.0,
    numba_cache_dir: Path | None = None,
    pinning: Pinning | bool = True,
    seed: int = 7,
    while_changing: WhileChanging | None = None,
) -> dict[str, object]:
    """Server CPU spent keeping n_experiments loaded experiments fresh, as a fraction of a core.

    Creates the experiments (Thompson sampling, binary rewards, `arms` arms, each with an
    imported history), starts one replica with default settings, loads every experiment
    with one Decide, then measures the replica's CPU (utime + stime) over idle_window_s
    with no traffic (a) and over active_window_s while a writer here changes the statistics
    of changed_per_interval random experiments every change_interval_ms (b). The default
    windows (32 s) hold one full refresh (every 30 s). numba_cache_dir: the replica's
    NUMBA_CACHE_DIR (None: the default cache beside the code, as `make bench` uses).
    pinning: as for measure_startup. while_changing: called after (b) while the writer
    goes on, with the replica, its target and the Redis URL, to measure decisions at this
    scale; what it returns is reported as "while_changing".
    """
    pinned = resolve_pinning(pinning)
    began = time.monotonic()
    names = [f"scale-{i:05d}" for i in range(n_experiments)]
    # The writer never touches the sentinel, so only full refreshes read its config.
    sentinel, writable = names[0], names[1:]
    rng = random.Random(seed)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="banditd-scale-")))
        redis_server = stack.enter_context(private_redis(work))
        client = redis.Redis.from_url(redis_server.url)
        stack.callback(client.close)

        log(f"creating {n_experiments} experiments with {arms} arms")
        started = time.monotonic()
        create_experiments(redis_server.url, names, arms)
        create_s = time.monotonic() - started
        started = time.monotonic()
        imports = seed_statistics(redis_server.url, names, arms, rng)
        seed_s = time.monotonic() - started
        log(f"created in {create_s:.1f} s, statistics imported in {seed_s:.1f} s")

        env = {"NUMBA_CACHE_DIR": str(numba_cache_dir)} if numba_cache_dir is not None else {}
        child, target = start_banditd(work, redis_server.url, pinned, env, "banditd-scale.log")
        stack.callback(stop_child, child)
        spawned = time.monotonic()
        serving_s = seconds_until(
            "health SERVING", lambda: health_serving(target), child, spawned, 180.0
        )
        rss_before = rss_mb(child.pid)
        log(f"replica SERVING after {serving_s:.1f} s")

        log(f"loading {n_experiments} experiments with one Decide each ({load_threads} threads)")
        cpu_before, started = cpu_seconds(child.pid), time.monotonic()
        loaded, failures = load_all(target, names, load_threads, load_timeout_s)
        load_s, load_cpu = time.monotonic() - started, cpu_seconds(child.pid) - cpu_before
        if failures:
            raise RuntimeError(f"loading failed: {'; '.join(failures)}")
        settle_s = settle(client, timeout_s=60.0)
        rss_loaded = rss_mb(child.pid)
        log(f"loaded in {load_s:.1f} s, settled in {settle_s:.1f} s, RSS {rss_loaded} MiB")

        sentinel_key = Keys(KEY_PREFIX).config(sentinel)
        log(f"idle window: {idle_window_s:g} s")
        server_cpu = SERVER_CPU if pinned is not None and pinned.enabled else None
        idle = window(client, child.pid, sentinel_key, idle_window_s, loaded, server_cpu)
        log(f"idle: {idle['cpu_fraction']} of a core")

        writer = ChangeWriter(
            redis_server.url,
            writable,
            arms,
            changed_per_interval,
            change_interval_ms / 1000,
            seed,
        )
        with writer:
            time.sleep(min(2.0, active_window_s))  # into the steady state first
            log(f"active window: {active_window_s:g} s, {changed_per_interval} changes / tick")
            active = window(client, child.pid, sentinel_key, active_window_s, loaded, server_cpu)
            during = while_changing(child, target, redis_server.url) if while_changing else None
        active["writer"] = writer.report()
        log(f"active: {active['cpu_fraction']} of a core")
        rss_end = rss_mb(child.pid)
        # A replica finishes the refresh it is in before it exits; behind, that takes a while.
        shutdown = stop_timed(child, timeout_s=15.0)
        log(f"stopped in {shutdown['seconds']} s")

    return {
        "refresh_cpu_fraction_10k_experiments": active["cpu_fraction"],
        "refresh_cpu_fraction_idle": idle["cpu_fraction"],
        # One core is all a replica's refresh can use (one thread, one GIL): past that it
        # falls behind rather than using more, so read the fraction with these two.
        "active_refresh_keeps_up": active["refresh_keeps_up"],
        "server_cpu_shared_with_other_processes": any(
            cast(float, w["other_processes_on_server_cpu"] or 0.0) > 0.25 for w in (idle, active)
        ),
        "experiments": n_experiments,
        "arms": arms,
        "policy": "thompson, binary rewards",
        "server_settings": {
            key: DEFAULTS[key].default
            for key in ("refresh_interval_ms", "full_refresh_s", "flush_interval_ms", "share_draws")
        },
        "changed_per_interval": changed_per_interval,
        "change_interval_ms": change_interval_ms,
        "create_seconds": round(create_s, 2),
        "replica_serving_seconds": round(serving_s, 2),
        "statistics_imports": imports,
        "statistics_seconds": round(seed_s, 2),
        "load": {
            "experiments_loaded": loaded,
            "threads": load_threads,
            "seconds": round(load_s, 2),
            "seconds_per_experiment": round(load_s / max(loaded, 1), 5),
            "server_cpu_s": round(load_cpu, 2),
            "server_cpu_ms_per_experiment": round(load_cpu / max(loaded, 1) * 1000, 3),
            "settle_seconds": settle_s,
        },
        "rss_mb_serving_empty": rss_before,
        "rss_mb_after_load": rss_loaded,
        "rss_mb_at_end": rss_end,
        "rss_kb_per_experiment": round((rss_loaded - rss_before) * 1024 / max(loaded, 1), 2),
        "shutdown_after_active": shutdown,
        "idle": idle,
        "active": active,
        "while_changing": during,
        "pinning": describe(pinned),
        "duration_s": round(time.monotonic() - began, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loadtest.bench_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--arms", type=int, default=10)
    parser.add_argument("--window-s", type=float, default=32.0, help="each CPU window")
    parser.add_argument("--warm-starts", type=int, default=3)
    parser.add_argument("--only", choices=("startup", "refresh"), help="run one measurement")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)
    began = time.monotonic()
    result: dict[str, object] = {}
    try:
        # Only the JSON goes to stdout (loadtest.bench's helpers print there too).
        with (
            contextlib.redirect_stdout(sys.stderr),
            tempfile.TemporaryDirectory(prefix="banditd-numba-") as cache,
        ):
            # One cache for both: the scale replica starts warm from what the startup left.
            if args.only != "refresh":
                result["startup"] = measure_startup(
                    warm_starts=args.warm_starts, numba_cache_dir=Path(cache)
                )
            if args.only != "startup":
                result["refresh"] = measure_refresh_at_scale(
                    args.experiments,
                    args.arms,
                    idle_window_s=args.window_s,
                    active_window_s=args.window_s,
                    numba_cache_dir=Path(cache) if args.only is None else None,
                )
    except KeyboardInterrupt:
        log("interrupted; every process it started is stopped")
        return 130
    except RuntimeError as exc:
        log(str(exc))
        return 1
    result["duration_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
