"""Reward ingestion through the ReportRewards stream: events/s per server core, exactly once.

Decision ids come from real DecideBatch calls first; the events are serialized into
RewardBatch messages before the clock starts, so that the client spends its time
sending, not building protobufs. Several streams each keep a few batches in flight; a
batch counts when its ack arrives (the server acks after Redis has the events). The
server's CPU time comes from /proc. Afterwards Redis must hold exactly the accepted
rewards, and a resent batch must come back as duplicates that change nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import cast

import grpc
import redis
from banditd.v1 import decisions_pb2, decisions_pb2_grpc

REPORT_REWARDS_PATH = "/banditd.v1.Decisions/ReportRewards"
DECISIONS_PER_CALL = 10_000


def decision_ids(stub: decisions_pb2_grpc.DecisionsStub, experiment: str, n: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < n:
        request = decisions_pb2.DecideBatchRequest(
            experiment=experiment, count=min(DECISIONS_PER_CALL, n - len(ids))
        )
        ids += stub.DecideBatch(request, timeout=30.0).decision_ids
    return ids


def serialized_batches(ids: list[str], per_batch: int) -> list[bytes]:
    """RewardBatch messages of per_batch events each: reward 1 for every 10th decision."""
    batches = []
    for batch_id, start in enumerate(range(0, len(ids), per_batch)):
        events = [
            decisions_pb2.RewardEvent(
                decision_id=decision_id, reward=1.0 if i % 10 == 0 else 0.0, event_id="bench"
            )
            for i, decision_id in enumerate(ids[start : start + per_batch], start)
        ]
        batch = decisions_pb2.RewardBatch(batch_id=batch_id, events=events)
        batches.append(batch.SerializeToString())
    return batches


def rewards_total(client: redis.Redis, stats_key: str) -> int:
    stats = cast(dict[bytes, bytes], client.hgetall(stats_key))
    return sum(int(v) for k, v in stats.items() if k.endswith(b":rewards"))


class Stream:
    """One ReportRewards stream sending pre-serialized batches, at most in_flight unacked."""

    def __init__(self, channel: grpc.Channel, batches: list[bytes], in_flight: int) -> None:
        self._call = channel.stream_stream(
            REPORT_REWARDS_PATH,
            request_serializer=None,  # the batches are bytes already
            response_deserializer=decisions_pb2.RewardAck.FromString,
        )
        self._batches = batches
        self._window = threading.Semaphore(in_flight)
        self._stop = threading.Event()
        self.acks: list[decisions_pb2.RewardAck] = []
        self.sent = 0
        self.error: str | None = None

    def _requests(self) -> Iterator[bytes]:
        for batch in self._batches:
            while not self._window.acquire(timeout=0.1):
                if self._stop.is_set():
                    return
            if self._stop.is_set():
                return
            self.sent += 1
            yield batch

    def run(self, deadline: float) -> None:
        try:
            for ack in self._call(
                self._requests(), timeout=max(deadline - time.monotonic(), 1) + 30
            ):
                self.acks.append(ack)
                self._window.release()
                if time.monotonic() >= deadline:
                    self._stop.set()
        except grpc.RpcError as exc:
            self.error = f"{exc.code()}: {exc.details()}"


def measure_rewards(
    target: str,
    redis_url: str,
    stats_key: str,
    experiment: str,
    server_cpu: Callable[[], float],
    *,
    seconds: float = 4.0,
    streams: int = 2,
    per_batch: int = 1000,
    in_flight: int = 4,
    max_events: int = 800_000,
) -> dict[str, object]:
    """Streams rewards for up to `seconds`; returns rates, CPU per event and the checks."""
    options = [("grpc.max_receive_message_length", 64 << 20)]
    with grpc.insecure_channel(target, options=options) as channel:
        ids = decision_ids(decisions_pb2_grpc.DecisionsStub(channel), experiment, max_events)
    batches = serialized_batches(ids, per_batch)
    shares = [batches[i::streams] for i in range(streams)]
    client = redis.Redis.from_url(redis_url)
    try:
        before = rewards_total(client, stats_key)
        # One channel per stream: each gets its own HTTP/2 connection, as separate clients would.
        channels = [grpc.insecure_channel(target) for _ in range(streams)]
        senders = [Stream(c, share, in_flight) for c, share in zip(channels, shares, strict=True)]
        cpu_before = server_cpu()
        start = time.monotonic()
        deadline = start + seconds
        threads = [threading.Thread(target=s.run, args=(deadline,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
        elapsed = time.monotonic() - start
        cpu = server_cpu() - cpu_before
        acks = [ack for s in senders for ack in s.acks]
        accepted = sum(a.accepted for a in acks)
        duplicates = sum(a.duplicates for a in acks)
        rejected = sum(len(a.rejected) for a in acks)
        after = rewards_total(client, stats_key)
        # Resend the first batch: every event must come back a duplicate, Redis unchanged.
        resend = decisions_pb2_grpc.DecisionsStub(channels[0]).ReportRewards(
            iter([decisions_pb2.RewardBatch.FromString(batches[0])]), timeout=30.0
        )
        resent = next(iter(resend))
        unchanged = rewards_total(client, stats_key) == after
        for channel in channels:
            channel.close()
    finally:
        client.close()
    errors = [s.error for s in senders if s.error]
    events = accepted + duplicates + rejected
    return {
        "streams": streams,
        "events_per_batch": per_batch,
        "batches_in_flight_per_stream": in_flight,
        "seconds": round(elapsed, 3),
        "batches_acked": len(acks),
        "events": events,
        "accepted": accepted,
        "events_per_s": round(events / elapsed, 1),
        "server_cpu_s": round(cpu, 3),
        "cpu_us_per_event": round(cpu / max(events, 1) * 1e6, 3),
        "events_per_server_cpu_s": round(events / cpu, 1) if cpu > 0 else None,
        "checks": {
            "no stream errors": (not errors, "; ".join(errors) or "none"),
            "every event accepted once": (
                accepted == events and duplicates == 0 and rejected == 0,
                f"accepted {accepted}, duplicates {duplicates}, rejected {rejected}",
            ),
            "redis holds exactly the accepted rewards": (
                after - before == accepted,
                f"rewards grew by {after - before}, accepted {accepted}",
            ),
            "a resent batch is all duplicates and changes nothing": (
                resent.duplicates == per_batch and resent.accepted == 0 and unchanged,
                f"resent: {resent.accepted} accepted, {resent.duplicates} duplicates",
            ),
        },
    }
