"""The `banditd` command: `banditd serve` runs one replica; `banditd health` probes one."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from pydantic import ValidationError

from . import __version__
from .config import CONFIG_FILE_ENV, Settings
from .embedded_redis import EmbeddedRedis, EmbeddedRedisError
from .errors import StoreUnavailableError
from .logs import configure_logging
from .server import BanditServer
from .workers import run_workers

logger = logging.getLogger("banditd")


def _settings(args: argparse.Namespace) -> Settings:
    if args.config:
        os.environ[CONFIG_FILE_ENV] = args.config
    overrides: dict[str, Any] = {"listen": args.listen} if args.listen else {}
    if args.workers is not None:
        overrides["workers"] = args.workers
    return Settings(**overrides)


def serve(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except (ValidationError, ValueError) as exc:
        print(f"banditd: invalid settings: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(settings.redacted(), indent=2, sort_keys=True))
        return 0
    configure_logging(settings.log_level)
    logger.info("banditd %s starting with %s", __version__, json.dumps(settings.redacted()))
    # bandit_service/launch.py says why the C allocator.
    logger.info("memory allocator: PYTHONMALLOC=%s", os.environ.get("PYTHONMALLOC", "(default)"))

    embedded: EmbeddedRedis | None = None
    try:
        if settings.redis_url is None:
            embedded = EmbeddedRedis(settings.data_dir, settings.redis_server_bin).start()
            settings = settings.model_copy(update={"redis_url": embedded.url})
        stopping = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            logger.info("received %s; shutting down", signal.Signals(signum).name)
            stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        if settings.workers > 1:
            return run_workers(settings, stopping)
        server = BanditServer(settings, owns_process=True)
        server.start()
        stopping.wait()
        server.stop()
        return 0
    except (EmbeddedRedisError, StoreUnavailableError, OSError) as exc:
        print(f"banditd: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded is not None:
            embedded.stop()


def health(args: argparse.Namespace) -> int:
    """Exit 0 when the replica at --target reports SERVING (container and script probes)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(args.target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=args.timeout
            )
        except grpc.RpcError as exc:
            print(f"banditd at {args.target}: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"banditd at {args.target}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="banditd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"banditd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run one replica of the service")
    serve_parser.add_argument("--config", help=f"TOML settings file (or {CONFIG_FILE_ENV})")
    serve_parser.add_argument("--listen", help="host:port to bind (BANDITD_LISTEN)")
    serve_parser.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port, one per core (BANDITD_WORKERS, default 1)",
    )
    serve_parser.add_argument(
        "--print-config", action="store_true", help="print the effective settings and exit"
    )
    serve_parser.set_defaults(handler=serve)
    health_parser = commands.add_parser(
        "health", help="exit 0 if a replica reports SERVING on the gRPC health service"
    )
    health_parser.add_argument(
        "--target",
        default=os.environ.get("BANDITD_TARGET", "127.0.0.1:50051"),
        help="host:port of the replica (BANDITD_TARGET; default 127.0.0.1:50051)",
    )
    health_parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait")
    health_parser.set_defaults(handler=health)
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
