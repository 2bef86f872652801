"""How the clients open their gRPC channels: one set of options for sync and async."""

from __future__ import annotations

from typing import Final

import grpc
import grpc.aio

# Reconnect quickly after a server restart: gRPC's default backoff grows to 120 s, and
# every Decide in the meantime would fail (or fall back) without even trying.
# Keepalive pings detect a dead peer on a long-idle reward stream. A server rejects pings
# more often than every 5 minutes by default (and then closes the connection with
# "too_many_pings"), so stay above that; a stalled reward stream is caught sooner by the
# reporters' ack timeout.
CHANNEL_OPTIONS: Final[list[tuple[str, int]]] = [
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.keepalive_time_ms", 360_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
]


def open_channel(target: str) -> grpc.Channel:
    """An insecure channel to `target` (host:port) with the client's options."""
    return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)


def open_aio_channel(target: str) -> grpc.aio.Channel:
    """The grpc.aio twin of open_channel; call it inside the event loop that will use it."""
    return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying the admin token, or none without a token."""
    return (("authorization", f"Bearer {token}"),) if token else ()
