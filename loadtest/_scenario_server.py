"""The banditd the rollout scenarios run against: `banditd serve` as a child process.

The child runs in embedded mode (its own redis-server, data in a temporary directory) on a
free loopback port, in its own session so that a Ctrl-C in the terminal reaches only the
scenario runner, which then stops the child by its PID. If banditd has to be killed, its
redis-server (PID taken from banditd's log) is stopped by PID as well.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bandit_service.embedded_redis import free_port

# Settings the scenarios depend on, passed explicitly so the report states what ran.
SERVER_SETTINGS: dict[str, str] = {
    "autopilot_interval_ms": "250",
    "refresh_interval_ms": "100",
    "flush_interval_ms": "100",
    "share_draws": "4096",
    "guardrail_draws": "10000",
    "status_draws": "20000",
    "max_workers": "32",
    "log_level": "INFO",
}
_REDIS_PID = re.compile(r"embedded redis-server \(pid (\d+)\)")


class ServerError(RuntimeError):
    pass


class ScenarioServer:
    """One `banditd serve` child with an admin token; use as a context manager."""

    def __init__(self, ready_timeout_s: float = 120.0) -> None:
        self.ready_timeout_s = ready_timeout_s
        self.token = secrets.token_urlsafe(18)
        self.target = ""
        self.ready_s = 0.0
        self.settings: dict[str, Any] = {}
        self._work: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def _env(self) -> dict[str, str]:
        assert self._work is not None
        # Nothing inherited may configure this server (a stray BANDITD_REDIS_URL would
        # point it at someone's Redis): only the settings chosen here apply.
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITD_")}
        env.update({f"BANDITD_{k.upper()}": v for k, v in SERVER_SETTINGS.items()})
        env["BANDITD_LISTEN"] = self.target
        env["BANDITD_DATA_DIR"] = str(self._work / "data")
        env["BANDITD_ADMIN_TOKEN"] = self.token
        return env

    def start(self) -> ScenarioServer:
        began = time.monotonic()
        self._work = Path(tempfile.mkdtemp(prefix="banditd-scenarios-"))
        self.target = f"127.0.0.1:{free_port()}"
        command = [sys.executable, "-m", "bandit_service", "serve"]
        printed = subprocess.run(
            [*command, "--print-config"],
            env=self._env(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.settings = json.loads(printed.stdout)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_serving()
        self.ready_s = time.monotonic() - began
        return self

    @property
    def log_path(self) -> Path:
        assert self._work is not None
        return self._work / "banditd.log"

    def log_tail(self, lines: int = 30) -> str:
        if self._work is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _wait_serving(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise ServerError(
                        f"banditd exited with code {self._process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise ServerError(
            f"banditd did not report SERVING within {self.ready_timeout_s:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def _redis_pid(self) -> int | None:
        if self._work is None or not self.log_path.exists():
            return None
        found = _REDIS_PID.search(self.log_path.read_text(errors="replace"))
        return int(found.group(1)) if found else None

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM by PID (banditd flushes and stops its redis-server), SIGKILL if stuck."""
        process, self._process = self._process, None
        if process is not None:
            redis_pid = self._redis_pid()
            killed = False
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    print(f"scenarios: banditd (pid {process.pid}) ignored SIGTERM; killing it")
                    process.kill()
                    process.wait()
                    killed = True
            if killed and redis_pid is not None:
                _stop_pid(redis_pid)
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> ScenarioServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            tail = self.log_tail()
            if tail:
                print(f"scenarios: last lines of the banditd log:\n{tail}", file=sys.stderr)
        self.stop()


def _stop_pid(pid: int, timeout_s: float = 10.0) -> None:
    """Stops an orphaned redis-server that banditd started, by its PID."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
