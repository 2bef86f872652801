"""Runs a private redis-server as a child process, so `banditd serve` needs nothing else running.

Data lives in data_dir with the append-only file on. A lock file keeps two banditd
processes from sharing one data directory (for several replicas, point them all at one
Redis with BANDITD_REDIS_URL instead).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

import redis

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "install Redis (Debian/Ubuntu: 'apt-get install redis-server'; macOS: 'brew install redis'), "
    "set BANDITD_REDIS_SERVER_BIN to its path, or set BANDITD_REDIS_URL to an existing Redis"
)


class EmbeddedRedisError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A redis-server child bound to 127.0.0.1 on a free port."""

    def __init__(self, data_dir: Path, binary: str = "redis-server", *, lock: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.binary = binary
        self._lock_wanted = lock
        self._lock_file: IO[str] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        path = shutil.which(self.binary)
        if path is None:
            raise EmbeddedRedisError(f"'{self.binary}' not found on PATH; {INSTALL_HINT}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._lock_wanted:
            self._take_lock()
        for _ in range(3):  # another process may grab the free port before redis binds it
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    path,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.data_dir),
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    "--logfile",
                    str(self.data_dir / "redis.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if self._wait_ready(timeout_s):
                logger.info(
                    "embedded redis-server (pid %d) on 127.0.0.1:%d, data in %s",
                    self.process.pid,
                    self.port,
                    self.data_dir,
                )
                return self
            self.stop()
        raise EmbeddedRedisError(f"redis-server did not start; see {self.data_dir / 'redis.log'}")

    def _take_lock(self) -> None:
        lock_file = open(self.data_dir / "banditd.lock", "w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise EmbeddedRedisError(
                f"another banditd is using {self.data_dir}; stop it, choose another "
                "BANDITD_DATA_DIR, or share one Redis via BANDITD_REDIS_URL"
            ) from None
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._lock_file = lock_file

    def _wait_ready(self, timeout_s: float) -> bool:
        assert self.process is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        # Loading a large AOF answers LOADING; wait until it is done.
                        return True
                except redis.BusyLoadingError:
                    pass
                except redis.ConnectionError:
                    pass
                time.sleep(0.05)
            return False
        finally:
            client.close()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops redis-server by its PID; SIGTERM makes it finish writing the AOF."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "redis-server (pid %d) did not stop in %.0f s; killing it",
                    process.pid,
                    timeout_s,
                )
                process.kill()
                process.wait()
        if process is not None and process.stderr is not None:
            process.stderr.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
