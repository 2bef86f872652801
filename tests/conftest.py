"""Shared fixtures: a real redis-server on a free loopback port, real banditd servers over loopback.

Tests isolate by key prefix (never FLUSHALL); every server and redis-server started here
is stopped by its handle (PID), never by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bandit_service.config import Settings
from bandit_service.embedded_redis import EmbeddedRedis
from bandit_service.server import BanditServer

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), lock=False).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        redis_client.delete(key)


@dataclass
class RunningServer:
    server: BanditServer
    settings: Settings

    @property
    def target(self) -> str:
        return self.server.target

    @property
    def admin_token(self) -> str:
        return ADMIN_TOKEN

    @property
    def engine(self) -> Any:
        return self.server.engine

    def stop(self, grace_s: float = 1.0) -> None:
        self.server.stop(grace_s)


@pytest.fixture
def make_settings(redis_url: str, key_prefix: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "listen": "127.0.0.1:0",
            "redis_url": redis_url,
            "redis_key_prefix": key_prefix,
            "admin_token": ADMIN_TOKEN,
            "refresh_interval_ms": 50,
            "flush_interval_ms": 50,
            # Tests expect new statistics in the snapshot after one refresh; the deferral of
            # rebuilds has its own test (test_replicas.py).
            "min_rebuild_interval_ms": 0,
            "idle_rebuild_delay_ms": 0,
            "max_workers": 16,
            "shutdown_grace_s": 1.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def start_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        settings = make_settings(**overrides)
        running = RunningServer(BanditServer(settings).start(), settings)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.server.engine is not None:
            running.stop(0.5)


@pytest.fixture
def server(start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "banditd-data"


# -- banditctl -------------------------------------------------------------------------------
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _no_banditctl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's own BANDITD_* client settings must not leak into the tests.
    for name in ("BANDITD_TARGET", "BANDITD_ADMIN_TOKEN", "BANDITD_ACTOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Runs banditctl in-process; returns (exit code, stdout, stderr)."""
    from banditd_client.cli import main

    def run_cli(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_cli


@pytest.fixture
def ctl(server: RunningServer, run: Run) -> Run:
    """Runs banditctl against the real test server, with its token, as actor alice@test."""

    def run_against_server(*argv: str) -> tuple[int, str, str]:
        return run(
            "--target", server.target, "--token", server.admin_token, "--actor", "alice@test", *argv
        )

    return run_against_server


@pytest.fixture
def recorder() -> Iterator[Any]:
    """A real gRPC Admin server that records the requests banditctl sends."""
    from test_client import RecordingAdmin

    admin = RecordingAdmin()
    yield admin
    admin.stop()


@pytest.fixture
def rec(recorder: Any, run: Run) -> Run:
    """Runs banditctl against the recording Admin server."""

    def run_against_recorder(*argv: str) -> tuple[int, str, str]:
        return run("--target", recorder.target, "--token", "t", "--actor", "ops@ci", *argv)

    return run_against_recorder


@pytest.fixture
def experiment(ctl: Run) -> str:
    """An experiment created with banditctl: arms v1 (model-1, default) and v2 (model-2)."""
    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, _, err = ctl("experiment", "create", name, "--arm", "v1=model-1", "--arm", "v2=model-2")
    assert code == 0, err
    return name
