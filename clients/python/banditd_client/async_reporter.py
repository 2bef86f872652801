"""AsyncRewardReporter: RewardReporter's twin for asyncio, running as a task.

Same semantics and the same RewardLedger as the threaded reporter: batches stay until
acked, a broken stream is reopened with backoff, and every unacked batch is resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from types import TracebackType
from typing import Any

import grpc
import grpc.aio

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

_WATCH_INTERVAL_S = 1.0
# What call.read() returns once the server has ended the stream (missing from grpc-stubs).
_END_OF_STREAM: object = grpc.aio.EOF  # type: ignore[attr-defined]


class _Signal:
    """Wakes every waiter when the reporter's state changes (one event loop, no lock)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float | None = None) -> None:
        """Returns on the next notify(), or after timeout_s."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)


class AsyncRewardReporter(LedgerCounters):
    """Queues rewards and delivers them in acknowledged batches from an asyncio task.

    `await report()` waits while max_pending events are unacknowledged (backpressure;
    nothing is dropped). `await close()` (or `async with`) before the loop ends.
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
        self._signal = _Signal()
        self._closing = False
        self._stopped = False
        self._stop_reason = ""
        self._call: Any = None
        # Started on first use, so that the reporter can be made outside a running loop.
        self._task: asyncio.Task[None] | None = None

    # -- the caller's side -------------------------------------------------------------

    async def report(
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

        Waits while max_pending events await their ack. Raises RuntimeError once closed.
        """
        check_decision_id(decision_id)
        reward, error, latency_ms = reward_outcome(reward, error, latency_ms)
        event_id = event_id or new_event_id()
        self._start()
        while True:
            self._raise_if_closed()
            if self._ledger.has_room():
                break
            await self._signal.wait()
        if self._ledger.add(decision_id, reward, event_id, time.monotonic(), error, latency_ms):
            self._signal.notify()

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Waits until every reward reported so far is acknowledged; False on timeout."""
        self._start()
        mark = self._ledger.request_flush()
        self._signal.notify()
        return await self._wait_until(lambda: self._ledger.settled(mark), timeout_s)

    async def close(self, timeout_s: float = 10.0) -> bool:
        """Flushes, then stops the task; False if some rewards were still unacknowledged."""
        self._closing = True
        self._signal.notify()
        delivered = await self._wait_until(lambda: self._ledger.idle, timeout_s)
        if not delivered and not self._stopped:
            logger.warning(
                "closing the reward reporter for %s with %d reward event(s) not "
                "acknowledged after %.1f s; they may not have been recorded",
                self._target,
                self._ledger.outstanding,
                timeout_s,
            )
        self._stop("closed")
        if self._task is not None:
            if not delivered and self._call is not None:
                self._call.cancel()
            # With everything acked the request stream half-closes and the server ends the
            # call; give it a moment before cancelling the task outright.
            _, pending = await asyncio.wait({self._task}, timeout=2.0)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return delivered

    async def __aenter__(self) -> AsyncRewardReporter:
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closing or self._stopped

    @property
    def last_rejections(self) -> deque[Rejection]:
        """The latest rejected events: (decision_id, event_id, code name, message)."""
        return deque(self._ledger.last_rejections, maxlen=self._ledger.last_rejections.maxlen)

    def _start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"banditd-reward-reporter-{self._target}"
            )

    def _raise_if_closed(self) -> None:
        if self._closing or self._stopped:
            raise RuntimeError(
                f"this AsyncRewardReporter is {self._stop_reason or 'closed'}; "
                "get a new one from client.reward_reporter()"
            )

    def _stop(self, reason: str) -> None:
        if not self._stopped:
            self._stopped = True
            self._stop_reason = reason
        self._signal.notify()

    async def _wait_until(self, done: Any, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not done():
            remaining = deadline - time.monotonic()
            if self._stopped or remaining <= 0:
                return bool(done())
            await self._signal.wait(remaining)
        return True

    # -- the task ----------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._deliver()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("the reward reporter for %s failed; it stops", self._target)
            self._stop("stopped after an internal error (see the log)")

    async def _deliver(self) -> None:
        """Opens a stream whenever events are outstanding, until closed and all acked."""
        while True:
            # Open no stream while there is nothing to send (see RewardReporter).
            while not (self._stopped or self._closing or not self._ledger.idle):
                await self._signal.wait()
            if self._stopped or (self._closing and self._ledger.idle):
                return
            resend = self._ledger.batches_to_resend(time.monotonic())
            call = self._stub.ReportRewards()
            self._call = call
            writer = asyncio.create_task(self._write_batches(call, resend))
            try:
                reason = await self._read_acks(call)
            finally:
                self._call = None
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            if self._stopped or (self._closing and self._ledger.idle):
                return
            delay = self._recovery.failed(reason, self._ledger.unacked_batches)
            # Sleep out the backoff; new reports must not cut it short, only a stop.
            await self._wait_until(lambda: self._stopped, delay)

    async def _read_acks(self, call: Any) -> str:
        """Applies acks until the stream ends; returns why it ended."""
        try:
            while True:
                ack = await call.read()
                if ack is _END_OF_STREAM:
                    return "the server ended the stream"
                rejections = self._ledger.apply_ack(ack)
                self._signal.notify()
                self._recovery.acked()
                self._rejection_log.record(rejections, time.monotonic())
        except grpc.RpcError as error:
            bandit_error = from_rpc_error(error)
            return f"{bandit_error.code.name}: {bandit_error.details}"
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the reporter itself is being cancelled
            # grpc.aio raises CancelledError in a reader when the call was cancelled.
            return "the stream was cancelled"

    async def _write_batches(self, call: Any, resend: list[Message]) -> None:
        """Writes unacked batches, then new ones as they come due, until the stream ends."""
        try:
            for batch in resend:
                await call.write(batch)
            while True:
                now = time.monotonic()
                if self._ledger.ack_overdue(now):
                    logger.warning(
                        "no ack from banditd at %s for %.0f s; dropping the reward stream "
                        "to reopen it",
                        self._target,
                        ACK_TIMEOUT_S,
                    )
                    call.cancel()
                    return
                if self._stopped or (self._closing and self._ledger.idle):
                    await call.done_writing()
                    return
                due = self._ledger.seconds_until_due(now, urgent=self._closing)
                if due == 0:
                    await call.write(self._ledger.cut_batch(now))
                    continue
                await self._signal.wait(
                    _WATCH_INTERVAL_S if due is None else min(due, _WATCH_INTERVAL_S)
                )
        except (grpc.RpcError, asyncio.InvalidStateError, grpc.aio.UsageError):
            # The stream is over; the reader reports why, and its batches stay unacked.
            return
