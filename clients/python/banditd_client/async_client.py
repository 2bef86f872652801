"""AsyncBanditClient: BanditClient's twin for asyncio, over grpc.aio.

Requests, responses, fallback and errors go through the same modules as the sync client;
only the awaiting differs. Make the client inside the event loop that uses it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType

import grpc.aio
from banditd.v1 import decisions_pb2_grpc

from banditd_client import _wire
from banditd_client._channel import open_aio_channel
from banditd_client._fallback import DefaultArms
from banditd_client.async_reporter import AsyncRewardReporter
from banditd_client.client import DEFAULT_TARGET
from banditd_client.decision import Decision
from banditd_client.errors import BanditError, rpc_errors


class AsyncBanditClient:
    """Asks banditd which arm serves a request, and reports what it earned (asyncio).

    Fallback to the default arm works as in BanditClient.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout_s: float = 0.25,
        fallback_to_default: bool = False,
        fallback_arms: Mapping[str, tuple[str, str]] | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_aio_channel(target)
        self._stub = decisions_pb2_grpc.DecisionsStub(self._channel)
        self._default_arms = DefaultArms(target, fallback_to_default, fallback_arms)
        self._reporters: weakref.WeakSet[AsyncRewardReporter] = weakref.WeakSet()

    async def decide(
        self,
        experiment: str,
        *,
        unit_id: str | None = None,
        attributes: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Decision:
        """The arm that serves one request of `experiment`."""
        request = _wire.decide_request(experiment, unit_id, attributes)
        try:
            with rpc_errors():
                response = await self._stub.Decide(request, timeout=self._deadline(timeout_s))
        except BanditError as error:
            fallback = self._default_arms.serve(experiment, error)
            if fallback is None:
                raise
            return fallback
        self._default_arms.learn(experiment, response)
        return _wire.decision_from_response(experiment, response)

    async def decide_batch(
        self,
        experiment: str,
        count: int | None = None,
        *,
        unit_ids: Sequence[str] | None = None,
        attributes: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> list[Decision]:
        """`count` decisions (or one per unit id, in order) for requests of `experiment`."""
        request = _wire.decide_batch_request(experiment, count, unit_ids, attributes)
        with rpc_errors():
            response = await self._stub.DecideBatch(request, timeout=self._deadline(timeout_s))
        return _wire.decisions_from_batch(experiment, response)

    async def report_reward(
        self,
        decision_id: str,
        reward: float | None = None,
        *,
        event_id: str | None = None,
        error: bool | None = None,
        latency_ms: float | None = None,
        timeout_s: float | None = None,
    ) -> bool:
        """Records what a decision earned now; True when it was a duplicate (recorded before).

        Give a reward, guardrail outcomes (error=True when the model failed, latency_ms how
        long it took), or both; at least one. A reward left out is "no reward", not 0.
        event_id defaults to a fresh uuid4 hex; pass your own to make retries safe. For
        many events use reward_reporter(), which batches them on one stream.
        """
        request = _wire.report_reward_request(decision_id, reward, event_id, error, latency_ms)
        with rpc_errors():
            response = await self._stub.ReportReward(request, timeout=self._deadline(timeout_s))
        return bool(response.duplicate)

    def reward_reporter(
        self,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 0.05,
        max_pending: int = 100_000,
    ) -> AsyncRewardReporter:
        """An AsyncRewardReporter on this client's channel; `await close()` it when done."""
        reporter = AsyncRewardReporter(
            self._stub,
            self.target,
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_pending=max_pending,
        )
        self._reporters.add(reporter)
        return reporter

    @property
    def fallback_count(self) -> int:
        """Decisions served from a default arm because banditd could not be reached."""
        return self._default_arms.count

    @property
    def fallbacks_by_experiment(self) -> dict[str, int]:
        """fallback_count per experiment (a copy)."""
        return self._default_arms.by_experiment

    async def close(self) -> None:
        """Closes the reporters made by this client (flushing them), then the channel."""
        await asyncio.gather(*(reporter.close() for reporter in list(self._reporters)))
        if self._owns_channel:
            await self._channel.close(None)

    async def __aenter__(self) -> AsyncBanditClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _deadline(self, timeout_s: float | None) -> float:
        return self.timeout_s if timeout_s is None else timeout_s
