"""Traffic building blocks of the rollout scenarios: a connection to banditd, pacing,
seeded outcome streams, delayed reward delivery and a sliding share of recent decisions.

Outcomes use common random numbers: the k-th decision served by an arm draws the k-th
value of that arm's own seeded stream, so two runs of a scenario that differ only in the
server's configuration (window or no window, wait or no wait) see the same outcomes for
the same arm, whatever the other arm got.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from banditd.v1 import admin_pb2, admin_pb2_grpc
from banditd_client import AdminClient, BanditClient, Decision, RewardReporter  # type: ignore[import-untyped]
from numpy.typing import NDArray

# Event ids: a decision earns one reward and one guardrail observation; a fixed id per
# kind makes a resend a harmless duplicate (and costs no uuid per event).
REWARD_EVENT = "reward"
OUTCOME_EVENT = "outcome"


@dataclass
class Connection:
    """Clients of one banditd: data plane, admin plane, and raw admin stub for the RPCs the
    AdminClient does not wrap yet (SetRewardTiming)."""

    target: str
    token: str
    # The server's effective settings (banditd serve --print-config).
    settings: dict[str, Any] = field(default_factory=dict)
    client: BanditClient = field(init=False)
    admin: AdminClient = field(init=False)
    _channel: grpc.Channel = field(init=False)
    _admin_stub: Any = field(init=False)

    def __post_init__(self) -> None:
        self.client = BanditClient(self.target, timeout_s=10.0)
        self.admin = AdminClient(self.target, token=self.token, timeout_s=10.0, actor="scenarios")
        self._channel = grpc.insecure_channel(self.target)
        self._admin_stub = admin_pb2_grpc.AdminStub(self._channel)

    def reporter(self) -> RewardReporter:
        return self.client.reward_reporter(
            batch_size=1000, flush_interval_s=0.02, max_pending=200_000
        )

    def set_reward_timing(
        self, experiment: str, *, reward_wait_s: float = 0.0, window_s: float = 0.0
    ) -> Any:
        request = admin_pb2.SetRewardTimingRequest(
            experiment=experiment,
            timing=admin_pb2.RewardTiming(reward_wait_s=reward_wait_s, window_s=window_s),
        )
        return self._admin_stub.SetRewardTiming(
            request, metadata=(("authorization", f"Bearer {self.token}"),), timeout=10.0
        )

    def close(self) -> None:
        self.client.close()
        self.admin.close()
        self._channel.close()


class Pacer:
    """How many decisions are due now to hold `rate` per second since start (catching up
    after a slow call rather than losing the traffic)."""

    def __init__(self, rate: float, started: float) -> None:
        self.rate = rate
        self.started = started
        self.done = 0

    def due(self, now: float, cap: int = 10_000) -> int:
        return max(0, min(cap, int((now - self.started) * self.rate) - self.done))

    def count(self, n: int) -> None:
        self.done += n


def sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def wait_for(
    what: str, check: Callable[[], bool], timeout_s: float, every_s: float = 0.05
) -> float:
    """Polls check() until true; returns the seconds it took. Raises TimeoutError."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if check():
            return time.monotonic() - began
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class ArmStreams:
    """Per arm, an endless seeded stream of uniforms (outcomes) and of delays; each
    decision served by the arm takes the next value of both."""

    _CHUNK = 65_536

    def __init__(self, seed: int, arms: Sequence[str], max_delay_s: float = 0.0) -> None:
        self.max_delay_s = max_delay_s
        self._rngs = {arm: np.random.default_rng([seed, i]) for i, arm in enumerate(arms)}
        self._uniforms = {arm: np.empty(0) for arm in arms}
        self._delays = {arm: np.empty(0) for arm in arms}
        self._used = dict.fromkeys(arms, 0)

    def take(self, arm: str, n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The next n (uniform, delay_s) pairs of the arm's stream."""
        used = self._used[arm]
        while len(self._uniforms[arm]) < used + n:
            rng = self._rngs[arm]
            self._uniforms[arm] = np.concatenate([self._uniforms[arm], rng.random(self._CHUNK)])
            self._delays[arm] = np.concatenate(
                [self._delays[arm], rng.uniform(0.0, self.max_delay_s, self._CHUNK)]
            )
        self._used[arm] = used + n
        return self._uniforms[arm][used : used + n], self._delays[arm][used : used + n]

    def outcomes(
        self, decisions: Sequence[Decision], rates: dict[str, float]
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """Success flag and reward delay per decision, in order, from each arm's stream."""
        arms = np.array([d.arm for d in decisions])
        success = np.zeros(len(decisions), dtype=np.bool_)
        delay = np.zeros(len(decisions))
        for arm, rate in rates.items():
            where = np.flatnonzero(arms == arm)
            if len(where):
                uniforms, delays = self.take(arm, len(where))
                success[where] = uniforms < rate
                delay[where] = delays
        return success, delay


class DelayedRewards:
    """Rewards waiting for their (simulated) conversion time, reported once due."""

    def __init__(self, reporter: RewardReporter) -> None:
        self._reporter = reporter
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self.reported = 0

    def add(self, due: float, decision_id: str) -> None:
        heapq.heappush(self._heap, (due, next(self._order), decision_id))

    def deliver(self, now: float) -> int:
        """Reports every reward due by now; returns how many."""
        heap, sent = self._heap, 0
        while heap and heap[0][0] <= now:
            _, _, decision_id = heapq.heappop(heap)
            self._reporter.report(decision_id, 1.0, REWARD_EVENT)
            sent += 1
        self.reported += sent
        return sent

    @property
    def waiting(self) -> int:
        return len(self._heap)


class RecentShare:
    """Share of one arm among the last `size` decisions."""

    def __init__(self, size: int) -> None:
        self._ring = np.zeros(size, dtype=np.bool_)
        self._filled = 0
        self._next = 0

    def add(self, hits: NDArray[np.bool_]) -> None:
        size = len(self._ring)
        for hit in hits[-size:]:
            self._ring[self._next] = hit
            self._next = (self._next + 1) % size
        self._filled = min(size, self._filled + len(hits))

    @property
    def full(self) -> bool:
        return self._filled == len(self._ring)

    @property
    def share(self) -> float:
        return float(self._ring[: self._filled].mean()) if self._filled else 0.0


def arm_share(decisions: Sequence[Decision], arm: str, arms: Sequence[str]) -> float | None:
    """The arm's traffic share in the snapshot that made a batch (all its decisions share
    one), read from the propensities; None if the batch does not tell (more than two arms
    and none of them the arm)."""
    for decision in decisions:
        if decision.arm == arm:
            return float(decision.propensity)
    if len(arms) == 2 and decisions:
        return 1.0 - float(decisions[0].propensity)
    return None


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)
