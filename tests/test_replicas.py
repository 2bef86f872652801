"""Replicas on one Redis: admin changes propagate, totals stay exact, restarts lose nothing."""

from __future__ import annotations

import threading
import time

import numpy as np
from banditd.v1 import admin_pb2
from wire import connect

REFRESH_MS = 50


def wait_until(predicate, timeout_s: float = 5.0) -> float:
    """Polls predicate; returns the seconds it took. Bounded by timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"condition not met within {timeout_s} s")


def after_next_full_refresh(engine) -> None:
    """Waits until engine has completed a refresh that started after this call."""
    target = engine.refreshes + 2  # the refresh in progress may have started before
    wait_until(lambda: engine.refreshes >= target)


def test_retire_and_promote_reach_another_replica_within_a_refresh(start_server) -> None:
    first = connect(start_server(refresh_interval_ms=REFRESH_MS).target)
    second_server = start_server(refresh_interval_ms=REFRESH_MS)
    second = connect(second_server.target)
    first.create("rollout", arms=("v1", "v2", "v3"))
    assert {second.decide("rollout").arm for _ in range(100)} == {"v1", "v2", "v3"}

    first.admin_call("RetireArm", admin_pb2.ArmRef(experiment="rollout", arm="v2"))
    after_next_full_refresh(second_server.engine)
    assert 1 not in set(second.batch("rollout", 2000).choices), "retired arm still served"

    first.admin_call("PromoteArm", admin_pb2.ArmRef(experiment="rollout", arm="v3"))
    after_next_full_refresh(second_server.engine)
    assert set(second.batch("rollout", 2000).choices) == {2}
    assert second.decide("rollout").default_arm == "v3"


def test_a_rollback_by_one_replica_reaches_the_other_within_a_refresh(start_server) -> None:
    judge = start_server(refresh_interval_ms=REFRESH_MS, autopilot_interval_ms=60_000)
    other_server = start_server(refresh_interval_ms=REFRESH_MS, autopilot_interval_ms=60_000)
    first, other = connect(judge.target), connect(other_server.target)
    first.create(
        "guarded",
        arms=("control", "canary"),
        guardrails=[
            admin_pb2.Guardrail(
                name="errors",
                error_rate=admin_pb2.ErrorRateGuardrail(max_increase=0.01),
                min_samples=100,
            )
        ],
    )
    batch = other.batch("guarded", 1000)
    other.stream_outcomes(
        [
            (d, batch.arms[i].name == "canary" and n % 2 == 0)
            for n, (i, d) in enumerate(zip(batch.choices, batch.decision_ids, strict=True))
        ]
    )
    # Only the first replica judges (the other's autopilot sleeps for a minute).
    assert judge.server.autopilot.run_once() == 1
    after_next_full_refresh(other_server.engine)
    assert set(other.batch("guarded", 2000).choices) == {0}, "rolled-back arm still served"


def test_totals_in_redis_equal_what_every_replica_decided(start_server) -> None:
    servers = [start_server(flush_interval_ms=20) for _ in range(2)]
    stubs = [connect(s.target) for s in servers]
    stubs[0].create("totals", arms=("a", "b", "c"))
    counted = [0, 0, 0, 0]

    def drive(slot: int, replica: int) -> None:
        rng = np.random.default_rng(slot)
        for _ in range(60):
            if rng.random() < 0.5:
                stubs[replica].decide("totals")
                counted[slot] += 1
            else:
                n = int(rng.integers(1, 300))
                stubs[replica].batch("totals", n)
                counted[slot] += n

    threads = [threading.Thread(target=drive, args=(slot, slot % 2)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A graceful stop flushes what each replica still holds.
    for server in servers:
        server.stop()
    reader = start_server()
    status = connect(reader.target).arm_status("totals")
    assert sum(arm.pulls for arm in status.values()) == sum(counted)


def test_a_restarted_server_loses_no_flushed_state(start_server) -> None:
    first = start_server()
    stubs = connect(first.target)
    stubs.create("durable", arms=("a", "b"))
    batch = stubs.batch("durable", 400)
    acks = stubs.stream_rewards(
        [[(d, 1.0, f"e{i}") for i, d in enumerate(batch.decision_ids[:150])]]
    )
    assert acks[0].accepted == 150
    before = {
        name: (a.pulls, a.rewards, a.reward_sum) for name, a in stubs.arm_status("durable").items()
    }
    first.stop()

    second = connect(start_server().target)
    after = {
        name: (a.pulls, a.rewards, a.reward_sum) for name, a in second.arm_status("durable").items()
    }
    assert after == before
    assert sum(p for p, _, _ in after.values()) == 400
    # Rewards for decisions made before the restart are still recognised.
    (ack,) = second.stream_rewards(
        [[(batch.decision_ids[0], 1.0, "e0"), (batch.decision_ids[399], 0.0, "new")]]
    )
    assert (ack.accepted, ack.duplicates) == (1, 1)


def test_thompson_sampling_moves_traffic_to_the_clearly_best_arm(start_server) -> None:
    stubs = connect(start_server(refresh_interval_ms=20).target)
    stubs.create("learn", arms=("low", "mid", "best"))
    rates = np.array([0.05, 0.10, 0.30])
    rng = np.random.default_rng(20261123)
    last_choices: list[int] = []
    event = 0
    for round_ in range(60):
        batch = stubs.batch("learn", 500)
        choices = np.array(batch.choices)
        wins = rng.random(len(choices)) < rates[choices]
        events = []
        for decision_id, won in zip(batch.decision_ids, wins, strict=True):
            events.append((decision_id, float(won), f"e{event}"))
            event += 1
        stubs.stream_rewards([events])
        stubs.status("learn")  # flushes counts so the next refresh sees this round
        time.sleep(0.03)
        if round_ >= 50:
            last_choices.extend(batch.choices)
    share_best = np.mean(np.array(last_choices) == 2)
    assert share_best > 0.8, f"best arm got {share_best:.1%} of the last 5000 decisions"
    status = stubs.arm_status("learn")
    assert status["best"].prob_best > 0.99
    assert status["best"].traffic_share > 0.8


def test_new_statistics_wait_for_the_rebuild_interval_and_config_changes_do_not(
    start_server,
) -> None:
    writer = connect(start_server(refresh_interval_ms=REFRESH_MS).target)
    reader_server = start_server(refresh_interval_ms=REFRESH_MS, min_rebuild_interval_ms=1500)
    reader = connect(reader_server.target)
    writer.create("busy", arms=("a", "b"))
    reader.decide("busy")  # loads the experiment: its snapshot is built now
    state = reader_server.engine.state("busy")
    built = state.snapshot
    writer.batch("busy", 300)  # flushed by the writer within 50 ms
    time.sleep(0.6)
    assert state.snapshot is built, "rebuilt before min_rebuild_interval_ms"
    waited = wait_until(lambda: state.snapshot is not built, timeout_s=3.0)
    assert sum(state.snapshot.decision_stats.pulls) >= 300
    assert waited < 1.5  # by about 1.5 s after the load, not at the next full refresh (30 s)

    # A config change right after a rebuild is not held back.
    writer.admin_call("RetireArm", admin_pb2.ArmRef(experiment="busy", arm="b"))
    wait_until(lambda: state.snapshot.experiment.arms[1].state.value == "retired", 1.0)


def test_an_experiment_this_replica_does_not_serve_takes_its_changes_together(
    start_server,
) -> None:
    writer = connect(start_server(refresh_interval_ms=REFRESH_MS).target)
    reader_server = start_server(refresh_interval_ms=REFRESH_MS, idle_rebuild_delay_ms=1500)
    reader = connect(reader_server.target)
    writer.create("quiet", arms=("a", "b"))
    reader.decide("quiet")
    state = reader_server.engine.state("quiet")
    # The reader's own count comes back as a change: its snapshot is rebuilt at once, since
    # the reader decided from it; after that the reader serves nothing.
    wait_until(lambda: sum(state.snapshot.decision_stats.pulls) == 1)
    built = state.snapshot
    writer.batch("quiet", 300)
    time.sleep(0.6)
    assert state.snapshot is built, "an unserved snapshot was rebuilt before the delay"
    wait_until(lambda: sum(state.snapshot.decision_stats.pulls) == 301, timeout_s=3.0)
    # Nobody decides from it here, so its allocation waits for the first decision.
    assert state.snapshot.allocation is None
    assert reader.decide("quiet").arm in {"a", "b"}
    assert state.snapshot.allocation is not None


def test_experiments_a_replica_does_not_serve_take_turns_within_the_reload_budget(
    start_server,
) -> None:
    writer = connect(start_server(refresh_interval_ms=REFRESH_MS).target)
    # 20 reloads/s at 50 ms refreshes: 1 experiment per refresh.
    reader_server = start_server(refresh_interval_ms=REFRESH_MS, idle_reloads_per_s=20)
    reader = connect(reader_server.target)
    names = [f"idle-{i:02d}" for i in range(24)]
    for name in names:
        writer.create(name, arms=("a", "b"))
        reader.decide(name)
    engine = reader_server.engine
    states = [engine.state(name) for name in names]
    # The reader's own counts come back as changes; after that it serves none of them.
    for state in states:
        wait_until(lambda state=state: sum(state.snapshot.decision_stats.pulls) == 1)
    built = [state.snapshot for state in states]
    for name in names:
        writer.batch(name, 100)

    def reloaded() -> int:
        return sum(state.snapshot is not old for state, old in zip(states, built, strict=True))

    wait_until(lambda: reloaded() >= 1, timeout_s=3.0)
    refreshes = engine.refreshes
    time.sleep(0.2)
    # One per refresh (the refresh in progress may have taken its turn too).
    assert reloaded() <= engine.refreshes - refreshes + 2, "the budget was not kept"
    assert reloaded() < len(names) // 2

    # A decision takes a waiting experiment out of the queue: its count comes back as a
    # change of an experiment the reader serves (the last in the queue would otherwise
    # wait more than 0.6 s).
    last = max(i for i, (s, old) in enumerate(zip(states, built, strict=True)) if s.snapshot is old)
    assert reader.decide(names[last]).arm in {"a", "b"}
    wait_until(lambda: states[last].snapshot is not built[last], timeout_s=0.4)

    # And every experiment gets its turn: 24 at 20 per second.
    wait_until(lambda: reloaded() == len(names), timeout_s=5.0)
    assert all(sum(state.snapshot.decision_stats.pulls) >= 101 for state in states)


def test_a_full_refresh_keeps_the_snapshots_whose_statistics_did_not_change(
    start_server,
) -> None:
    server = start_server(refresh_interval_ms=REFRESH_MS, full_refresh_s=0.2)
    client = connect(server.target)
    client.create("steady", arms=("a", "b"))
    client.decide("steady")
    state = server.engine.state("steady")
    # The decision's count comes back as a change, and rebuilds the snapshot once.
    wait_until(lambda: sum(state.snapshot.totals.pulls) == 1)
    built, refreshes = state.snapshot, server.engine.refreshes
    wait_until(lambda: server.engine.refreshes >= refreshes + 12, timeout_s=3.0)
    assert state.snapshot is built, "rebuilt from the same statistics"
    client.batch("steady", 5)
    wait_until(lambda: sum(state.snapshot.totals.pulls) == 6)
