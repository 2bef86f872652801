"""Safe rollouts on a real banditd and Redis: shadow arms, caps and floors, ramps, blue-green,
guardrail rollbacks, sticky units, guardrail outcomes on the reward stream, the audit trail."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from banditd.v1 import admin_pb2, common_pb2, decisions_pb2
from wire import AUTH, Stubs, connect

Status = admin_pb2.ArmStatus


@pytest.fixture
def stubs(server: Any) -> Iterator[Stubs]:
    connected = connect(server.target)
    yield connected
    connected.close()


def event(
    decision_id: str,
    event_id: str = "e",
    *,
    reward: float | None = None,
    error: bool | None = None,
    latency_ms: float | None = None,
) -> decisions_pb2.RewardEvent:
    pb = decisions_pb2.RewardEvent(decision_id=decision_id, event_id=event_id)
    if reward is not None:
        pb.reward = reward
    if error is not None:
        pb.error = error
    if latency_ms is not None:
        pb.latency_ms = latency_ms
    return pb


def send(stubs: Stubs, events: list[decisions_pb2.RewardEvent]) -> decisions_pb2.RewardAck:
    """All events on one stream, in batches of 1000; returns the summed ack."""
    batches = [events[i : i + 1000] for i in range(0, len(events), 1000)]
    requests = (decisions_pb2.RewardBatch(batch_id=i, events=b) for i, b in enumerate(batches))
    total = decisions_pb2.RewardAck()
    for ack in stubs.decisions.ReportRewards(requests, timeout=30):
        total.accepted += ack.accepted
        total.duplicates += ack.duplicates
        total.rejected.extend(ack.rejected)
    return total


def spec(name: str, **fields: Any) -> admin_pb2.ArmSpec:
    return admin_pb2.ArmSpec(name=name, version=f"model-{name}", **fields)


def create(stubs: Stubs, name: str, arms: list[admin_pb2.ArmSpec], **fields: Any) -> Any:
    fields.setdefault("policy", admin_pb2.PolicyConfig(policy=common_pb2.POLICY_THOMPSON))
    fields.setdefault("reward_type", admin_pb2.REWARD_TYPE_BINARY)
    request = admin_pb2.CreateExperimentRequest(name=name, arms=arms, **fields)
    return stubs.admin_call("CreateExperiment", request)


def shares(stubs: Stubs, experiment: str, count: int = 5000) -> dict[str, float]:
    batch = stubs.batch(experiment, count)
    counts = Counter(batch.arms[i].name for i in batch.choices)
    return {arm.name: counts[arm.name] / count for arm in batch.arms}


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def import_outcomes(stubs: Stubs, experiment: str, arm: str, pulls: int, successes: int) -> None:
    stubs.admin_call(
        "ImportOutcomes",
        admin_pb2.ImportOutcomesRequest(
            experiment=experiment,
            arm=arm,
            pulls=pulls,
            rewards=successes,
            reward_sum=successes,
            import_id=f"{arm}-{pulls}-{successes}",
        ),
    )


def refreshed(server: Any) -> None:
    """Waits for two refreshes of the server's snapshots (new stats are in after one)."""
    start = server.engine.refreshes
    wait_for("two refreshes", lambda: server.engine.refreshes >= start + 2)


def history(stubs: Stubs, experiment: str) -> list[admin_pb2.HistoryEntry]:
    reply = stubs.admin_call("GetHistory", admin_pb2.GetHistoryRequest(experiment=experiment))
    return list(reply.entries)


# -- shadow arms ---------------------------------------------------------------------------


def test_shadow_arm_is_mirrored_never_served_and_counted_apart(stubs: Stubs) -> None:
    create(stubs, "shadowed", [spec("a"), spec("b"), spec("s", shadow=True)])
    decisions = [stubs.decide("shadowed") for _ in range(100)]
    assert {d.arm for d in decisions} <= {"a", "b"}
    assert all([(s.arm, s.version) for s in d.shadows] == [("s", "model-s")] for d in decisions)
    assert len({d.shadows[0].decision_id for d in decisions}) == 100
    batch = stubs.batch("shadowed", 300)
    assert [a.name for a in batch.shadow_arms] == ["s"]
    assert len(batch.shadow_decision_ids) == 300
    assert all(batch.arms[i].name != "s" for i in batch.choices)

    # The shadow model's outcomes land on the shadow arm, production's on production's.
    mirrored = [d.shadows[0].decision_id for d in decisions] + list(batch.shadow_decision_ids)
    served = [d.decision_id for d in decisions] + list(batch.decision_ids)
    ack = send(
        stubs,
        [event(d, reward=1.0, latency_ms=40.0) for d in mirrored[:200]]
        + [event(d, reward=1.0, latency_ms=20.0) for d in served[:100]],
    )
    assert ack.accepted == 300 and not ack.rejected
    status = stubs.arm_status("shadowed")
    assert status["s"].state == admin_pb2.ARM_STATE_SHADOW
    assert (status["s"].pulls, status["s"].rewards, status["s"].observations) == (400, 200, 200)
    assert status["a"].pulls + status["b"].pulls == 400
    assert status["a"].rewards + status["b"].rewards == 100
    assert status["s"].traffic_share == 0.0
    assert 35 < status["s"].latency_p50_ms < 45 and 18 < status["a"].latency_p50_ms < 22


