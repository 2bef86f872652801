"""The floor for `make bench`: banditd's gRPC server model with a Decide that does no work.

Same server model as bandit_service/server.py (grpc.server over a ThreadPoolExecutor with
the same max_workers default, so_reuseport off), serving `banditd.v1.Decisions/Decide`
through the generated servicer registration. Its methods are not wrapped (banditd wraps
its own once, for error mapping and admin auth) and it has no health service. Decide
returns one prebuilt DecideResponse the size of a real one for the bench experiment, so
the bytes on the wire match and the difference in cost is banditd's own work.

    python -m loadtest.empty_server --listen 127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from concurrent import futures
from types import FrameType

import grpc
from banditd.v1 import common_pb2, decisions_pb2, decisions_pb2_grpc

from bandit_service.config import Settings
from bandit_service.heap import freeze_start_up_heap
from bandit_service.tokens import DecisionSigner

# The experiment the bench creates on banditd; the constant response mirrors it.
EXPERIMENT = "bench"
ARMS = tuple((f"arm-{i}", f"models/ranker:v{i}") for i in range(10))
MAX_WORKERS_DEFAULT: int = Settings.model_fields["max_workers"].default


def constant_response(experiment: str = EXPERIMENT) -> decisions_pb2.DecideResponse:
    """A DecideResponse shaped like banditd's for `experiment` at epoch 1 with 10 live arms."""
    # A real signature over a throwaway key gives a decision id of exactly the real length.
    signer = DecisionSigner(b"empty-server-not-a-secret", ttl_s=3600)
    token = signer.sign(experiment.encode("ascii"), 0, 1, time.time_ns() // 1_000_000)
    name, version = ARMS[0]
    return decisions_pb2.DecideResponse(
        arm=name,
        version=version,
        decision_id=token,
        propensity=1.0 / len(ARMS),
        policy=common_pb2.POLICY_THOMPSON,
        paused=False,
        epoch=1,
        default_arm=name,
        default_version=version,
    )


class EmptyDecisions(decisions_pb2_grpc.DecisionsServicer):  # type: ignore[misc]
    """Decide answers the prebuilt response; the other RPCs stay UNIMPLEMENTED."""

    def __init__(self, response: decisions_pb2.DecideResponse) -> None:
        self._response = response

    def Decide(
        self, request: decisions_pb2.DecideRequest, context: grpc.ServicerContext
    ) -> decisions_pb2.DecideResponse:
        return self._response


def serve(listen: str, max_workers: int) -> int:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc"),
        options=[("grpc.so_reuseport", 0)],
    )
    decisions_pb2_grpc.add_DecisionsServicer_to_server(EmptyDecisions(constant_response()), server)
    port = server.add_insecure_port(listen)
    if port == 0:
        print(f"empty_server: cannot listen on {listen}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    freeze_start_up_heap()  # as banditd does before it reports SERVING
    print(f"empty_server: serving on {listen.rpartition(':')[0]}:{port}", flush=True)
    stopping.wait()
    server.stop(1.0).wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="empty_server", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:50052", help="host:port to bind")
    parser.add_argument(
        "--max-workers",
        type=int,
        default=MAX_WORKERS_DEFAULT,
        help=f"RPC threads (default {MAX_WORKERS_DEFAULT}, banditd's default)",
    )
    args = parser.parse_args(argv)
    return serve(args.listen, args.max_workers)


if __name__ == "__main__":
    sys.exit(main())
