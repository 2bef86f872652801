"""The hot path: decisions from a local snapshot, counted locally, flushed to Redis in batches.

A decision never waits on Redis. One background thread refreshes each experiment's
snapshot every refresh_interval_ms (admin changes show up as a new config epoch) and
flushes decision counts every flush_interval_ms. A flush carries a per-replica sequence
number and is retried with the same number until Redis confirms it, so Redis totals equal
the sum of what every replica decided: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

import policies

from .config import Settings
from .domain import MAX_ARMS, MAX_SEGMENT_BYTES, Experiment, validate_name
from .errors import ExperimentNotFoundError, InvalidArgumentError, StoreUnavailableError
from .stats import ArmStats, bucket_range, build_allocation, matured_stats, time_bucket
from .store import PullFlush, RawStats, StateStore
from .tokens import DecisionSigner, PresignedIds

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one replica decides an experiment from until the next refresh. Never mutated."""

    experiment: Experiment
    # None until a decision needs it when the replica had not decided from the experiment
    # since its statistics last changed (Engine._serving builds it then).
    allocation: policies.Allocation | None
    name_bytes: bytes
    # All-history statistics, as read from Redis. Parsed, not the raw hash: that is about
    # 80 small objects an experiment, and a replica holds thousands of experiments.
    totals: ArmStats
    # The statistics the allocation was built from: totals, or with reward timing the
    # matured decisions in the window.
    decision_stats: ArmStats
    # Arms every decision mirrors to (never served).
    shadows: tuple[int, ...]
    # Per-arm salts of sticky assignment (weighted rendezvous hashing).
    salts: NDArray[np.uint64]
    # Segments admitted in Redis, their raw statistics, and the allocations of those with
    # enough decisions to decide from their own statistics.
    segments: frozenset[str] = frozenset()
    segment_stats: Mapping[str, RawStats] = field(default_factory=dict)
    segment_allocations: Mapping[str, policies.Allocation] = field(default_factory=dict)
    # Serialized DecideResponse fields per arm, all but the decision id (convert.py fills
    # it on first use; the only mutable part, a cache).
    response_heads: dict[int, bytes] = field(default_factory=dict)
    # Plain decisions (no unit, segment or shadows) drawn and signed ahead (Engine.decide).
    ahead: DrawnAhead = field(default_factory=lambda: DrawnAhead())


# Shared by the snapshots of unsegmented experiments (an empty frozenset is not).
NO_SEGMENTS: frozenset[str] = frozenset()


class DrawnAhead:
    """A run of decisions drawn from one snapshot's allocation and signed, handed out one
    per plain Decide (list.pop is atomic). Draws from one allocation are independent
    whenever they are made, so drawing a run ahead serves exactly the same distribution;
    a decision is counted when it is handed out, and a run older than DRAWN_AHEAD_MAX_MS
    is dropped (its ids' decided-at time is when they were signed)."""

    __slots__ = ("decisions", "signed_ms")

    def __init__(self) -> None:
        self.signed_ms = 0
        self.decisions: list[tuple[int, str]] = []


class Decision(NamedTuple):
    snapshot: Snapshot
    # What decided: the snapshot's allocation or its segment's (propensities come from it).
    allocation: policies.Allocation
    arm: int
    decision_id: str
    # The shadow arms mirrored, with their decision ids.
    shadows: list[tuple[int, str]]


class Decisions(NamedTuple):
    snapshot: Snapshot
    allocation: policies.Allocation
    arms: NDArray[np.int64]
    decision_ids: list[str]
    # Decision i, shadow arm j at i * len(snapshot.shadows) + j.
    shadow_ids: list[str]


# Decision-time buckets of one experiment by index.
TimeBuckets = dict[int, RawStats]
# A shadow arm's index and the decision id of the mirrored request.
ShadowDecisions = list[tuple[int, str]]