def test_a_shadow_arm_can_be_promoted(stubs: Stubs) -> None:
    create(stubs, "shadow-promote", [spec("a"), spec("s", shadow=True)])
    promoted = stubs.admin_call(
        "PromoteArm", admin_pb2.ArmRef(experiment="shadow-promote", arm="s")
    )
    states = {a.name: a.state for a in promoted.arms}
    assert states == {"a": admin_pb2.ARM_STATE_RETIRED, "s": admin_pb2.ARM_STATE_LIVE}
    assert stubs.decide("shadow-promote").arm == "s"


def test_an_experiment_needs_a_live_default_arm(stubs: Stubs) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        create(stubs, "all-shadow", [spec("s", shadow=True)])
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at least one arm must be live" in raised.value.details()


# -- caps, floors, ramps, blue-green ---------------------------------------------------------


def test_a_cap_holds_even_for_the_best_arm_until_it_has_enough_rewards(
    server: Any, stubs: Stubs
) -> None:
    create(stubs, "capped", [spec("a"), spec("b", limits=admin_pb2.ArmLimits(cap=0.05))])
    import_outcomes(stubs, "capped", "a", 2000, 20)
    import_outcomes(stubs, "capped", "b", 2000, 1000)  # far better than a
    refreshed(server)
    got = shares(stubs, "capped")
    assert got["b"] == pytest.approx(0.05, abs=0.015)
    assert stubs.decide("capped").propensity in (pytest.approx(0.05), pytest.approx(0.95))
    assert stubs.arm_status("capped")["b"].cap == pytest.approx(0.05)

    # A cap that lifts after 500 rewards: b has 1000, so Thompson sampling takes over.
    stubs.admin_call(
        "SetArmLimits",
        admin_pb2.SetArmLimitsRequest(
            experiment="capped",
            arm="b",
            limits=admin_pb2.ArmLimits(cap=0.05, cap_until_rewards=500),
        ),
    )
    refreshed(server)
    assert shares(stubs, "capped")["b"] > 0.95


def test_a_floor_keeps_the_control_arm_in_traffic(server: Any, stubs: Stubs) -> None:
    create(stubs, "floored", [spec("control", limits=admin_pb2.ArmLimits(floor=0.2)), spec("b")])
    import_outcomes(stubs, "floored", "control", 2000, 20)
    import_outcomes(stubs, "floored", "b", 2000, 1000)
    refreshed(server)
    assert shares(stubs, "floored")["control"] == pytest.approx(0.2, abs=0.02)


