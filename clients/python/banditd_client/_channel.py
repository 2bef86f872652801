"""How the clients open their gRPC channels: one set of options for sync and async."""

from __future__ import annotations

import getpass
import socket
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


ACTOR_METADATA_KEY: Final = "x-banditd-actor"


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying the admin token, or none without a token."""
    return (("authorization", f"Bearer {token}"),) if token else ()


def default_actor() -> str:
    """Who is making admin changes, for the history: "user@host" of this process."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        user = "unknown"
    return _printable(f"{user}@{socket.gethostname()}")


def check_actor(actor: str) -> str:
    """Refuses an actor name that cannot travel as a gRPC header value."""
    if _printable(actor) != actor:
        raise ValueError(
            f"actor must be printable ASCII without surrounding spaces (it is sent as "
            f"{ACTOR_METADATA_KEY} metadata), "
            f"got {actor!r}"
        )
    return actor


def admin_metadata(token: str | None, actor: str) -> tuple[tuple[str, str], ...]:
    """Metadata of every admin call: the token (if any) and who is acting (if named)."""
    actor_entry = ((ACTOR_METADATA_KEY, actor),) if actor else ()
    return auth_metadata(token) + actor_entry


def _printable(text: str) -> str:
    # gRPC header values must be printable ASCII; a hostname or login name may not be.
    return "".join(c if " " <= c <= "~" else "?" for c in text).strip()
