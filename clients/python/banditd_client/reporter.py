"""RewardReporter: reports rewards in batches over one long-lived stream, from a thread.

Get one from BanditClient.reward_reporter(). report() only queues; a background thread
cuts the queue into RewardBatches on a ReportRewards stream and keeps each batch until
its ack arrives. When the stream breaks it reopens it and resends every unacked batch
(the server ignores events it has already recorded), so no reward is lost or counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import grpc

from banditd_client._reward_batches import (
    ACK_TIMEOUT_S,
    LedgerCounters,
    Rejection,
    RejectionLog,
    RewardLedger,
    StreamRecovery,
)
from banditd_client._wire import Message, check_decision_id, new_event_id, reward_outcome
from banditd_client.errors import from_rpc_error

logger = logging.getLogger(__name__)

# Longest the batch cutter sleeps without looking at the ack clock.
_WATCH_INTERVAL_S = 1.0


class RewardReporter(LedgerCounters):
    """Queues rewards and delivers them in acknowledged batches from a background thread.

    report() blocks while max_pending events are unacknowledged (backpressure; nothing is
    ever dropped). Call close() (or use `with`) before exiting, or queued rewards are lost.
    """

    def __init__(
        self,
        stub: Any,
        target: str,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.05,
        max_pending: int = 100_000,
    ) -> None:
        self._ledger = RewardLedger(batch_size, flush_interval_s, max_pending)
        self._stub = stub
        self._target = target
        self._recovery = StreamRecovery(target)
        self._rejection_log = RejectionLog()
        self._cond = threading.Condition()
        self._closing = False
        # Set when the thread must stop at once: close() timed out, or the thread failed.
        self._stopped = False
        self._stop_reason = ""
        # Bumped whenever a stream ends, so its request iterator knows to finish.
        self._generation = 0
        self._call: Any = None
        self._thread = threading.Thread(
            target=self._run, name=f"banditd-reward-reporter-{target}", daemon=True
        )
        self._thread.start()

    # -- the caller's side -------------------------------------------------------------

    def report(
        self,
        decision_id: str,
        reward: float | None = None,
        event_id: str | None = None,
        *,
        error: bool | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Queues what the decision earned; event_id defaults to a fresh uuid4 hex.

        Give a reward, guardrail outcomes (error: the model failed; latency_ms: how long it
        took), or both; at least one of them. A reward left out is not a reward of 0.

        Blocks while max_pending events await their ack. Raises RuntimeError once closed.
        """
        check_decision_id(decision_id)
        reward, error, latency_ms = reward_outcome(reward, error, latency_ms)
        event_id = event_id or new_event_id()
        with self._cond:
            while True:
                self._raise_if_closed()
                if self._ledger.has_room():
                    break
                self._cond.wait()
            if self._ledger.add(decision_id, reward, event_id, time.monotonic(), error, latency_ms):
                self._cond.notify_all()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Waits until every reward reported so far is acknowledged; False on timeout."""
        with self._cond:
            mark = self._ledger.request_flush()
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._ledger.settled(mark) or self._stopped, timeout=timeout_s
            ) and self._ledger.settled(mark)

    def close(self, timeout_s: float = 10.0) -> bool:
        """Flushes, then stops the thread; False if some rewards were still unacknowledged."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            delivered = (
                self._cond.wait_for(lambda: self._ledger.idle or self._stopped, timeout=timeout_s)
                and self._ledger.idle
            )
            if not delivered and not self._stopped:
                logger.warning(
                    "closing the reward reporter for %s with %d reward event(s) not "
                    "acknowledged after %.1f s; they may not have been recorded",
                    self._target,
                    self._ledger.outstanding,
                    timeout_s,
                )
            self._stop("closed")
            call = self._call
        if call is not None and not delivered:
            call.cancel()
        # With everything acked the request stream half-closes and the server ends the call.
        self._thread.join(timeout=2.0)
        if self._thread.is_alive() and call is not None:
            call.cancel()
            self._thread.join(timeout=2.0)
        return delivered

    def __enter__(self) -> RewardReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closing or self._stopped

    @property
    def last_rejections(self) -> deque[Rejection]:
        """The latest rejected events: (decision_id, event_id, code name, message)."""
        with self._cond:
            return deque(self._ledger.last_rejections, maxlen=self._ledger.last_rejections.maxlen)

    def _raise_if_closed(self) -> None:
        if self._closing or self._stopped:
            raise RuntimeError(
                f"this RewardReporter is {self._stop_reason or 'closed'}; "
                "get a new one from client.reward_reporter()"
            )

    def _stop(self, reason: str) -> None:
        """Makes the thread and every waiter give up (call with the lock held)."""
        if not self._stopped:
            self._stopped = True
            self._stop_reason = reason
        self._generation += 1
        self._cond.notify_all()

    # -- the background thread ---------------------------------------------------------

    def _run(self) -> None:
        try:
            self._deliver()
        except Exception:
            logger.exception("the reward reporter for %s failed; it stops", self._target)
            with self._cond:
                self._stop("stopped after an internal error (see the log)")

    def _deliver(self) -> None:
        """Opens a stream whenever events are outstanding, until closed and all acked."""
        while True:
            with self._cond:
                # Open no stream while there is nothing to send: an idle client then
                # sleeps through server restarts without reconnecting or logging.
                self._cond.wait_for(lambda: self._stopped or self._closing or not self._ledger.idle)
                if self._stopped or (self._closing and self._ledger.idle):
                    return
                self._generation += 1
                generation = self._generation
                resend = self._ledger.batches_to_resend(time.monotonic())
            call = self._stub.ReportRewards(self._batches(generation, resend))
            with self._cond:
                self._call = call
            reason = self._read_acks(call)
            with self._cond:
                self._generation += 1  # ends this stream's request iterator
                self._call = None
                self._cond.notify_all()
                if self._stopped or (self._closing and self._ledger.idle):
                    return
                delay = self._recovery.failed(reason, self._ledger.unacked_batches)
                self._cond.wait_for(lambda: self._stopped, timeout=delay)

    def _read_acks(self, call: Any) -> str:
        """Applies acks until the stream ends; returns why it ended."""
        try:
            for ack in call:
                with self._cond:
                    rejections = self._ledger.apply_ack(ack)
                    self._cond.notify_all()
                self._recovery.acked()
                self._rejection_log.record(rejections, time.monotonic())
        except grpc.RpcError as error:
            bandit_error = from_rpc_error(error)
            return f"{bandit_error.code.name}: {bandit_error.details}"
        return "the server ended the stream"

    def _batches(self, generation: int, resend: list[Message]) -> Iterator[Message]:
        """The request stream: unacked batches first, then new ones as they come due.

        gRPC consumes this iterator on its own thread; it returns once its stream is
        over (generation changed), or, when closing, once everything has been acked.
        """
        yield from resend
        while True:
            with self._cond:
                batch = self._next_batch(generation)
            if batch is None:
                return
            yield batch

    def _next_batch(self, generation: int) -> Message | None:
        """Waits for the next batch to come due (lock held); None ends the request stream."""
        while self._generation == generation:
            now = time.monotonic()
            if self._ledger.ack_overdue(now):
                logger.warning(
                    "no ack from banditd at %s for %.0f s; dropping the reward stream to reopen it",
                    self._target,
                    ACK_TIMEOUT_S,
                )
                if self._call is not None:
                    # Cancelling only marks the call; it takes no lock of ours.
                    self._call.cancel()
                return None
            if self._closing and self._ledger.idle:
                return None
            due = self._ledger.seconds_until_due(now, urgent=self._closing)
            if due == 0:
                return self._ledger.cut_batch(now)
            self._cond.wait(_WATCH_INTERVAL_S if due is None else min(due, _WATCH_INTERVAL_S))
        return None
