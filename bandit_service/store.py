"""Where config and arm statistics live: the StateStore seam and its Redis implementation.

Every key of one experiment carries the hash tag {experiment}, so one experiment's keys
share a Redis Cluster slot and the Lua scripts below stay legal on a cluster. Counters
are only ever changed inside Redis (HINCRBY, Lua), never read-modified-written here.
"""

from __future__ import annotations

import logging
import secrets
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple, Protocol

import redis
from redis.commands.core import Script

from .domain import Experiment
from .errors import AlreadyExistsError, ConflictError, StoreUnavailableError
from .history import MAX_ENTRIES as MAX_HISTORY_ENTRIES
from .history import HistoryEntry

logger = logging.getLogger(__name__)

STAT_FIELDS = ("pulls", "rewards", "sum", "sumsq")


class Keys:
    """The Redis key schema, in one place."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.experiments = f"{prefix}:experiments"
        self.secret = f"{prefix}:decision-secret"
        # Experiment names scored by the sequence number of their last change (of
        # statistics or config), and the sequence; one hash tag keeps both in one slot.
        self.changes = f"{{{prefix}:changes}}:feed"
        self.changes_seq = f"{{{prefix}:changes}}:seq"
        # The same for changes of config (admin changes) only.
        self.config_changes = f"{{{prefix}:changes}}:config"

    def config(self, experiment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:config"

    def stats(self, experiment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:stats"

    def rewarded(self, experiment: str, hour: int) -> str:
        return f"{self.prefix}:{{{experiment}}}:rewarded:{hour}"

    def flushed(self, experiment: str, replica: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:flushed:{replica}"

    def imports(self, experiment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:imports"

    def observations(self, experiment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:obs"

    def observed(self, experiment: str, hour: int) -> str:
        return f"{self.prefix}:{{{experiment}}}:observed:{hour}"

    def history(self, experiment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:history"

    def segments(self, experiment: str) -> str:
        """The segment values that have statistics of their own."""
        return f"{self.prefix}:{{{experiment}}}:segments"

    def segment_stats(self, experiment: str, segment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:seg:{segment}:stats"

    def segment_observations(self, experiment: str, segment: str) -> str:
        return f"{self.prefix}:{{{experiment}}}:seg:{segment}:obs"

    def time_bucket(self, experiment: str, bucket_s: int, index: int) -> str:
        """Statistics of the decisions made in [index, index + 1) * bucket_s (unix seconds)."""
        return f"{self.prefix}:{{{experiment}}}:tb:{bucket_s}:{index}"


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """Which decision-time bucket a write also goes to, and when that bucket expires."""

    bucket_s: int
    index: int
    expire_at_s: int


@dataclass(frozen=True, slots=True)
class PullFlush:
    """Decision counts of one replica for one experiment, applied once per (replica, seq)."""

    experiment: str
    seq: int
    counts: dict[str, int]
    bucket: TimeBucket | None = None
    # Segment value -> arm -> decisions; admitted while the experiment has room for segments.
    segments: dict[str, dict[str, int]] = field(default_factory=dict)
    max_segments: int = 0


class RewardWrite(NamedTuple):
    """One event to record (a tuple: a reward batch builds thousands). hour and nonce
    identify the decision it belongs to.

    reward None: the event carries no reward; error None and latency_bucket None: no
    guardrail outcome of that kind.
    """

    hour: int
    nonce: bytes
    event_id: str
    arm: str
    reward: float | None
    error: bool | None = None
    latency_bucket: int | None = None
    # The decision-time bucket the reward also counts in (experiments with reward timing).
    time_bucket: TimeBucket | None = None
    # The segment of the decision; its statistics count the event too if it is admitted.
    segment: str = ""


# One event's record in record_rewards.lua: segment, time bucket, hour bucket, arm (each a
# 1-based index into the batch's lists, 0 for none), flags, latency bucket, reward.
_EVENT_RECORD = struct.Struct("<HHHBBHd")
_HAS_REWARD, _HAS_ERROR, _ERROR, _HAS_LATENCY = 1, 2, 4, 8

# Result codes of StateStore.record_rewards, one per event.
REWARD_RECORDED = 1
REWARD_DUPLICATE = 2
REWARD_CONFLICT = 3
OBSERVATION_CONFLICT = 4

RawStats = dict[bytes, bytes]


class Changes(NamedTuple):
    """What changed after a change number: names of experiments (statistics or config),
    those of them whose config changed, and the last change number."""

    names: list[str]
    configured: list[str]
    last: int


# The changes feed keeps the most recently changed experiments up to this many; a replica
# that fell further behind than that does a full refresh (as it does every full_refresh_s).
CHANGES_KEPT = 100_000


class StateStore(Protocol):
    """What the engine and the admin service need from storage.

    Every method either completes or raises StoreUnavailableError; writes are atomic
    per experiment and idempotent where the docstring says so.
    """

    def decision_secret(self) -> bytes: ...
    def create_experiment(self, experiment: Experiment, entry: HistoryEntry) -> Experiment: ...
    def get_experiment(self, name: str) -> Experiment | None: ...
    def save_experiment(self, experiment: Experiment, entry: HistoryEntry) -> Experiment: ...
    def read_history(self, name: str, limit: int) -> list[HistoryEntry]: ...
    def read_observations(self, names: Sequence[str]) -> list[RawStats]: ...
    def changed_since(self, seen: int | None) -> Changes: ...
    def read_stats_many(self, names: Sequence[str]) -> list[RawStats]: ...
    def read_segment_stats(self, names: Sequence[str]) -> list[dict[str, RawStats]]: ...
    def read_segment_observations(
        self, name: str, segments: Sequence[str]
    ) -> dict[str, RawStats]: ...
    def list_experiment_names(self) -> list[str]: ...
    def read_epochs_and_stats(
        self, names: Sequence[str], with_stats: Sequence[bool] | None = None
    ) -> list[tuple[int, RawStats | None]]: ...
    def read_stats(self, name: str) -> RawStats: ...
    def flush_pulls(self, replica: str, flushes: Sequence[PullFlush]) -> None: ...
    def record_rewards(
        self,
        experiment: str,
        writes: Sequence[RewardWrite],
        track_squares: bool,
        ttl_s: int,
        max_segments: int = 0,
    ) -> list[int]: ...
    def read_time_buckets(
        self, requests: Sequence[tuple[str, int, int, int]]
    ) -> list[dict[int, RawStats]]: ...
    def import_outcomes(
        self,
        experiment: str,
        arm: str,
        import_id: str,
        pulls: int,
        rewards: int,
        reward_sum: float,
        reward_sum_squares: float,
    ) -> bool: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...


def _load_script(client: redis.Redis, name: str) -> Script:
    source = resources.files(__package__).joinpath("lua", f"{name}.lua").read_text()
    return client.register_script(source)


class RedisStateStore:
    """StateStore on one Redis (or a Redis Cluster endpoint that speaks hash tags)."""

    # Seconds a replica's last-flushed sequence number is kept after its last flush.
    FLUSH_MARK_TTL_S = 7 * 24 * 3600

    def __init__(self, client: redis.Redis, key_prefix: str) -> None:
        self._redis = client
        self.keys = Keys(key_prefix)
        self._create = _load_script(client, "create_experiment")
        self._save = _load_script(client, "save_experiment")
        self._flush = _load_script(client, "flush_pulls")
        self._rewards = _load_script(client, "record_rewards")
        self._import = _load_script(client, "import_outcomes")
        self._note = _load_script(client, "note_changes")

    @classmethod
    def from_url(cls, url: str, key_prefix: str) -> RedisStateStore:
        client = redis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30
        )
        return cls(client, key_prefix)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        """Runs one Redis operation, turning connection failures into StoreUnavailableError."""
        try:
            return fn(*args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailableError(
                f"redis unavailable while trying to {what}: {exc}; retry shortly"
            ) from exc

    def ping(self) -> None:
        self._call("ping", self._redis.ping)

    def _note_changed(self, pipe: Any, names: Iterable[str], config: bool = False) -> None:
        """Adds 'these experiments changed' (config: their config did) to pipe, for
        replicas' refreshes.

        A separate command after the write (not inside its script): the changes feed is a
        global key, outside the experiments' cluster slots. A notice lost in a crash between
        the two is caught by the replicas' periodic full refresh.
        """
        keys = [self.keys.changes, self.keys.changes_seq, self.keys.config_changes]
        self._note(keys=keys, args=["1" if config else "0", *names], client=pipe)

    def note_changed(self, names: Iterable[str], config: bool = False) -> None:
        """Tells every replica's next refresh to reload these experiments."""
        pipe = self._redis.pipeline(transaction=False)
        self._note_changed(pipe, names, config)
        self._call("note a change", pipe.execute)

    def changed_since(self, seen: int | None) -> Changes:
        """The experiments changed after change number `seen`, and the last change number,
        to pass next time (seen None: only the number, for a start from scratch). Trims
        the feeds to CHANGES_KEPT."""
        pipe = self._redis.pipeline(transaction=False)
        # The number is read before the names: a change numbered after it is either among
        # the names too or read next time, never skipped.
        pipe.get(self.keys.changes_seq)
        if seen is not None:
            for feed in (self.keys.changes, self.keys.config_changes):
                pipe.zrangebyscore(feed, f"({seen}", "+inf")
                pipe.zremrangebyrank(feed, 0, -CHANGES_KEPT - 1)
        replies = self._call("read the changes feed", pipe.execute)
        if seen is None:
            return Changes([], [], int(replies[0] or 0))
        return Changes(
            [name.decode() for name in replies[1]],
            [name.decode() for name in replies[3]],
            int(replies[0] or 0),
        )

    def close(self) -> None:
        self._redis.close()

    def decision_secret(self) -> bytes:
        """The shared signing key, created on first use by whichever replica comes first."""
        self._call(
            "create the decision secret",
            lambda: self._redis.set(self.keys.secret, secrets.token_hex(32), nx=True),
        )
        value: bytes = self._call("read the decision secret", self._redis.get, self.keys.secret)
        return value

    def create_experiment(self, experiment: Experiment, entry: HistoryEntry) -> Experiment:
        # The index entry goes first: a crash in between leaves a name without a config,
        # which listing skips, rather than a config that nobody can list.
        self._call("index the experiment", self._redis.sadd, self.keys.experiments, experiment.name)
        created = self._call(
            "create the experiment",
            self._create,
            [self.keys.config(experiment.name), self.keys.history(experiment.name)],
            [experiment.to_json(), entry.at_epoch(1).to_json()],
        )
        if not created:
            raise AlreadyExistsError(f"experiment '{experiment.name}' already exists")
        self.note_changed([experiment.name], config=True)
        return Experiment.from_json(experiment.to_json(), epoch=1)

    def get_experiment(self, name: str) -> Experiment | None:
        doc, epoch = self._call(
            "read the experiment", self._redis.hmget, self.keys.config(name), ["json", "epoch"]
        )
        if doc is None or epoch is None:
            return None
        return Experiment.from_json(doc, epoch=int(epoch))

    def save_experiment(self, experiment: Experiment, entry: HistoryEntry) -> Experiment:
        """Writes experiment and its history entry if its epoch is still current.

        Raises ConflictError if the epoch moved (another change came first).
        """
        result = int(
            self._call(
                "save the experiment",
                self._save,
                [self.keys.config(experiment.name), self.keys.history(experiment.name)],
                [
                    experiment.epoch,
                    experiment.to_json(),
                    entry.at_epoch(experiment.epoch + 1).to_json(),
                    MAX_HISTORY_ENTRIES,
                ],
            )
        )
        if result <= 0:
            raise ConflictError(
                f"experiment '{experiment.name}' changed concurrently (epoch {experiment.epoch} "
                "is no longer current); retry"
            )
        self.note_changed([experiment.name], config=True)
        return Experiment.from_json(experiment.to_json(), epoch=result)

    def read_history(self, name: str, limit: int) -> list[HistoryEntry]:
        """The most recent `limit` history entries, oldest first."""
        raw = self._call(
            "read the history", self._redis.lrange, self.keys.history(name), -limit, -1
        )
        return [HistoryEntry.from_json(item) for item in raw]

    def read_observations(self, names: Sequence[str]) -> list[RawStats]:
        """One round trip: the guardrail observation counters of each experiment."""
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.observations(name))
        replies: list[RawStats] = self._call("read guardrail observations", pipe.execute)
        return replies

    def read_segment_stats(self, names: Sequence[str]) -> list[dict[str, RawStats]]:
        """Two round trips: each experiment's admitted segments and their statistics."""
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.smembers(self.keys.segments(name))
        members = [
            sorted(v.decode() for v in found) for found in self._call("read segments", pipe.execute)
        ]
        pipe = self._redis.pipeline(transaction=False)
        for name, values in zip(names, members, strict=True):
            for value in values:
                pipe.hgetall(self.keys.segment_stats(name, value))
        replies = iter(self._call("read segment statistics", pipe.execute))
        return [{value: next(replies) for value in values} for values in members]

    def read_segment_observations(self, name: str, segments: Sequence[str]) -> dict[str, RawStats]:
        pipe = self._redis.pipeline(transaction=False)
        for value in segments:
            pipe.hgetall(self.keys.segment_observations(name, value))
        replies = self._call("read segment observations", pipe.execute)
        return dict(zip(segments, replies, strict=True))

    def list_experiment_names(self) -> list[str]:
        names = self._call("list experiments", self._redis.smembers, self.keys.experiments)
        return sorted(name.decode() for name in names)

    def read_epochs_and_stats(
        self, names: Sequence[str], with_stats: Sequence[bool] | None = None
    ) -> list[tuple[int, RawStats | None]]:
        """One round trip: the config epoch (0 if missing) of each experiment, and its raw
        stats unless with_stats says no for it (then None)."""
        wanted = [True] * len(names) if with_stats is None else with_stats
        pipe = self._redis.pipeline(transaction=False)
        for name, stats in zip(names, wanted, strict=True):
            pipe.hget(self.keys.config(name), "epoch")
            if stats:
                pipe.hgetall(self.keys.stats(name))
        replies = iter(self._call("read statistics", pipe.execute))
        return [(int(next(replies) or 0), next(replies) if stats else None) for stats in wanted]

    def read_stats_many(self, names: Sequence[str]) -> list[RawStats]:
        """One round trip: the raw stats of each experiment."""
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.stats(name))
        replies: list[RawStats] = self._call("read statistics", pipe.execute)
        return replies

    def read_stats(self, name: str) -> RawStats:
        stats: RawStats = self._call("read statistics", self._redis.hgetall, self.keys.stats(name))
        return stats

    def flush_pulls(self, replica: str, flushes: Sequence[PullFlush]) -> None:
        """Adds decision counts; each (replica, experiment, seq) is applied at most once."""
        if not flushes:
            return
        pipe = self._redis.pipeline(transaction=False)
        for flush in flushes:
            name = flush.experiment
            keys = [
                self.keys.stats(name),
                self.keys.flushed(name, replica),
                self.keys.segments(name),
            ]
            keys += [self.keys.segment_stats(name, value) for value in flush.segments]
            args: list[Any] = [
                flush.seq,
                self.FLUSH_MARK_TTL_S,
                0,
                flush.max_segments,
                len(flush.segments),
                len(flush.counts),
            ]
            if flush.bucket is not None:
                bucket = flush.bucket
                keys.append(self.keys.time_bucket(name, bucket.bucket_s, bucket.index))
                args[2] = bucket.expire_at_s
            for arm, count in flush.counts.items():
                args += [arm, count]
            for value, counts in flush.segments.items():
                args += [value, len(counts)]
                for arm, count in counts.items():
                    args += [arm, count]
            self._flush(keys=keys, args=args, client=pipe)
        self._note_changed(pipe, {flush.experiment for flush in flushes})
        self._call("flush decision counts", pipe.execute)

    def record_rewards(
        self,
        experiment: str,
        writes: Sequence[RewardWrite],
        track_squares: bool,
        ttl_s: int,
        max_segments: int = 0,
    ) -> list[int]:
        """Records events atomically; returns a REWARD_* code per write, in order.

        A write's segment value not yet admitted is admitted while the experiment has fewer
        than max_segments (as a flush of its decisions would)."""
        hours = sorted({w.hour for w in writes})
        bucket_of = {hour: i + 1 for i, hour in enumerate(hours)}
        keys = [self.keys.stats(experiment), self.keys.observations(experiment)]
        for hour in hours:
            keys += [self.keys.rewarded(experiment, hour), self.keys.observed(experiment, hour)]
        time_buckets = sorted(
            {w.time_bucket for w in writes if w.time_bucket is not None}, key=lambda b: b.index
        )
        time_bucket_of = {b: i + 1 for i, b in enumerate(time_buckets)}
        keys += [self.keys.time_bucket(experiment, b.bucket_s, b.index) for b in time_buckets]
        segments = sorted({w.segment for w in writes if w.segment})
        segment_of = {value: i + 1 for i, value in enumerate(segments)}
        keys.append(self.keys.segments(experiment))
        for value in segments:
            keys += [
                self.keys.segment_stats(experiment, value),
                self.keys.segment_observations(experiment, value),
            ]
        arms = sorted({w.arm for w in writes})
        arm_of = {arm: i + 1 for i, arm in enumerate(arms)}
        # A bucket must outlive the last decision it can hold by the reward window.
        # ARGV[1], the events' records, is filled in once they are packed.
        args: list[Any] = [b"", len(hours)] + [(h + 1) * 3600 + ttl_s + 60 for h in hours]
        args.append(1 if track_squares else 0)
        args.append(len(time_buckets))
        args += [b.expire_at_s for b in time_buckets]
        args += [max_segments, len(segments), *segments, len(arms), *arms]
        # Per event a fixed binary record (one argument for the batch) and two strings:
        # packing few arguments is most of what a large batch costs the replica.
        records = bytearray()
        pack = _EVENT_RECORD.pack
        for w in writes:
            flags = 0
            if w.reward is not None:
                flags |= _HAS_REWARD
            if w.error is not None:
                flags |= _HAS_ERROR | (_ERROR if w.error else 0)
            if w.latency_bucket is not None:
                flags |= _HAS_LATENCY
            records += pack(
                segment_of.get(w.segment, 0),
                0 if w.time_bucket is None else time_bucket_of[w.time_bucket],
                bucket_of[w.hour],
                arm_of[w.arm],
                flags,
                w.latency_bucket or 0,
                w.reward or 0.0,
            )
            args += [w.nonce, w.event_id]
        args[0] = bytes(records)
        pipe = self._redis.pipeline(transaction=False)
        self._rewards(keys=keys, args=args, client=pipe)
        self._note_changed(pipe, [experiment])
        codes, _ = self._call("record rewards", pipe.execute)
        return [int(c) for c in codes]

    def read_time_buckets(
        self, requests: Sequence[tuple[str, int, int, int]]
    ) -> list[dict[int, RawStats]]:
        """One round trip: for each (experiment, bucket_s, first, last) the non-empty buckets
        first..last (inclusive) by index."""
        pipe = self._redis.pipeline(transaction=False)
        for name, bucket_s, first, last in requests:
            for index in range(first, last + 1):
                pipe.hgetall(self.keys.time_bucket(name, bucket_s, index))
        replies = iter(self._call("read time buckets", pipe.execute))
        result = []
        for _, _, first, last in requests:
            found = {}
            for index in range(first, last + 1):
                raw = next(replies)
                if raw:
                    found[index] = raw
            result.append(found)
        return result

    def import_outcomes(
        self,
        experiment: str,
        arm: str,
        import_id: str,
        pulls: int,
        rewards: int,
        reward_sum: float,
        reward_sum_squares: float,
    ) -> bool:
        applied = self._call(
            "import outcomes",
            self._import,
            [self.keys.stats(experiment), self.keys.imports(experiment)],
            [import_id, arm, pulls, rewards, repr(reward_sum), repr(reward_sum_squares)],
        )
        self.note_changed([experiment])
        return bool(applied)


def parse_stats(raw: RawStats, arm_names: Iterable[str]) -> dict[str, dict[str, float]]:
    """Turns a stats hash into {arm: {pulls, rewards, sum, sumsq}} for the given arms."""
    result = {arm: dict.fromkeys(STAT_FIELDS, 0.0) for arm in arm_names}
    for key, value in raw.items():
        arm, _, stat = key.decode().rpartition(":")
        row = result.get(arm)
        if row is not None and stat in row:
            row[stat] = float(value)
    return result