def test_floors_adding_up_to_more_than_all_traffic_are_refused(stubs: Stubs) -> None:
    create(stubs, "too-much-floor", [spec("a", limits=admin_pb2.ArmLimits(floor=0.6)), spec("b")])
    with pytest.raises(grpc.RpcError) as raised:
        stubs.admin_call(
            "SetArmLimits",
            admin_pb2.SetArmLimitsRequest(
                experiment="too-much-floor", arm="b", limits=admin_pb2.ArmLimits(floor=0.5)
            ),
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "add up to 1.1" in raised.value.details()
    with pytest.raises(grpc.RpcError) as raised:
        stubs.admin_call(
            "SetArmLimits",
            admin_pb2.SetArmLimitsRequest(
                experiment="too-much-floor", arm="b", limits=admin_pb2.ArmLimits(cap=1.5)
            ),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "limits.cap must be a share within [0, 1], got 1.5" in raised.value.details()


def test_a_ramp_advances_while_guardrails_hold_then_hands_over_to_the_policy(
    server: Any, stubs: Stubs
) -> None:
    ramp = admin_pb2.Ramp(steps=[0.1, 0.5], min_decisions_per_step=300)
    guardrail = admin_pb2.Guardrail(
        name="errors", error_rate=admin_pb2.ErrorRateGuardrail(max_increase=0.05), min_samples=100
    )
    create(
        stubs,
        "ramped",
        [spec("stable"), spec("next", limits=admin_pb2.ArmLimits(ramp=ramp))],
        guardrails=[guardrail],
    )
    # First step: exactly 10%, and no evidence yet, so it stays there.
    assert shares(stubs, "ramped", 4000)["next"] == pytest.approx(0.1, abs=0.02)
    time.sleep(0.5)
    experiment = stubs.admin_call("GetExperiment", admin_pb2.ExperimentRef(experiment="ramped"))
    assert experiment.arms[1].limits.ramp.step == 0

    def serve_healthy_traffic() -> None:
        batch = stubs.batch("ramped", 2000)
        send(stubs, [event(d, "obs", error=False) for d in batch.decision_ids])

    serve_healthy_traffic()
    wait_for("the ramp's second step", lambda: ramp_step(stubs, "ramped") == 1)
    refreshed(server)
    assert shares(stubs, "ramped", 4000)["next"] == pytest.approx(0.5, abs=0.03)
    serve_healthy_traffic()
    wait_for("the end of the ramp", lambda: ramp_step(stubs, "ramped") == 2)
    steps = [e for e in history(stubs, "ramped") if e.action == "ramp_step"]
    assert [(e.actor, e.arm) for e in steps] == [("banditd", "next"), ("banditd", "next")]
    assert "now 50%" in steps[0].detail and "ramp done" in steps[1].detail


def ramp_step(stubs: Stubs, experiment: str) -> int:
    reply = stubs.admin_call("GetExperiment", admin_pb2.ExperimentRef(experiment=experiment))
    step: int = next(a.limits.ramp.step for a in reply.arms if a.limits.HasField("ramp"))
    return step


def test_blue_green_switches_all_traffic_and_back(server: Any, stubs: Stubs) -> None:
    create(stubs, "bluegreen", [spec("blue"), spec("green")])
    switched = stubs.admin_call("SwitchArm", admin_pb2.ArmRef(experiment="bluegreen", arm="green"))
    assert switched.policy.policy == common_pb2.POLICY_FIXED
    assert dict(switched.policy.fixed.weights) == {"blue": 0.0, "green": 1.0}
    assert switched.default_arm == "green"
    assert shares(stubs, "bluegreen", 500) == {"blue": 0.0, "green": 1.0}
    stubs.admin_call("SwitchArm", admin_pb2.ArmRef(experiment="bluegreen", arm="blue"))
    assert shares(stubs, "bluegreen", 500) == {"blue": 1.0, "green": 0.0}
    assert [e.action for e in history(stubs, "bluegreen")][-2:] == ["switch_arm", "switch_arm"]


# -- guardrails --------------------------------------------------------------------------------


def error_guardrail(min_samples: int = 200) -> admin_pb2.Guardrail:
    return admin_pb2.Guardrail(
        name="error-rate",
        error_rate=admin_pb2.ErrorRateGuardrail(max_increase=0.01),
        min_samples=min_samples,
    )


def fifty_fifty() -> admin_pb2.PolicyConfig:
    return admin_pb2.PolicyConfig(
        policy=common_pb2.POLICY_FIXED,
        fixed=admin_pb2.FixedParams(weights={"control": 1.0, "canary": 1.0}),
    )


def serve_with_errors(
    stubs: Stubs, experiment: str, error_rates: dict[str, float], count: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    batch = stubs.batch(experiment, count)
    events = [
        event(d, "obs", error=bool(rng.random() < error_rates[batch.arms[i].name]))
        for i, d in zip(batch.choices, batch.decision_ids, strict=True)
    ]
    assert send(stubs, events).accepted == count


def test_a_bad_canary_is_rolled_back_with_its_evidence_and_can_be_readmitted(
    server: Any, stubs: Stubs
) -> None:
    create(
        stubs,
        "bad-canary",
        [spec("control"), spec("canary")],
        policy=fifty_fifty(),
        guardrails=[error_guardrail()],
    )
    serve_with_errors(stubs, "bad-canary", {"control": 0.01, "canary": 0.30}, 2000, seed=1)
    wait_for("the rollback", lambda: arm_state(stubs, "bad-canary", "canary") == "rolled_back")
    refreshed(server)
    assert shares(stubs, "bad-canary", 1000) == {"control": 1.0, "canary": 0.0}

    status = stubs.arm_status("bad-canary")["canary"]
    assert status.rollback.guardrail == "error-rate"
    assert status.rollback.probability >= 0.95
    assert status.rollback.samples >= 200 and status.rollback.control_samples >= 200
    assert re.fullmatch(
        r"error rate 0\.[23]\d+ \(\d+/\d+\) "
        r"vs control 'control' 0\.0\d+ \(\d+/\d+\); limit \+0\.01",
        status.rollback.reason,
    ), status.rollback.reason
    (rollback,) = [e for e in history(stubs, "bad-canary") if e.action == "rollback"]
    assert (rollback.actor, rollback.arm) == ("banditd", "canary")
    assert "breached with probability" in rollback.detail

    readmitted = stubs.admin.ReadmitArm(
        admin_pb2.ArmRef(experiment="bad-canary", arm="canary"),
        metadata=(*AUTH, ("x-banditd-actor", "alice@laptop")),
        timeout=10,
    )
    assert readmitted.arms[1].state == admin_pb2.ARM_STATE_LIVE
    assert not readmitted.arms[1].HasField("rollback")
    last = history(stubs, "bad-canary")[-1]
    assert (last.actor, last.action, last.arm) == ("alice@laptop", "readmit_arm", "canary")


def test_a_long_healthy_history_does_not_delay_the_rollback(server: Any, stubs: Stubs) -> None:
    guardrail = error_guardrail(min_samples=200)
    guardrail.window_s = 1.0
    create(
        stubs,
        "turns-bad",
        [spec("control"), spec("canary")],
        policy=fifty_fifty(),
        guardrails=[guardrail],
    )
    for seed in range(2):
        serve_with_errors(stubs, "turns-bad", {"control": 0.01, "canary": 0.01}, 10_000, seed)
    time.sleep(1.5)  # the autopilot has now watched the experiment for a whole window
    assert arm_state(stubs, "turns-bad", "canary") == "live"
    serve_with_errors(stubs, "turns-bad", {"control": 0.01, "canary": 0.3}, 1500, seed=5)
    # Over all history the canary's error rate is about 2%, within the limit; over the
    # last second it is 30%.
    wait_for("the rollback", lambda: arm_state(stubs, "turns-bad", "canary") == "rolled_back")
    rollback = stubs.arm_status("turns-bad")["canary"].rollback
    assert rollback.samples < 5000, rollback.reason


def arm_state(stubs: Stubs, experiment: str, arm: str) -> str:
    reply = stubs.admin_call("GetExperiment", admin_pb2.ExperimentRef(experiment=experiment))
    state = next(a.state for a in reply.arms if a.name == arm)
    return admin_pb2.ArmState.Name(state).removeprefix("ARM_STATE_").lower()


def test_healthy_arms_are_not_rolled_back(server: Any, stubs: Stubs) -> None:
    create(
        stubs,
        "healthy",
        [spec("control"), spec("canary")],
        policy=fifty_fifty(),
        guardrails=[error_guardrail(min_samples=100)],
    )
    for seed in range(3):
        serve_with_errors(stubs, "healthy", {"control": 0.01, "canary": 0.01}, 2000, seed)
        assert server.server.autopilot.run_once() == 0
    assert arm_state(stubs, "healthy", "canary") == "live"
    checks = stubs.arm_status("healthy")["canary"].guardrails
    assert [(c.guardrail, c.judged) for c in checks] == [("error-rate", True)]
    assert checks[0].breach_probability < 0.5


def test_a_slow_arm_breaches_a_latency_ceiling(server: Any, stubs: Stubs) -> None:
    latency = admin_pb2.Guardrail(
        name="p95",
        latency=admin_pb2.LatencyGuardrail(ceiling_ms=100, quantile=0.95),
        min_samples=200,
    )
    create(stubs, "slow", [spec("control"), spec("canary")], policy=fifty_fifty())
    stubs.admin_call(
        "SetGuardrails", admin_pb2.SetGuardrailsRequest(experiment="slow", guardrails=[latency])
    )
    rng = np.random.default_rng(3)
    batch = stubs.batch("slow", 2000)
    events = []
    for i, decision in zip(batch.choices, batch.decision_ids, strict=True):
        slow = batch.arms[i].name == "canary" and rng.random() < 0.2
        events.append(event(decision, "obs", latency_ms=250.0 if slow else 20.0))
    send(stubs, events)
    wait_for("the rollback", lambda: arm_state(stubs, "slow", "canary") == "rolled_back")
    status = stubs.arm_status("slow")
    assert status["canary"].latency_p99_ms > 200 and status["control"].latency_p99_ms < 25
    assert "slower than 100 ms" in status["canary"].rollback.reason


def test_guardrails_are_validated(stubs: Stubs) -> None:
    create(stubs, "guarded", [spec("a"), spec("b")])

    def set_guardrails(*guardrails: admin_pb2.Guardrail) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as raised:
            stubs.admin_call(
                "SetGuardrails",
                admin_pb2.SetGuardrailsRequest(experiment="guarded", guardrails=guardrails),
            )
        return raised.value

    error = set_guardrails(admin_pb2.Guardrail(name="x"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "guardrails[0] needs a kind" in error.details()
    error = set_guardrails(
        admin_pb2.Guardrail(
            name="x", error_rate=admin_pb2.ErrorRateGuardrail(max_increase=0.01, control_arm="zz")
        )
    )
    assert "control_arm 'zz' is not an arm" in error.details()
    error = set_guardrails(
        admin_pb2.Guardrail(name="x", latency=admin_pb2.LatencyGuardrail(ceiling_ms=-1))
    )
    assert "ceiling_ms must be a finite number > 0" in error.details()
    error = set_guardrails(error_guardrail(), error_guardrail())
    assert "listed twice" in error.details()
    experiment = stubs.admin_call("GetExperiment", admin_pb2.ExperimentRef(experiment="guarded"))
    assert not experiment.guardrails and experiment.epoch == 1


# -- sticky units ------------------------------------------------------------------------------


def test_units_keep_their_arm_and_few_move_when_shares_change(server: Any, stubs: Stubs) -> None:
    weights = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
    create(
        stubs,
        "sticky",
        [spec(a) for a in weights],
        policy=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_FIXED, fixed=admin_pb2.FixedParams(weights=weights)
        ),
    )
    units = [f"user-{i}" for i in range(4000)]

    def assign() -> list[str]:
        out = []
        for start in range(0, len(units), 1000):
            batch = stubs.decisions.DecideBatch(
                decisions_pb2.DecideBatchRequest(
                    experiment="sticky", unit_ids=units[start : start + 1000]
                ),
                timeout=10,
            )
            out += [batch.arms[i].name for i in batch.choices]
        return out

    first = assign()
    assert assign() == first
    single = stubs.decisions.Decide(
        decisions_pb2.DecideRequest(experiment="sticky", unit_id=units[7]), timeout=10
    )
    assert single.arm == first[7]
    assert Counter(first)["a"] / len(units) == pytest.approx(0.25, abs=0.03)

    # a: 25% -> 40%, the others shrink in proportion: units only move to a.
    weights["a"] = 2.0
    stubs.admin_call(
        "SetPolicy",
        admin_pb2.SetPolicyRequest(
            experiment="sticky",
            policy=admin_pb2.PolicyConfig(
                policy=common_pb2.POLICY_FIXED, fixed=admin_pb2.FixedParams(weights=weights)
            ),
        ),
    )
    second = assign()
    moved = [(old, new) for old, new in zip(first, second, strict=True) if old != new]
    assert all(new == "a" for _, new in moved)
    assert len(moved) / len(units) == pytest.approx(0.15, abs=0.03)


def test_a_batch_of_unit_ids_may_not_hold_an_empty_one(stubs: Stubs) -> None:
    create(stubs, "sticky-empty", [spec("a"), spec("b")])
    with pytest.raises(grpc.RpcError) as raised:
        stubs.decisions.DecideBatch(
            decisions_pb2.DecideBatchRequest(experiment="sticky-empty", unit_ids=["u1", ""]),
            timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unit_ids[1] is empty" in raised.value.details()


def test_the_default_arm_is_never_rolled_back(server: Any, stubs: Stubs) -> None:
    latency = admin_pb2.Guardrail(
        name="p95", latency=admin_pb2.LatencyGuardrail(ceiling_ms=100), min_samples=50
    )
    create(
        stubs,
        "slow-default",
        [spec("control"), spec("canary")],
        policy=fifty_fifty(),
        guardrails=[latency],
    )
    batch = stubs.batch("slow-default", 1000)
    send(stubs, [event(d, "obs", latency_ms=500.0) for d in batch.decision_ids])
    server.server.autopilot.run_once()
    status = stubs.arm_status("slow-default")
    # Both breach; only the canary leaves traffic, the default arm keeps serving.
    assert status["canary"].state == admin_pb2.ARM_STATE_ROLLED_BACK
    assert status["control"].state == admin_pb2.ARM_STATE_LIVE
    assert status["control"].guardrails[0].breach_probability > 0.99


# -- guardrail outcomes on the reward stream ---------------------------------------------------


def test_guardrail_outcomes_and_rewards_are_each_counted_once(stubs: Stubs) -> None:
    create(stubs, "outcomes", [spec("a")])
    d1, d2, d3 = (stubs.decide("outcomes").decision_id for _ in range(3))
    ack = send(
        stubs,
        [
            event(d1, "served", error=False, latency_ms=12.5),
            event(d1, "converted", reward=1.0),
            event(d2, "both", reward=0.0, error=True, latency_ms=900.0),
            event(d1, "served", error=False, latency_ms=12.5),  # a resend
            event(d1, "served-again", error=True),  # a second observation of d1
            event(d3, "nothing"),
            event(d3, "negative", latency_ms=-1.0),
            event(d3, "nan", latency_ms=float("nan")),
        ],
    )
    assert (ack.accepted, ack.duplicates) == (3, 1)
    rejected = {r.index: (grpc.StatusCode(_code(r.code)), r.message) for r in ack.rejected}
    assert rejected[4][0] == grpc.StatusCode.ALREADY_EXISTS
    assert "already has guardrail outcomes" in rejected[4][1]
    assert rejected[5][0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "set reward, error or latency_ms" in rejected[5][1]
    assert "latency_ms must be a finite number >= 0" in rejected[6][1]
    assert "latency_ms must be a finite number >= 0" in rejected[7][1]
    status = stubs.arm_status("outcomes")["a"]
    assert (status.rewards, status.reward_sum, status.observations, status.errors) == (2, 1, 2, 1)


def _code(value: int) -> Any:
    return next(code.value for code in grpc.StatusCode if code.value[0] == value)


# -- policies and the audit trail --------------------------------------------------------------


def test_gaussian_thompson_follows_the_better_mean(server: Any, stubs: Stubs) -> None:
    create(
        stubs,
        "revenue",
        [spec("a"), spec("b")],
        policy=admin_pb2.PolicyConfig(policy=common_pb2.POLICY_GAUSSIAN_THOMPSON),
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=0.0,
        reward_max=100.0,
    )
    rng = np.random.default_rng(5)
    batch = stubs.batch("revenue", 2000)
    means = {"a": 30.0, "b": 60.0}
    events = [
        event(d, reward=float(np.clip(rng.normal(means[batch.arms[i].name], 10.0), 0, 100)))
        for i, d in zip(batch.choices, batch.decision_ids, strict=True)
    ]
    assert send(stubs, events).accepted == 2000
    refreshed(server)
    assert shares(stubs, "revenue", 2000)["b"] > 0.95
    assert stubs.decide("revenue").policy == common_pb2.POLICY_GAUSSIAN_THOMPSON


def test_the_history_records_who_did_what_in_order(stubs: Stubs) -> None:
    create(stubs, "audited", [spec("a"), spec("b")])
    stubs.admin.PauseExperiment(
        admin_pb2.ExperimentRef(experiment="audited"),
        metadata=(*AUTH, ("x-banditd-actor", "bob")),
        timeout=10,
    )
    stubs.admin_call("ResumeExperiment", admin_pb2.ExperimentRef(experiment="audited"))
    stubs.admin_call("AddArm", admin_pb2.AddArmRequest(experiment="audited", arm=spec("c")))
    stubs.admin_call("RetireArm", admin_pb2.ArmRef(experiment="audited", arm="b"))
    entries = history(stubs, "audited")
    assert [(e.action, e.actor, e.arm, e.epoch) for e in entries] == [
        ("create_experiment", "admin", "", 1),
        ("pause", "bob", "", 2),
        ("resume", "admin", "", 3),
        ("add_arm", "admin", "c", 4),
        ("retire_arm", "admin", "b", 5),
    ]
    assert all(e.at_unix_ms > 0 for e in entries)
    limited = stubs.admin_call(
        "GetHistory", admin_pb2.GetHistoryRequest(experiment="audited", limit=2)
    )
    assert [e.action for e in limited.entries] == ["add_arm", "retire_arm"]


# -- promotion readiness -----------------------------------------------------------------------


def test_status_says_which_arm_is_ready_and_auto_promotion_promotes_it(
    server: Any, stubs: Stubs
) -> None:
    create(stubs, "ready", [spec("a"), spec("b")])
    import_outcomes(stubs, "ready", "a", 500, 25)
    status = stubs.status("ready")
    assert not status.ready_arm
    assert status.readiness == "waiting for samples: a 500/1000, b 0/1000"

    import_outcomes(stubs, "ready", "a", 3000, 150)
    import_outcomes(stubs, "ready", "b", 3000, 300)
    status = stubs.status("ready")
    arms = {a.name: a for a in status.arms}
    assert status.ready_arm == "b" and arms["b"].promotion_ready and not arms["a"].promotion_ready
    assert status.readiness.startswith("b is ready: P(best) 1.000 >= 0.95, expected loss 0.00%")
    assert arms["b"].expected_loss < 0.001
    # a gives up about half of b's conversion rate.
    assert arms["a"].expected_loss == pytest.approx(0.5, abs=0.05)

    stubs.admin_call(
        "SetPromotionRule",
        admin_pb2.SetPromotionRuleRequest(
            experiment="ready", promotion=admin_pb2.PromotionRule(auto_promote=True)
        ),
    )
    wait_for("the auto-promotion", lambda: arm_state(stubs, "ready", "a") == "retired")
    last = history(stubs, "ready")[-1]
    assert (last.action, last.actor, last.arm) == ("promote_arm", "banditd", "b")
    assert last.detail.startswith("auto-promotion: b is ready")


def test_promotion_rules_are_validated(stubs: Stubs) -> None:
    create(stubs, "rule", [spec("a"), spec("b")])
    with pytest.raises(grpc.RpcError) as raised:
        stubs.admin_call(
            "SetPromotionRule",
            admin_pb2.SetPromotionRuleRequest(
                experiment="rule", promotion=admin_pb2.PromotionRule(prob_best=1.5)
            ),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "promotion.prob_best must be within [0.5, 1), got 1.5" in raised.value.details()


# -- reward timing: delayed rewards and the sliding window -------------------------------------


def set_timing(stubs: Stubs, experiment: str, **fields: Any) -> admin_pb2.Experiment:
    return stubs.admin_call(
        "SetRewardTiming",
        admin_pb2.SetRewardTimingRequest(
            experiment=experiment, timing=admin_pb2.RewardTiming(**fields)
        ),
    )


def test_young_decisions_count_only_once_they_mature(server: Any, stubs: Stubs) -> None:
    create(stubs, "delayed", [spec("a"), spec("b")])
    set_timing(stubs, "delayed", reward_wait_s=2.0)
    batch = stubs.batch("delayed", 2000)
    # Every decision served by b converts at once; a never does.
    send(
        stubs,
        [
            event(d, reward=1.0)
            for i, d in zip(batch.choices, batch.decision_ids, strict=True)
            if batch.arms[i].name == "b"
        ],
    )
    refreshed(server)
    # Young decisions count neither as success nor failure: nothing is known yet, and the
    # status says what the policy sees (its counts and means say what happened).
    assert shares(stubs, "delayed", 4000)["b"] == pytest.approx(0.5, abs=0.05)
    status = stubs.status("delayed")
    b = {a.name: a for a in status.arms}["b"]
    assert b.traffic_share == pytest.approx(0.5, abs=0.05) and b.mean_reward > 0.3
    assert 0.3 < b.prob_best < 0.7 and not status.ready_arm
    time.sleep(3.2)
    refreshed(server)
    assert shares(stubs, "delayed", 4000)["b"] > 0.95
    assert {a.name: a for a in stubs.status("delayed").arms}["b"].prob_best > 0.99


def test_a_window_forgets_old_evidence(server: Any, stubs: Stubs) -> None:
    create(stubs, "windowed", [spec("a"), spec("b")])
    set_timing(stubs, "windowed", window_s=2.0)
    batch = stubs.batch("windowed", 2000)
    send(
        stubs,
        [
            event(d, reward=1.0)
            for i, d in zip(batch.choices, batch.decision_ids, strict=True)
            if batch.arms[i].name == "b"
        ],
    )
    wait_for("b to lead", lambda: shares(stubs, "windowed", 2000)["b"] > 0.95)
    time.sleep(3.2)
    refreshed(server)
    # Nothing left in the window: back to an even split. Status still shows all history.
    assert shares(stubs, "windowed", 4000)["b"] == pytest.approx(0.5, abs=0.05)
    assert stubs.arm_status("windowed")["b"].rewards > 900


def test_a_default_reward_counts_matured_decisions_without_one(server: Any, stubs: Stubs) -> None:
    create(
        stubs,
        "default-reward",
        [spec("a"), spec("b")],
        policy=admin_pb2.PolicyConfig(policy=common_pb2.POLICY_GAUSSIAN_THOMPSON),
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=0.0,
        reward_max=10.0,
    )
    experiment = set_timing(stubs, "default-reward", reward_wait_s=1.0, default_reward=0.0)
    assert experiment.timing.HasField("default_reward")
    batch = stubs.batch("default-reward", 2000)
    # a: a few large rewards, most decisions none; b: a modest reward every time. Counting
    # only the rewards, a looks better (10 vs 5); with the default 0, b is (1 vs 5).
    rewards = []
    for n, (i, d) in enumerate(zip(batch.choices, batch.decision_ids, strict=True)):
        if batch.arms[i].name == "b":
            rewards.append(event(d, reward=5.0))
        elif n % 10 == 0:
            rewards.append(event(d, reward=10.0))
    send(stubs, rewards)
    time.sleep(2.2)
    refreshed(server)
    assert shares(stubs, "default-reward", 4000)["b"] > 0.95
    with pytest.raises(grpc.RpcError) as raised:
        set_timing(stubs, "default-reward", default_reward=20.0)
    assert "timing.default_reward: reward must be within [0, 10]" in raised.value.details()


# -- segments ------------------------------------------------------------------------------------


def segmented(stubs: Stubs, name: str, **segmentation: Any) -> None:
    create(stubs, name, [spec("a"), spec("b")])
    stubs.admin_call(
        "SetSegmentation",
        admin_pb2.SetSegmentationRequest(
            experiment=name,
            segmentation=admin_pb2.Segmentation(attribute="tier", **segmentation),
        ),
    )


def segment_batch(stubs: Stubs, name: str, tier: str, count: int) -> Any:
    return stubs.decisions.DecideBatch(
        decisions_pb2.DecideBatchRequest(experiment=name, count=count, attributes={"tier": tier}),
        timeout=10,
    )


def segment_shares(stubs: Stubs, name: str, tier: str, count: int = 4000) -> dict[str, float]:
    batch = segment_batch(stubs, name, tier, count)
    counts = Counter(batch.arms[i].name for i in batch.choices)
    return {arm.name: counts[arm.name] / count for arm in batch.arms}


def test_each_segment_follows_its_own_best_arm(server: Any, stubs: Stubs) -> None:
    segmented(stubs, "tiers", min_samples=500)
    winners = {"vip": "b", "standard": "a"}
    events = []
    rewarded = {}
    for tier, winner in winners.items():
        batch = segment_batch(stubs, "tiers", tier, 2000)
        won = [
            event(d, reward=1.0)
            for i, d in zip(batch.choices, batch.decision_ids, strict=True)
            if batch.arms[i].name == winner
        ]
        rewarded[tier] = len(won)
        events += won
    assert send(stubs, events).accepted == len(events)
    refreshed(server)
    assert segment_shares(stubs, "tiers", "vip")["b"] > 0.95
    assert segment_shares(stubs, "tiers", "standard")["a"] > 0.95

    # A segment with too few decisions decides from the whole experiment's statistics, and
    # every decision reports the propensities of the allocation that decided it.
    young = server.engine.decide_many("tiers", 50, None, {"tier": "basic"})
    assert young.allocation is young.snapshot.allocation
    vip = server.engine.decide_many("tiers", 50, None, {"tier": "vip"})
    assert vip.allocation is vip.snapshot.segment_allocations["vip"]
    vip_batch = segment_batch(stubs, "tiers", "vip", 1)
    assert {a.name: a.propensity for a in vip_batch.arms}["b"] > 0.95
    one = stubs.decisions.Decide(
        decisions_pb2.DecideRequest(experiment="tiers", attributes={"tier": "standard"}),
        timeout=10,
    )
    assert one.propensity > 0.95 if one.arm == "a" else one.propensity < 0.05

    status = stubs.admin_call(
        "GetStatus", admin_pb2.GetStatusRequest(experiment="tiers", segment="vip")
    )
    arms = {a.name: a for a in status.arms}
    assert status.segment == "vip" and set(status.segments) == {"basic", "standard", "vip"}
    assert (arms["b"].rewards, arms["a"].rewards) == (rewarded["vip"], 0)
    assert arms["a"].pulls + arms["b"].pulls >= 2000
    whole = stubs.status("tiers")
    assert whole.segment == "" and sum(a.pulls for a in whole.arms) >= 12000


def test_segments_beyond_the_limit_use_the_whole_experiment(server: Any, stubs: Stubs) -> None:
    segmented(stubs, "few-tiers", max_values=2)
    for tier in ("t1", "t2"):
        segment_batch(stubs, "few-tiers", tier, 10)
    server.engine.flush()
    refreshed(server)
    segment_batch(stubs, "few-tiers", "t3", 10)
    server.engine.flush()
    with pytest.raises(grpc.RpcError) as raised:
        stubs.admin_call(
            "GetStatus", admin_pb2.GetStatusRequest(experiment="few-tiers", segment="t3")
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "no statistics for segment 't3' (segments: t1, t2)" in raised.value.details()
    assert sum(a.pulls for a in stubs.status("few-tiers").arms) == 30


def test_a_reward_before_the_decisions_flush_still_counts_in_its_segment(
    server: Any, stubs: Stubs
) -> None:
    segmented(stubs, "early", max_values=2)
    decisions = segment_batch(stubs, "early", "vip", 20)
    # Rewarded before the replica flushed the decision counts that admit "vip" (the flush
    # runs every 100 ms; the rewards go first as soon as the ids are out).
    unflushed = server.engine.unflushed()
    assert send(stubs, [event(d, reward=1.0) for d in decisions.decision_ids]).accepted == 20
    assert unflushed > 0
    server.engine.flush()
    status = stubs.admin_call(
        "GetStatus", admin_pb2.GetStatusRequest(experiment="early", segment="vip")
    )
    assert sum(a.rewards for a in status.arms) == 20
    assert sum(a.pulls for a in status.arms) == 20


def test_a_guardrail_scoped_to_a_segment_judges_that_segment_only(
    server: Any, stubs: Stubs
) -> None:
    create(stubs, "vip-guard", [spec("control"), spec("canary")], policy=fifty_fifty())
    stubs.admin_call(
        "SetSegmentation",
        admin_pb2.SetSegmentationRequest(
            experiment="vip-guard", segmentation=admin_pb2.Segmentation(attribute="tier")
        ),
    )
    guardrail = error_guardrail(min_samples=100)
    guardrail.segment = "vip"
    stubs.admin_call(
        "SetGuardrails",
        admin_pb2.SetGuardrailsRequest(experiment="vip-guard", guardrails=[guardrail]),
    )
    # The canary fails VIP requests only; over all traffic it would stay under the limit.
    rng = np.random.default_rng(11)
    events = []
    for tier, canary_errors, count in (("standard", 0.0, 6000), ("vip", 0.3, 600)):
        batch = segment_batch(stubs, "vip-guard", tier, count)
        for i, d in zip(batch.choices, batch.decision_ids, strict=True):
            rate = canary_errors if batch.arms[i].name == "canary" else 0.0
            events.append(event(d, "obs", error=bool(rng.random() < rate)))
    send(stubs, events)
    wait_for("the rollback", lambda: arm_state(stubs, "vip-guard", "canary") == "rolled_back")
    reason = stubs.arm_status("vip-guard")["canary"].rollback.reason
    assert reason.startswith("in segment 'vip': error rate 0.")


def test_segment_settings_are_validated(stubs: Stubs) -> None:
    create(stubs, "unsegmented", [spec("a"), spec("b")])
    guardrail = error_guardrail()
    guardrail.segment = "vip"
    with pytest.raises(grpc.RpcError) as raised:
        stubs.admin_call(
            "SetGuardrails",
            admin_pb2.SetGuardrailsRequest(experiment="unsegmented", guardrails=[guardrail]),
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "needs the experiment to be segmented" in raised.value.details()
    segmented(stubs, "long-values")
    with pytest.raises(grpc.RpcError) as raised:
        segment_batch(stubs, "long-values", "x" * 65, 1)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "attributes['tier'] is the segmentation attribute" in raised.value.details()


def test_plain_decisions_drawn_ahead_serve_the_allocation_and_are_counted_once(
    server: Any, stubs: Stubs
) -> None:
    weights = admin_pb2.PolicyConfig(
        policy=common_pb2.POLICY_FIXED,
        fixed=admin_pb2.FixedParams(weights={"a": 7.0, "b": 3.0}),
    )
    create(stubs, "ahead", [spec("a"), spec("b")], policy=weights)
    decisions = [stubs.decide("ahead") for _ in range(3000)]
    served = Counter(d.arm for d in decisions)
    # 3000 draws at 0.7: sd 0.008, so +-0.04 is five sd and still catches 0.5 or 0.9.
    assert abs(served["a"] / 3000 - 0.7) < 0.04
    assert all(d.propensity == pytest.approx(0.7) for d in decisions if d.arm == "a")
    assert len({d.decision_id for d in decisions}) == 3000
    server.engine.flush()
    assert sum(a.pulls for a in stubs.status("ahead").arms) == 3000
