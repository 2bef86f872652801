"""The bookkeeping of the reward reporters: every reported event from report() to its ack.

An event waits in `pending` until it is cut into a RewardBatch; the batch then stays
`unacked` until its RewardAck arrives, and is resent on every new stream until then.
RewardLedger holds no lock and does no I/O: RewardReporter (threads) and
AsyncRewardReporter (asyncio) wrap the same ledger with their own locking and stream.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from dataclasses import dataclass
from typing import Final, NamedTuple

import grpc
from banditd.v1 import decisions_pb2

from banditd_client._wire import Message, reward_event

logger = logging.getLogger(__name__)

# RewardBatch.events holds at most this many events (decisions.proto).
MAX_BATCH_EVENTS: Final = 10_000
# A batch unacknowledged for this long means the stream is stuck (e.g. a half-open TCP
# connection that keepalive has not noticed yet): the reporter drops it and resends.
ACK_TIMEOUT_S: Final = 30.0
LAST_REJECTIONS_KEPT: Final = 100

_CODE_NAMES: Final[dict[int, str]] = {code.value[0]: code.name for code in grpc.StatusCode}


class Rejection(NamedTuple):
    """A reward event the server refused; resending it cannot help."""

    decision_id: str
    event_id: str
    code: str
    message: str


@dataclass(slots=True)
class _Batch:
    message: Message
    first_seq: int
    size: int
    sent_at: float


def check_reporter_settings(batch_size: int, flush_interval_s: float, max_pending: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_EVENTS:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_EVENTS}, got {batch_size}")
    if not flush_interval_s > 0:
        raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s}")
    if max_pending < 1:
        raise ValueError(f"max_pending must be >= 1, got {max_pending}")


class RewardLedger:
    """Events reported but not yet acknowledged, and the counters of what the acks said.

    Every event gets a sequence number; events enter batches in that order, so "has
    everything up to sequence number n been acknowledged?" is one comparison.
    """

    def __init__(self, batch_size: int, flush_interval_s: float, max_pending: int) -> None:
        check_reporter_settings(batch_size, flush_interval_s, max_pending)
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        # (decision_id, reward, event_id, error, latency_ms); None: not reported.
        self._pending: deque[tuple[str, float | None, str, bool | None, float | None]] = deque()
        self._pending_since = 0.0
        # Insertion order is batch age: the first entry holds the oldest unacked event.
        self._unacked: dict[int, _Batch] = {}
        self._next_batch_id = 1
        self._reported = 0  # sequence number of the next event
        self._flush_through = 0  # pending events below this sequence number are urgent
        self.outstanding = 0  # reported and not yet acknowledged
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self.resent_batches = 0
        self.last_rejections: deque[Rejection] = deque(maxlen=LAST_REJECTIONS_KEPT)

    @property
    def idle(self) -> bool:
        """True when every reported event has been acknowledged."""
        return self.outstanding == 0

    @property
    def unacked_batches(self) -> int:
        return len(self._unacked)

    def has_room(self) -> bool:
        return self.outstanding < self.max_pending

    def add(
        self,
        decision_id: str,
        reward: float | None,
        event_id: str,
        now: float,
        error: bool | None = None,
        latency_ms: float | None = None,
    ) -> bool:
        """Queues one event; True when the batch cutter should wake up (first event, full batch)."""
        if not self._pending:
            self._pending_since = now
        self._pending.append((decision_id, reward, event_id, error, latency_ms))
        self._reported += 1
        self.outstanding += 1
        return len(self._pending) in (1, self.batch_size)

    def request_flush(self) -> int:
        """Marks everything reported so far as urgent; returns the mark for `settled`."""
        self._flush_through = self._reported
        return self._reported

    def settled(self, mark: int) -> bool:
        """True when every event with a sequence number below `mark` has been acknowledged."""
        if self._unacked:
            oldest = next(iter(self._unacked.values())).first_seq
        else:
            oldest = self._reported - len(self._pending)
        return oldest >= mark

    def seconds_until_due(self, now: float, urgent: bool = False) -> float | None:
        """How long until the next batch should be cut: 0 now, None while nothing is pending."""
        if not self._pending:
            return None
        flush_wanted = self._reported - len(self._pending) < self._flush_through
        if urgent or flush_wanted or len(self._pending) >= self.batch_size:
            return 0.0
        return max(0.0, self._pending_since + self.flush_interval_s - now)

    def cut_batch(self, now: float) -> Message:
        """Moves up to batch_size pending events into a new unacked RewardBatch."""
        size = min(len(self._pending), self.batch_size)
        first_seq = self._reported - len(self._pending)
        events = [reward_event(*self._pending.popleft()) for _ in range(size)]
        batch_id = self._next_batch_id
        self._next_batch_id += 1
        message = decisions_pb2.RewardBatch(batch_id=batch_id, events=events)
        self._unacked[batch_id] = _Batch(message, first_seq, size, now)
        # Events left over stay due at once: they have waited since _pending_since.
        return message

    def batches_to_resend(self, now: float) -> list[Message]:
        """Every unacked batch, oldest first, for a new stream; their ack clocks restart."""
        batches = list(self._unacked.values())
        for batch in batches:
            batch.sent_at = now
        self.resent_batches += len(batches)
        return [batch.message for batch in batches]

    def ack_overdue(self, now: float, ack_timeout_s: float = ACK_TIMEOUT_S) -> bool:
        """True when the oldest unacked batch has waited longer than ack_timeout_s."""
        if not self._unacked:
            return False
        return now - next(iter(self._unacked.values())).sent_at > ack_timeout_s

    def apply_ack(self, ack: Message) -> list[Rejection]:
        """Settles the batch an ack names; returns its rejections (empty for an unknown id)."""
        batch = self._unacked.pop(ack.batch_id, None)
        if batch is None:
            # An ack for a batch acknowledged on an earlier stream; its events are counted.
            logger.debug("ignoring ack for unknown reward batch %d", ack.batch_id)
            return []
        self.outstanding -= batch.size
        self.accepted += ack.accepted
        self.duplicates += ack.duplicates
        rejections = []
        events = batch.message.events
        for rejection in ack.rejected:
            event = events[rejection.index] if rejection.index < len(events) else None
            rejections.append(
                Rejection(
                    decision_id=event.decision_id if event is not None else "",
                    event_id=event.event_id if event is not None else "",
                    code=_CODE_NAMES.get(rejection.code, str(rejection.code)),
                    message=rejection.message,
                )
            )
        self.rejected += len(rejections)
        self.last_rejections.extend(rejections)
        return rejections


class LedgerCounters:
    """The outcome counters a reporter exposes, read from its RewardLedger.

    Shared by RewardReporter and AsyncRewardReporter; plain int reads, so no lock is needed.
    """

    _ledger: RewardLedger

    @property
    def accepted(self) -> int:
        """Events newly recorded by the server."""
        return self._ledger.accepted

    @property
    def duplicates(self) -> int:
        """Events the server had recorded before (resends); not counted again."""
        return self._ledger.duplicates

    @property
    def rejected(self) -> int:
        """Events the server refused; they are not retried."""
        return self._ledger.rejected

    @property
    def resent_batches(self) -> int:
        """Batches sent again on a new stream because their ack never came."""
        return self._ledger.resent_batches

    @property
    def outstanding(self) -> int:
        """Events reported and not yet acknowledged."""
        return self._ledger.outstanding


class RejectionLog:
    """Logs rejected events at WARNING at most once per interval, summarising the rest."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._last_logged = -float("inf")
        self._unlogged = 0

    def record(self, rejections: list[Rejection], now: float) -> None:
        if not rejections:
            return
        self._unlogged += len(rejections)
        if now - self._last_logged < self.interval_s:
            return
        latest = rejections[-1]
        logger.warning(
            "banditd rejected %d reward event(s), which will not be retried; latest: "
            "decision_id=%r event_id=%r %s: %s (see the reporter's last_rejections)",
            self._unlogged,
            latest.decision_id,
            latest.event_id,
            latest.code,
            latest.message,
        )
        self._unlogged = 0
        self._last_logged = now


