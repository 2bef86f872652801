"""Builds, starts and stops one banditd replica: Redis, engine, gRPC server, health.

Start-up order: connect to Redis, bind and start gRPC with health NOT_SERVING, compile
(or load from cache) and warm the numba kernels, load snapshots, then report SERVING.
"""

from __future__ import annotations

import logging
import time
from concurrent import futures
from typing import Any

import grpc
from banditd.v1 import admin_pb2_grpc, decisions_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

import policies

from .admin import AdminService
from .autopilot import Autopilot
from .config import Settings
from .engine import Engine
from .errors import StoreUnavailableError
from .guardrails import ObservationHistory
from .guards import guarded
from .heap import FreezeAfterFullPasses, keep_full_passes_short
from .rewards import RewardRecorder
from .servicers import AdminServicer, DecisionsServicer
from .store import RedisStateStore, StateStore
from .tokens import DecisionSigner

logger = logging.getLogger(__name__)

DECISIONS_SERVICE, ADMIN_SERVICE = "banditd.v1.Decisions", "banditd.v1.Admin"
SERVICE_NAMES = (DECISIONS_SERVICE, ADMIN_SERVICE)
STREAMING_METHODS = frozenset({"ReportRewards"})


def connect_store(settings: Settings, attempts: int = 20, delay_s: float = 0.5) -> RedisStateStore:
    """Connects to settings.redis_url, retrying a bounded number of times with a log line each."""
    if settings.redis_url is None:
        raise ValueError("redis_url is not set; the banditd command starts an embedded Redis")
    store = RedisStateStore.from_url(settings.redis_url, settings.redis_key_prefix)
    for attempt in range(1, attempts + 1):
        try:
            store.ping()
            return store
        except StoreUnavailableError as exc:
            if attempt == attempts:
                store.close()
                raise
            logger.warning(
                "redis not reachable (%s); retrying, %d attempts left", exc, attempts - attempt
            )
            time.sleep(delay_s)
    raise AssertionError("unreachable")


def _serialized(response: bytes) -> bytes:
    return response


def add_decisions_to_server(servicer: Any, server: grpc.Server) -> None:
    """decisions_pb2_grpc.add_DecisionsServicer_to_server, except that Decide answers bytes
    it serialized itself (most of a DecideResponse is prebuilt per snapshot and arm)."""
    pb = decisions_pb2
    handlers = {
        "Decide": grpc.unary_unary_rpc_method_handler(
            servicer.Decide,
            request_deserializer=pb.DecideRequest.FromString,
            response_serializer=_serialized,
        ),
        "DecideBatch": grpc.unary_unary_rpc_method_handler(
            servicer.DecideBatch,
            request_deserializer=pb.DecideBatchRequest.FromString,
            response_serializer=pb.DecideBatchResponse.SerializeToString,
        ),
        "ReportReward": grpc.unary_unary_rpc_method_handler(
            servicer.ReportReward,
            request_deserializer=pb.ReportRewardRequest.FromString,
            response_serializer=pb.ReportRewardResponse.SerializeToString,
        ),
        "ReportRewards": grpc.stream_stream_rpc_method_handler(
            servicer.ReportRewards,
            request_deserializer=pb.RewardBatch.FromString,
            response_serializer=pb.RewardAck.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(DECISIONS_SERVICE, handlers),)
    )
    # What generated code calls too (grpcio >= 1.63); missing from grpc's type stubs.
    server.add_registered_method_handlers(DECISIONS_SERVICE, handlers)  # type: ignore[attr-defined]


class BanditServer:
    """One replica. start() returns once health reports SERVING.

    owns_process: this replica is the process's reason to exist (`banditd serve`), so it
    may set process-wide state such as the garbage collector's; embedders and tests leave
    it off.
    """

    def __init__(
        self, settings: Settings, store: StateStore | None = None, owns_process: bool = False
    ) -> None:
        self.settings = settings
        self._store = store
        self._owns_process = owns_process
        self._freezer: FreezeAfterFullPasses | None = None
        self._server: grpc.Server | None = None
        self._health: health.HealthServicer | None = None
        self.engine: Engine | None = None
        self.autopilot: Autopilot | None = None
        self.port = 0
        self.ready_s = 0.0

    @property
    def target(self) -> str:
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.port}"

    def start(self) -> BanditServer:
        started = time.monotonic()
        settings = self.settings
        store = self._store if self._store is not None else connect_store(settings)
        self._store = store
        secret = (
            settings.decision_secret.get_secret_value().encode()
            if settings.decision_secret is not None
            else store.decision_secret()
        )
        signer = DecisionSigner(secret, settings.decision_ttl_s)
        engine = Engine(store, signer, settings)
        self.engine = engine

        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
            # Two servers must never silently share a port.
            options=[("grpc.so_reuseport", 1 if settings.reuse_port else 0)],
        )
        health_servicer = health.HealthServicer()
        for name in ("", *SERVICE_NAMES):
            health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        decisions = DecisionsServicer(
            engine, RewardRecorder(engine, store, signer, settings.decision_ttl_s)
        )
        add_decisions_to_server(
            guarded(decisions, DECISIONS_SERVICE, streams=STREAMING_METHODS, token=None), server
        )
        history = ObservationHistory()
        admin = AdminService(store, engine, settings, history)
        self.autopilot = Autopilot(
            engine,
            store,
            admin.change,
            settings.autopilot_interval_ms / 1000,
            settings.guardrail_draws,
            history,
        )
        admin_pb2_grpc.add_AdminServicer_to_server(
            guarded(AdminServicer(admin), ADMIN_SERVICE, token=token), server
        )
        self.port = server.add_insecure_port(settings.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {settings.listen}: address in use or not available")
        server.start()
        self._server, self._health = server, health_servicer

        warming = time.monotonic()
        policies.warm_up()
        signer.warm_up()
        warm_s = time.monotonic() - warming
        engine.start()
        self.autopilot.start()
        if self._owns_process:
            frozen, self._freezer = keep_full_passes_short()
            logger.info(
                "%d start-up objects frozen out of garbage-collector passes, and the "
                "survivors of each full pass will be",
                frozen,
            )
        for name in ("", *SERVICE_NAMES):
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.ready_s = time.monotonic() - started
        logger.info(
            "banditd replica %s serving on %s (kernels warm in %.2f s, ready in %.2f s)",
            engine.replica_id,
            self.target,
            warm_s,
            self.ready_s,
        )
        return self

    def stop(self, grace_s: float | None = None) -> None:
        """Stops taking requests, lets in-flight ones finish, flushes counts, closes Redis."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self._health is not None:
            self._health.enter_graceful_shutdown()
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None
        if self.autopilot is not None:
            self.autopilot.close()
            self.autopilot = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._freezer is not None:
            self._freezer.uninstall()
            logger.info(
                "garbage collector: %d full passes, %d of them over the whole heap",
                self._freezer.full_passes,
                self._freezer.thaws,
            )
            self._freezer = None
        logger.info("banditd stopped")

    def wait(self) -> None:
        if self._server is not None:
            self._server.wait_for_termination()