class ExperimentState:
    """Per experiment: the current snapshot and the decisions not yet flushed."""

    __slots__ = (
        "dirty",
        "inflight",
        "lock",
        "pending",
        "rebuilt_at",
        "segment_pending",
        "seq",
        "served",
        "snapshot",
    )

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.lock = threading.Lock()
        # Decisions per arm not yet flushed; None until the first since the last flush (a
        # replica holds thousands of experiments it rarely decides from).
        self.pending: list[int] | None = None
        # Whether pending holds counts and the experiment is queued for the next flush.
        self.dirty = False
        # When (time.monotonic) the snapshot was last built, and whether this replica has
        # decided from it since.
        self.rebuilt_at = time.monotonic()
        self.served = False
        # Segment value -> decisions per arm not yet flushed.
        self.segment_pending: dict[str, list[int]] = {}
        self.seq = 0
        # A flush sent but not confirmed; resent with the same seq until Redis confirms it.
        self.inflight: PullFlush | None = None


@functools.lru_cache(maxsize=65_536)
def _arm_salts(arm_names: tuple[str, ...]) -> NDArray[np.uint64]:
    # Cached (read-only arrays): every rebuild of a snapshot needs them, arms rarely change.
    return policies.arm_salts(arm_names)


# Decisions drawn (plain ones) and ids signed (sticky and segmented ones) ahead per kernel
# call, and the oldest one that is still served.
DRAWN_AHEAD = 16
DRAWN_AHEAD_MAX_MS = 100


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Engine:
    """Owns the snapshots of one replica and the thread that keeps them fresh."""

    def __init__(self, store: StateStore, signer: DecisionSigner, settings: Settings) -> None:
        self._store = store
        self._signer = signer
        self._ids = PresignedIds(signer, run=DRAWN_AHEAD, max_age_ms=DRAWN_AHEAD_MAX_MS)
        self._settings = settings
        self.replica_id = uuid.uuid4().hex[:16]
        self._states: dict[str, ExperimentState] = {}
        # name -> monotonic time until which "not found" is cached, so bogus names cost
        # at most one Redis round trip per refresh interval.
        self._missing: dict[str, float] = {}
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_s = settings.refresh_interval_ms / 1000
        self._flush_s = settings.flush_interval_ms / 1000
        self._last_error_log = 0.0
        self._next_full_refresh = 0.0
        # Experiments with reward timing: rebuilt at every refresh, changed or not.
        self._timed: set[str] = set()
        # Experiments whose new statistics wait for their rebuild, by when that was noticed.
        self._deferred: dict[str, float] = {}
        # Experiments this replica has not decided from since their last rebuild, whose
        # new statistics wait their turn (a budget per refresh), by when that was noticed.
        self._idle_queue: dict[str, float] = {}
        self._idle_budget = max(
            1, round(settings.idle_reloads_per_s * settings.refresh_interval_ms / 1000)
        )
        self._min_rebuild_s = settings.min_rebuild_interval_ms / 1000
        self._idle_delay_s = settings.idle_rebuild_delay_ms / 1000
        # Experiments the autopilot judges (guardrails, ramps, auto-promotion).
        self._autopiloted: set[str] = set()
        # Experiments queued for the next flush by their first count since the last one,
        # and those whose last flush Redis has not confirmed (resent as they were).
        self._dirty: deque[str] = deque()
        self._unconfirmed: set[str] = set()
        self._flush_lock = threading.Lock()
        # The last change number read from the store's changes feed (None: none yet).
        self._changes_seen: int | None = None
        self.refreshes = 0
        self.flushes = 0

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="banditd-sync", daemon=True)
        self._thread.start()

    def close(self, attempts: int = 10) -> None:
        """Stops the background thread, then flushes what is left with bounded retries."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for attempt in range(attempts):
            try:
                self.flush()
                return
            except StoreUnavailableError as exc:
                logger.warning(
                    "final flush failed (attempt %d of %d): %s", attempt + 1, attempts, exc
                )
                time.sleep(0.2)
        unflushed = sum(sum(s.pending or ()) for s in self._states.values())
        logger.error("shutting down with %d decision counts not written to Redis", unflushed)

    def _run(self) -> None:
        next_refresh = time.monotonic() + self._refresh_s
        next_flush = time.monotonic() + self._flush_s
        while not self._stop.wait(max(0.0, min(next_refresh, next_flush) - time.monotonic())):
            now = time.monotonic()
            try:
                if now >= next_flush:
                    next_flush = now + self._flush_s
                    self.flush()
                if now >= next_refresh:
                    next_refresh = now + self._refresh_s
                    self.refresh()
            except StoreUnavailableError as exc:
                self._log_sync_error(exc)
            except Exception:
                logger.exception("background refresh/flush failed; retrying next interval")

    def _log_sync_error(self, exc: Exception) -> None:
        if time.monotonic() - self._last_error_log > 5.0:
            self._last_error_log = time.monotonic()
            logger.warning("cannot sync with redis, deciding from the last snapshot: %s", exc)

    # --- snapshots -------------------------------------------------------------------
    def _snapshot(
        self,
        experiment: Experiment,
        totals: ArmStats,
        buckets: TimeBuckets | None = None,
        segment_stats: Mapping[str, RawStats] | None = None,
        allocate: bool = True,
    ) -> Snapshot:
        """A snapshot of the experiment with these statistics; its allocations are left to
        the first decision that needs them unless allocate (Engine._serving)."""
        stats = totals
        if experiment.timing.bucketed:
            if buckets is None:
                (buckets,) = self._read_buckets([experiment])
            stats = matured_stats(experiment, stats, buckets, now_ms())
        if experiment.segmentation.enabled and segment_stats is None:
            (segment_stats,) = self._store.read_segment_stats([experiment.name])
        snapshot = Snapshot(
            experiment,
            None,
            experiment.name.encode("ascii"),
            totals,
            stats,
            experiment.shadow_indices,
            _arm_salts(tuple(experiment.arm_names)),
            frozenset(segment_stats) if segment_stats else NO_SEGMENTS,
            segment_stats or {},
        )
        return self._allocated(snapshot) if allocate else snapshot

    def _allocated(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with its allocations: the experiment's, and its segments'."""
        experiment, draws = snapshot.experiment, self._settings.share_draws
        segment_allocations = {}
        for value, seg_raw in snapshot.segment_stats.items():
            seg = ArmStats.from_raw(experiment, seg_raw)
            # A young segment decides from the experiment's statistics until it has its own.
            if seg.pulls.sum() >= experiment.segmentation.min_samples:
                segment_allocations[value] = build_allocation(experiment, seg, draws)
        return replace(
            snapshot,
            allocation=build_allocation(experiment, snapshot.decision_stats, draws),
            segment_allocations=segment_allocations,
            response_heads={},
            ahead=DrawnAhead(),
        )

    def _serving(self, state: ExperimentState) -> tuple[Snapshot, policies.Allocation]:
        """The snapshot to decide from, with its allocation (built now if it waited)."""
        waiting = state.snapshot
        if waiting.allocation is not None:
            return waiting, waiting.allocation
        snapshot = self._allocated(waiting)
        with state.lock:
            # Unless a refresh installed a newer snapshot meanwhile (that one stays).
            if state.snapshot is waiting:
                state.snapshot = snapshot
        assert snapshot.allocation is not None
        return snapshot, snapshot.allocation

    def apply(self, experiment: Experiment, raw: RawStats | None = None) -> None:
        """Installs a new config (after an admin change here, or one seen in Redis)."""
        if raw is None:
            raw = self._store.read_stats(experiment.name)
        snapshot = self._snapshot(experiment, ArmStats.from_raw(experiment, raw))
        state = self._states.get(experiment.name)
        if state is None:
            self._states[experiment.name] = ExperimentState(snapshot)
            self._missing.pop(experiment.name, None)
            self._track(experiment)
        else:
            self._install(state, snapshot)

    def _install(self, state: ExperimentState, snapshot: Snapshot) -> None:
        """Replaces the snapshot unless it would go back to an older config.

        A refresh builds its snapshot while an admin change on this replica may install a
        newer one; epochs only grow, so the newer config always wins.
        """
        with state.lock:
            if snapshot.experiment.epoch >= state.snapshot.experiment.epoch:
                state.snapshot = snapshot
                state.rebuilt_at = time.monotonic()
                state.served = False
            installed = state.snapshot.experiment
        self._track(installed)

    def _track(self, experiment: Experiment) -> None:
        """Keeps the sets of experiments that need more than their changes: those with
        reward timing (rebuilt every refresh) and those the autopilot judges."""
        for tracked, wanted in (
            (self._timed, experiment.timing.bucketed),
            (self._autopiloted, experiment.needs_autopilot),
        ):
            if wanted:
                tracked.add(experiment.name)
            else:
                tracked.discard(experiment.name)

    def decision_stats(self, experiment: Experiment, totals: ArmStats) -> ArmStats:
        """The statistics the policy decides from: matured decisions in the window when the
        experiment has reward timing, else all history."""
        if not experiment.timing.bucketed:
            return totals
        (buckets,) = self._read_buckets([experiment])
        return matured_stats(experiment, totals, buckets, now_ms())

    def _read_buckets(self, experiments: list[Experiment]) -> list[TimeBuckets]:
        at = now_ms()
        requests = []
        for experiment in experiments:
            span = bucket_range(experiment.timing, at)
            assert span is not None
            requests.append((experiment.name, *span))
        return self._store.read_time_buckets(requests)

    def refresh(self, full: bool | None = None) -> None:
        """Reloads what changed since the last refresh (the store's changes feeds) among the
        experiments this replica serves: a new config at once, new statistics when their
        rebuild is due (_rebuild_due); everything on a full refresh (every full_refresh_s,
        and the first time), but for the statistics of experiments this replica does not
        serve (_idles).

        Experiments with reward timing are rebuilt whenever due, changed or not: decisions
        mature and leave the window as time passes, even when no new data arrives.
        """
        now = time.monotonic()
        if full is None:
            full = now >= self._next_full_refresh
        # Read first, also before a full refresh: whatever changes after this read is
        # numbered later, so the next refresh sees it.
        changes = self._store.changed_since(self._changes_seen)
        self._changes_seen = changes.last
        states = self._states
        if full:
            self._next_full_refresh = now + self._settings.full_refresh_s
            configured, stale = list(states), list[str]()
            self._deferred.clear()
        else:
            configured = [name for name in changes.configured if name in states]
            stale = self._stale(changes.names, set(configured), now)
        timed: list[tuple[ExperimentState, RawStats]] = []
        segmented: list[tuple[ExperimentState, RawStats]] = []
        if full:
            # What this replica doesn't serve is reloaded by its first decision here (whose
            # count comes back as a change), so a full refresh reads only its config.
            with_stats = [not self._idles(name, states[name]) for name in configured]
        else:
            # A config notice may be one this replica applied already (its own admin
            # change, or the creation it loaded after): then only statistics may be new.
            with_stats = [self._rebuild_due(name, now) for name in configured]
        read = self._store.read_epochs_and_stats(configured, with_stats)
        for name, (epoch, raw) in zip(configured, read, strict=True):
            if epoch == 0:
                continue
            state = states.get(name)
            if state is None or state.snapshot.experiment.epoch != epoch:
                experiment = self._store.get_experiment(name)
                if experiment is not None:
                    self.apply(experiment, raw)
                self._deferred.pop(name, None)
                self._idle_queue.pop(name, None)
            elif raw is None:
                if not full:
                    self._hold(name, state, now)
            else:
                self._deferred.pop(name, None)
                self._idle_queue.pop(name, None)
                self._reload(state, raw, timed, segmented)
        for name, raw in zip(stale, self._store.read_stats_many(stale), strict=True):
            self._reload(states[name], raw, timed, segmented)
        if timed:
            experiments = [state.snapshot.experiment for state, _ in timed]
            for (state, raw), buckets in zip(timed, self._read_buckets(experiments), strict=True):
                experiment = state.snapshot.experiment
                totals = ArmStats.from_raw(experiment, raw)
                rebuilt = self._snapshot(experiment, totals, buckets, allocate=state.served)
                self._install(state, rebuilt)
        if segmented:
            names = [state.snapshot.experiment.name for state, _ in segmented]
            all_segments = self._store.read_segment_stats(names)
            for (state, raw), segments in zip(segmented, all_segments, strict=True):
                current = state.snapshot
                totals = ArmStats.from_raw(current.experiment, raw)
                if not totals.same_as(current.totals) or segments != current.segment_stats:
                    rebuilt = self._snapshot(
                        current.experiment, totals, None, segments, allocate=state.served
                    )
                    self._install(state, rebuilt)
        self.refreshes += 1

    def _stale(self, changed: list[str], configured: set[str], now: float) -> list[str]:
        """Of the experiments with new statistics (changed now, waiting from before, or
        timed), those whose rebuild is due, then the idle queue's turn; the others wait
        (_hold)."""
        stale = []
        states = self._states
        for name in dict.fromkeys([*changed, *self._deferred, *self._timed]):
            if name in configured or name not in states:
                continue
            if self._rebuild_due(name, now):
                stale.append(name)
                self._deferred.pop(name, None)
                self._idle_queue.pop(name, None)
            else:
                self._hold(name, states[name], now)
        return stale + self._idle_turn(configured, now)

    def _idle_turn(self, configured: set[str], now: float) -> list[str]:
        """The front of the idle queue: up to the budget, of those noticed at least
        idle_rebuild_delay_ms ago (so that the changes of that time make one rebuild)."""
        turn: list[str] = []
        queue, budget = self._idle_queue, self._idle_budget
        settled = now - self._idle_delay_s
        for name, noticed in queue.items():
            if len(turn) >= budget or noticed > settled:
                break
            turn.append(name)
        for name in turn:
            del queue[name]
        return [name for name in turn if name not in configured and name in self._states]

    def _kept_fresh(self, name: str) -> bool:
        """Experiments whose statistics are reloaded even while this replica does not
        decide from them: the autopilot judges them, or decisions mature as time passes."""
        return name in self._autopiloted or name in self._timed

    def _idles(self, name: str, state: ExperimentState) -> bool:
        """Whether new statistics of the experiment go to the idle queue (_hold)."""
        return not state.served and not self._kept_fresh(name)

    def _hold(self, name: str, state: ExperimentState, now: float) -> None:
        """New statistics that are not reloaded now. They wait in _deferred for their
        rebuild interval; but those of an experiment this replica has not decided from
        since its last rebuild, and that nothing else here reads, join the idle queue,
        which reloads at most idle_reloads_per_s, oldest notice first. So the refresh's
        cost stays bounded however fast other replicas change experiments this one rarely
        serves. A decision here takes one out of the queue: its count, once flushed, comes
        back as a change of an experiment this replica serves."""
        if self._idles(name, state):
            self._idle_queue.setdefault(name, now)
            self._deferred.pop(name, None)
        else:
            self._idle_queue.pop(name, None)
            self._deferred.setdefault(name, now)

    def _reload(
        self,
        state: ExperimentState,
        raw: RawStats,
        timed: list[tuple[ExperimentState, RawStats]],
        segmented: list[tuple[ExperimentState, RawStats]],
    ) -> None:
        """Rebuilds the snapshot from new statistics, or queues it for what else it needs
        (decision-time buckets, segment statistics). Allocations are built now for what
        this replica serves, else on first use."""
        if state.snapshot.experiment.timing.bucketed:
            timed.append((state, raw))
        elif state.snapshot.experiment.segmentation.enabled:
            segmented.append((state, raw))
        else:
            experiment = state.snapshot.experiment
            totals = ArmStats.from_raw(experiment, raw)
            if not totals.same_as(state.snapshot.totals):
                self._install(state, self._snapshot(experiment, totals, allocate=state.served))

    def _rebuild_due(self, name: str, now: float) -> bool:
        """Whether new statistics of the experiment are reloaded now, or wait: at most one
        rebuild per min_rebuild_interval_ms; an experiment this replica has not served
        since its last rebuild but keeps fresh (_kept_fresh) waits idle_rebuild_delay_ms
        after a change is noticed, so that the changes of that time (another replica's
        counts, then rewards) make one rebuild, not several; other unserved ones wait in
        the idle queue (_hold)."""
        state = self._states[name]
        if state.rebuilt_at > now - self._min_rebuild_s:
            return False
        if state.served:
            return True
        return self._kept_fresh(name) and self._deferred.get(name, now) <= now - self._idle_delay_s

    def state(self, name: str) -> ExperimentState:
        """The experiment's state, loading it from Redis on first use; NOT_FOUND if absent."""
        state = self._states.get(name)
        if state is not None:
            return state
        validate_name(name, "experiment")
        if self._missing.get(name, 0.0) > time.monotonic():
            raise ExperimentNotFoundError(name)
        with self._load_lock:
            state = self._states.get(name)
            if state is not None:
                return state
            experiment = self._store.get_experiment(name)
            if experiment is None:
                if len(self._missing) > 100_000:
                    self._missing.clear()
                self._missing[name] = time.monotonic() + self._refresh_s
                raise ExperimentNotFoundError(name)
            self.apply(experiment)
            return self._states[name]

    def autopilot_snapshots(self) -> list[Snapshot]:
        """The current snapshots of the experiments with automatic actions (guardrails,
        ramps, auto-promotion), without visiting the others."""
        states = [self._states.get(name) for name in list(self._autopiloted)]
        return [
            state.snapshot
            for state in states
            if state is not None and state.snapshot.experiment.needs_autopilot
        ]

    def experiment(self, name: str) -> Experiment:
        return self.state(name).snapshot.experiment

    # --- decisions -------------------------------------------------------------------
    def _segment(self, state: ExperimentState, attributes: Mapping[str, str] | None) -> str:
        """The segment a request belongs to: the value of the segmentation attribute, or ""
        when there is none or the experiment has no room for another segment."""
        snapshot = state.snapshot
        segmentation = snapshot.experiment.segmentation
        if not segmentation.enabled or not attributes:
            return ""
        value = attributes.get(segmentation.attribute, "")
        if not value or value in snapshot.segments or value in state.segment_pending:
            return value
        if len(value.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidArgumentError(
                f"attributes['{segmentation.attribute}'] is the segmentation attribute of "
                f"experiment '{snapshot.experiment.name}'; its value must be at most "
                f"{MAX_SEGMENT_BYTES} bytes"
            )
        if len(snapshot.segments) + len(state.segment_pending) >= segmentation.max_values:
            return ""
        return value

    def _count(self, state: ExperimentState, per_arm: Mapping[int, int], segment: str) -> None:
        with state.lock:
            state.served = True
            if not state.dirty:
                state.dirty = True
                self._dirty.append(state.snapshot.experiment.name)
            pending = state.pending
            if pending is None:
                pending = state.pending = [0] * MAX_ARMS
            for index, n in per_arm.items():
                pending[index] += n
            if segment:
                counts = state.segment_pending.get(segment)
                if counts is None:
                    counts = state.segment_pending[segment] = [0] * MAX_ARMS
                for index, n in per_arm.items():
                    counts[index] += n

    def decide(
        self, name: str, unit_id: str = "", attributes: Mapping[str, str] | None = None
    ) -> Decision:
        """One decision, from the experiment's snapshot (or its segment's allocation).

        With a unit id the arm is sticky: the same unit gets the same arm while the shares
        stay about the same (weighted rendezvous hashing), with nothing stored per unit.
        In a segmented experiment the segment's own allocation decides, once it has one.
        """
        # The common case inline (this is the per-request path): a loaded experiment whose
        # snapshot has its allocation.
        state = self._states.get(name) or self.state(name)
        snapshot = state.snapshot
        allocation = snapshot.allocation
        if allocation is None:
            snapshot, allocation = self._serving(state)
        segment = self._segment(state, attributes) if attributes else ""
        if segment:
            allocation = snapshot.segment_allocations.get(segment, allocation)
        shadows = snapshot.shadows
        if not (unit_id or segment or shadows):
            return self._decide_plain(state, snapshot, allocation)
        if unit_id:
            unit = policies.unit_hash(name, unit_id)
            arm = policies.choose_sticky(allocation, snapshot.salts, unit)
        else:
            arm = policies.choose(allocation)
        per_arm = {arm: 1}
        per_arm.update(dict.fromkeys(shadows, 1))
        self._count(state, per_arm, segment)
        at, seg, epoch = now_ms(), segment.encode(), snapshot.experiment.epoch
        token = self._ids.take(snapshot.name_bytes, arm, epoch, at, seg)
        mirrored: ShadowDecisions = []
        if shadows:
            ids = self._signer.sign_many(snapshot.name_bytes, shadows, epoch, at, seg)
            mirrored = list(zip(shadows, ids, strict=True))
        return Decision(snapshot, allocation, arm, token, mirrored)

    def _decide_plain(
        self, state: ExperimentState, snapshot: Snapshot, allocation: policies.Allocation
    ) -> Decision:
        """A decision without unit, segment or shadows: the next of a run drawn ahead (one
        kernel call draws and one signs DRAWN_AHEAD decisions)."""
        ahead, at = snapshot.ahead, now_ms()
        decision = None
        if at - ahead.signed_ms <= DRAWN_AHEAD_MAX_MS:
            try:
                decision = ahead.decisions.pop()
            except IndexError:
                pass  # used up: draw the next run
        if decision is None:
            arms = policies.choose_many(allocation, DRAWN_AHEAD)
            ids = self._signer.sign_many(
                snapshot.name_bytes, arms, snapshot.experiment.epoch, at, b""
            )
            run = list(zip(arms.tolist(), ids, strict=True))
            decision = run.pop()
            ahead.decisions, ahead.signed_ms = run, at
        arm, decision_id = decision
        with state.lock:  # _count for one arm and no segment
            state.served = True
            pending = state.pending
            if pending is None:
                pending = state.pending = [0] * MAX_ARMS
            pending[arm] += 1
            if not state.dirty:
                state.dirty = True
                self._dirty.append(snapshot.experiment.name)
        return Decision(snapshot, allocation, arm, decision_id, [])

    def decide_many(
        self,
        name: str,
        count: int,
        unit_ids: list[str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Decisions:
        """count independent decisions from one snapshot, in one kernel call."""
        state = self.state(name)
        snapshot, allocation = self._serving(state)
        segment = self._segment(state, attributes)
        allocation = snapshot.segment_allocations.get(segment, allocation)
        if unit_ids:
            hashes = np.array([policies.unit_hash(name, u) for u in unit_ids], dtype=np.uint64)
            arms = policies.choose_sticky_many(allocation, snapshot.salts, hashes)
        else:
            arms = policies.choose_many(allocation, count)
        per_arm = np.bincount(arms, minlength=len(snapshot.experiment.arms)).tolist()
        shadows = snapshot.shadows
        counts = {i: n for i, n in enumerate(per_arm) if n}
        for shadow in shadows:
            counts[shadow] = counts.get(shadow, 0) + len(arms)
        self._count(state, counts, segment)
        sign, seg = self._signer.sign_many, segment.encode()
        name_bytes, epoch, at = snapshot.name_bytes, snapshot.experiment.epoch, now_ms()
        tokens = sign(name_bytes, arms, epoch, at, seg)
        mirrored_arms = np.tile(np.asarray(shadows, np.int64), len(arms))
        mirrored = sign(name_bytes, mirrored_arms, epoch, at, seg)
        return Decisions(snapshot, allocation, arms, tokens, mirrored)

    # --- flushing --------------------------------------------------------------------
    def flush(self) -> None:
        """Writes the unflushed decision counts of every experiment in one pipeline.

        Only experiments with counts are visited (queued by their first count since the
        last flush), so a flush costs what was decided, not how many experiments exist.
        """
        with self._flush_lock:
            names = set(self._unconfirmed)
            while self._dirty:
                names.add(self._dirty.popleft())
            batch: list[tuple[ExperimentState, PullFlush]] = []
            for name in names:
                state = self._states.get(name)
                if state is None:
                    continue
                if state.inflight is None:
                    state.inflight = self._take_counts(state)
                    if state.inflight is None:
                        continue
                batch.append((state, state.inflight))
            self._unconfirmed = {state.snapshot.experiment.name for state, _ in batch}
            if not batch:
                return
            self._store.flush_pulls(self.replica_id, [flush for _, flush in batch])
            for state, _ in batch:
                state.inflight = None
            self._unconfirmed = set()
            self.flushes += 1

    def _take_counts(self, state: ExperimentState) -> PullFlush | None:
        """The state's pending counts as the next flush (None if there are none)."""
        with state.lock:
            state.dirty = False
            counts = state.pending
            if counts is None or not any(counts):
                return None
            state.pending = None
            segment_counts = state.segment_pending
            state.segment_pending = {}
        experiment = state.snapshot.experiment
        arms = experiment.arm_names
        state.seq += 1
        return PullFlush(
            experiment.name,
            state.seq,
            {arms[i]: n for i, n in enumerate(counts) if n},
            time_bucket(experiment.timing, now_ms()),
            {
                value: {arms[i]: n for i, n in enumerate(seg_counts) if n}
                for value, seg_counts in segment_counts.items()
            },
            experiment.segmentation.max_values,
        )

    def unflushed(self) -> int:
        """Decisions counted here and not yet confirmed by Redis."""
        total = 0
        for state in list(self._states.values()):
            total += sum(state.pending or ())
            if state.inflight is not None:
                total += sum(state.inflight.counts.values())
        return total
