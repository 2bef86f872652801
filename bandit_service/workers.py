"""`banditd serve --workers N`: N server processes sharing one port, all on one Redis.

Python serves one core per process, so a machine's cores are used by running several
processes. Each worker is a full replica (its own snapshots, counts and replica id) bound
to the same address with SO_REUSEPORT, so the kernel spreads connections over them; they
stay consistent the way replicas on different hosts do, through Redis. The parent only
supervises: it starts the embedded Redis if there is one, starts the workers, forwards
SIGTERM, and stops everything if a worker dies (the process manager then restarts it all).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading

from .config import Settings

logger = logging.getLogger(__name__)

# How often the parent checks that every worker is still alive.
_POLL_S = 0.5


def _concrete_listen(listen: str) -> str:
    """host:port with a real port: workers must share one, so port 0 is resolved here."""
    host, _, port = listen.rpartition(":")
    if port != "0":
        return listen
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host.strip("[]"), 0))
        return f"{host}:{probe.getsockname()[1]}"


def run_workers(settings: Settings, stopping: threading.Event) -> int:
    """Runs settings.workers worker processes until stopping is set or one of them dies."""
    assert settings.redis_url is not None, "the parent resolves the Redis URL first"
    listen = _concrete_listen(settings.listen)
    env = {
        **os.environ,
        "BANDITD_REDIS_URL": settings.redis_url,
        "BANDITD_LISTEN": listen,
        "BANDITD_WORKERS": "1",
        "BANDITD_REUSE_PORT": "true",
    }
    argv = [sys.executable, "-m", "bandit_service", "serve"]
    workers = [subprocess.Popen(argv, env=env) for _ in range(settings.workers)]
    logger.info(
        "started %d workers on %s: pids %s",
        len(workers),
        listen,
        ", ".join(str(w.pid) for w in workers),
    )
    code = 0
    try:
        while not stopping.wait(_POLL_S):
            dead = [w for w in workers if w.poll() is not None]
            if dead:
                logger.error(
                    "worker pid %d exited with code %s; stopping the other workers",
                    dead[0].pid,
                    dead[0].returncode,
                )
                code = 1
                break
    finally:
        _stop(workers, settings.shutdown_grace_s + 10)
    return code


def _stop(workers: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM every worker by PID (each flushes its counts), then SIGKILL stragglers."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.error("worker pid %d did not stop in %.0f s; killing it", worker.pid, timeout_s)
            worker.kill()
            worker.wait()
