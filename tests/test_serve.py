"""`banditd serve` as a user runs it: its own redis-server, graceful stop, state kept on restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from banditd.v1 import admin_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from wire import closed_target, connect

from bandit_service import launch
from bandit_service.embedded_redis import free_port

TOKEN = "serve-test-token"


def start_banditd(data_dir: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BANDITD_DATA_DIR": str(data_dir),
        "BANDITD_LISTEN": f"127.0.0.1:{port}",
        "BANDITD_ADMIN_TOKEN": TOKEN,
    }
    env.pop("BANDITD_REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bandit_service", "serve", *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return process
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    finally:
        channel.close()
    stop(process)
    raise AssertionError("banditd did not report SERVING within 60 s")


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err.decode()


def health_probe(port: int) -> subprocess.CompletedProcess[str]:
    """`banditd health`, the probe the Dockerfile's HEALTHCHECK runs."""
    return subprocess.run(
        [sys.executable, "-m", "bandit_service", "health", "--target", f"127.0.0.1:{port}"],
        capture_output=True,
        timeout=60,
        text=True,
    )


def test_serve_with_embedded_redis_keeps_state_across_restarts(data_dir: Path) -> None:
    port = free_port()
    process = start_banditd(data_dir, port)
    try:
        stubs = connect(f"127.0.0.1:{port}")
        stubs.admin.CreateExperiment(
            admin_pb2.CreateExperimentRequest(
                name="kept",
                policy=admin_pb2.PolicyConfig(policy=1),
                reward_type=admin_pb2.REWARD_TYPE_BINARY,
                arms=[admin_pb2.ArmSpec(name="a"), admin_pb2.ArmSpec(name="b")],
            ),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=10,
        )
        probe = health_probe(port)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.strip() == f"banditd at 127.0.0.1:{port}: SERVING"
        batch = stubs.batch("kept", 250)
        stubs.stream_rewards([[(d, 1.0, f"e{i}") for i, d in enumerate(batch.decision_ids[:40])]])
        stubs.close()
    finally:
        log = stop(process)
    assert process.returncode == 0, log
    assert "banditd stopped" in log
    # `banditd serve` owns its process, so it freezes the start-up heap before SERVING,
    # and it re-executed itself on the C allocator (keeping its PID).
    assert "start-up objects frozen out of garbage-collector passes" in log
    assert "memory allocator: PYTHONMALLOC=malloc" in log
    assert health_probe(port).returncode == 1  # nothing serves there any more
    assert (data_dir / "appendonlydir").is_dir()

    process = start_banditd(data_dir, port)
    try:
        stubs = connect(f"127.0.0.1:{port}")
        arms = {
            a.name: a
            for a in stubs.admin.GetStatus(
                admin_pb2.GetStatusRequest(experiment="kept"),
                metadata=(("authorization", f"Bearer {TOKEN}"),),
                timeout=10,
            ).arms
        }
        assert sum(a.pulls for a in arms.values()) == 250
        assert sum(a.rewards for a in arms.values()) == 40
        stubs.close()
    finally:
        stop(process)


def test_serve_explains_a_missing_redis_server(data_dir: Path) -> None:
    env = {
        **os.environ,
        "BANDITD_DATA_DIR": str(data_dir),
        "BANDITD_REDIS_SERVER_BIN": "no-such-redis-server",
    }
    env.pop("BANDITD_REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "bandit_service", "serve"],
        env=env,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert result.returncode == 1
    assert "'no-such-redis-server' not found on PATH" in result.stderr
    assert "apt-get install redis-server" in result.stderr


def test_print_config_masks_secrets() -> None:
    env = {**os.environ, "BANDITD_ADMIN_TOKEN": "top-secret", "BANDITD_REFRESH_INTERVAL_MS": "75"}
    result = subprocess.run(
        [sys.executable, "-m", "bandit_service", "serve", "--print-config"],
        env=env,
        capture_output=True,
        timeout=60,
        text=True,
        check=True,
    )
    assert '"refresh_interval_ms": 75' in result.stdout
    assert "top-secret" not in result.stdout


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_workers_share_the_port_and_redis_totals_stay_exact(data_dir: Path) -> None:
    port = free_port()
    process = start_banditd(data_dir, port, "--workers", "2")
    try:
        workers = [
            p
            for p in children(process.pid)
            if "redis" not in Path(f"/proc/{p}/cmdline").read_text()
        ]
        assert len(workers) == 2
        stubs = connect(f"127.0.0.1:{port}")
        stubs.admin.CreateExperiment(
            admin_pb2.CreateExperimentRequest(
                name="shared",
                policy=admin_pb2.PolicyConfig(policy=1),
                reward_type=admin_pb2.REWARD_TYPE_BINARY,
                arms=[admin_pb2.ArmSpec(name="a"), admin_pb2.ArmSpec(name="b")],
            ),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=10,
        )
        stubs.close()
        # One connection lands on one worker: many connections spread over both.
        decided = 0
        for _ in range(16):
            channel = connect(f"127.0.0.1:{port}")
            decided += len(channel.batch("shared", 100).choices)
            channel.close()
    finally:
        log = stop(process)
    assert process.returncode == 0, log
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    # Both workers flushed on the way down: the totals are exact.
    process = start_banditd(data_dir, port)
    try:
        stubs = connect(f"127.0.0.1:{port}")
        status = stubs.admin.GetStatus(
            admin_pb2.GetStatusRequest(experiment="shared"),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=10,
        )
        assert sum(a.pulls for a in status.arms) == decided == 1600
        stubs.close()
    finally:
        stop(process)


class Exec(Exception):
    """Stands in for os.execve, which would replace the test process."""


def test_serve_reexecutes_on_the_c_allocator_unless_one_is_chosen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        raise Exec(path, argv, env)

    monkeypatch.setattr(launch.os, "execve", execve)
    monkeypatch.delenv("PYTHONMALLOC", raising=False)
    with pytest.raises(Exec) as done:
        launch.main(["serve", "--listen", "127.0.0.1:0"])
    path, argv, env = done.value.args
    assert path == sys.executable
    assert argv == [sys.executable, "-m", "bandit_service", "serve", "--listen", "127.0.0.1:0"]
    assert env["PYTHONMALLOC"] == "malloc"

    # An operator's choice is kept, and other commands never re-execute.
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")
    assert launch.main(["serve", "--print-config"]) == 0
    monkeypatch.delenv("PYTHONMALLOC")
    assert launch.main(["health", "--target", closed_target(), "--timeout", "0.2"]) == 1
    assert '"listen"' in capsys.readouterr().out