class StreamRecovery:
    """Reopening a broken reward stream: bounded exponential backoff, and quiet logs.

    The first failure of a run is a WARNING, retries are DEBUG, and the first ack after
    a failure is an INFO line, so a server restart costs two log lines, not a flood.
    """

    def __init__(self, target: str, initial_s: float = 0.05, max_s: float = 2.0) -> None:
        self.target = target
        self.initial_s = initial_s
        self.max_s = max_s
        self.failures = 0
        self._next_s = initial_s

    def failed(self, reason: str, unacked_batches: int) -> float:
        """Records a broken stream; returns how long to wait before reopening it."""
        self.failures += 1
        log = logger.warning if self.failures == 1 else logger.debug
        log(
            "reward stream to banditd at %s broke (%s); reopening it and resending %d "
            "unacknowledged batch(es)",
            self.target,
            reason,
            unacked_batches,
        )
        delay = self._next_s
        self._next_s = min(self._next_s * 2, self.max_s)
        # Jitter keeps many reporters from reconnecting in lockstep after a restart.
        return delay * random.uniform(0.5, 1.0)

    def acked(self) -> None:
        """Records an ack: the stream works, so the next failure starts a fresh backoff."""
        if self.failures:
            logger.info(
                "reward stream to banditd at %s works again after %d failed attempt(s)",
                self.target,
                self.failures,
            )
            self.failures = 0
            self._next_s = self.initial_s
