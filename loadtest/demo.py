"""`make demo`: banditd on its embedded Redis, a demo experiment, simulated traffic, then cleanup.

Starts `banditd serve` (which starts its own redis-server) in a temporary data directory,
creates an experiment with `banditctl`, runs loadtest.simulate at 4000 decisions/s for about 40 s,
shows `banditctl status`, and stops everything it started, by PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bandit_service.embedded_redis import free_port

from . import simulate

EXPERIMENT = "demo-checkout"
ARMS = (
    ("v1", "recsys-2026-09", 0.04),
    ("v2", "recsys-2026-10", 0.05),
    ("v3", "recsys-2026-11", 0.06),
)
BIN = Path(sys.executable).parent


def wait_serving(target: str, process: subprocess.Popen[bytes], timeout_s: float = 90.0) -> None:
    channel = grpc.insecure_channel(target)
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"banditd exited with code {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    finally:
        channel.close()
    raise SystemExit(f"banditd did not report SERVING within {timeout_s:.0f} s")


def banditctl(env: dict[str, str], *args: str) -> None:
    print(f"\n$ banditctl {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "banditctl"), *args], env=env, check=True, timeout=60)


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="banditd-demo-"))
    port = free_port()
    target = f"127.0.0.1:{port}"
    token = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "BANDITD_DATA_DIR": str(data_dir),
        "BANDITD_LISTEN": target,
        "BANDITD_ADMIN_TOKEN": token,
        "BANDITD_TARGET": target,
    }
    env.pop("BANDITD_REDIS_URL", None)
    print(f"$ banditd serve   (embedded redis-server, data in {data_dir})", flush=True)
    server = subprocess.Popen([str(BIN / "banditd"), "serve"], env=env)
    try:
        wait_serving(target, server)
        arm_flags = [flag for arm, version, _ in ARMS for flag in ("--arm", f"{arm}={version}")]
        banditctl(env, "experiment", "create", EXPERIMENT, *arm_flags, "--policy", "thompson")
        print(
            "\n$ python -m loadtest.simulate   (true conversion rates: "
            + ", ".join(f"{arm} {rate:.0%}" for arm, _, rate in ARMS)
            + ")",
            flush=True,
        )
        simulate.main(
            [
                "--target",
                target,
                "--experiment",
                EXPERIMENT,
                "--decisions",
                "160000",
                "--rate",
                "4000",
                "--max-seconds",
                "75",
                *[f"--arm={arm}={rate}" for arm, _, rate in ARMS],
            ]
        )
        banditctl(env, "status", EXPERIMENT)
        return 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
