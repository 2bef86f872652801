"""Every RPC over real gRPC against a real Redis: happy paths and the exact status of bad input."""

from __future__ import annotations

import math
from collections.abc import Iterator

import grpc
import pytest
import redis
from banditd.v1 import admin_pb2, common_pb2, decisions_pb2
from wire import Stubs, connect

from bandit_service.tokens import DecisionSigner

SECRET = "s" * 32


@pytest.fixture
def stubs(start_server) -> Iterator[Stubs]:
    running = start_server(decision_secret=SECRET, decision_ttl_s=3600)
    stubs = connect(running.target)
    yield stubs
    stubs.close()


def stats_hash(redis_client: redis.Redis, key_prefix: str, experiment: str) -> dict[bytes, bytes]:
    return redis_client.hgetall(f"{key_prefix}:{{{experiment}}}:stats")


def expect(code: grpc.StatusCode, call, *args) -> str:
    with pytest.raises(grpc.RpcError) as info:
        call(*args)
    assert info.value.code() == code, info.value.details()
    return info.value.details()


def test_decide_returns_arm_version_signed_id_and_propensity(stubs: Stubs) -> None:
    stubs.create("checkout", arms=("v1", "v2", "v3"))
    seen = set()
    for _ in range(30):
        decision = stubs.decide("checkout")
        assert decision.arm in {"v1", "v2", "v3"}
        assert decision.version == f"model-{decision.arm}"
        assert 0 < decision.propensity <= 1
        assert decision.policy == common_pb2.POLICY_THOMPSON
        assert decision.default_arm == "v1" and decision.default_version == "model-v1"
        seen.add(decision.decision_id)
    assert len(seen) == 30


def test_the_longest_names_and_segments_decide_and_reward(stubs: Stubs) -> None:
    name = "n" * 64  # the longest experiment name: its ids pass 127 characters
    stubs.create(name, arms=("a", "b"))
    stubs.admin_call(
        "SetSegmentation",
        admin_pb2.SetSegmentationRequest(
            experiment=name, segmentation=admin_pb2.Segmentation(attribute="tier")
        ),
    )
    plain = stubs.decide(name)
    segmented = stubs.decisions.Decide(
        decisions_pb2.DecideRequest(experiment=name, attributes={"tier": "s" * 64}), timeout=10
    )
    assert len(plain.decision_id) > 127 and len(segmented.decision_id) == 216
    for decision in (plain, segmented):
        assert decision.arm in {"a", "b"} and decision.version
        assert stubs.reward(decision.decision_id, 1.0, "e").duplicate is False


def test_decide_batch_packs_an_arm_table(stubs: Stubs) -> None:
    stubs.create("batch", arms=("a", "b"))
    response = stubs.batch("batch", 500)
    assert [arm.name for arm in response.arms] == ["a", "b"]
    assert len(response.choices) == len(response.decision_ids) == 500
    assert set(response.choices) <= {0, 1}
    assert len(set(response.decision_ids)) == 500
    assert math.isclose(sum(arm.propensity for arm in response.arms), 1.0, abs_tol=1e-9)


def test_reward_counts_once_and_status_shows_it(stubs: Stubs) -> None:
    stubs.create("once", arms=("a",))
    decision = stubs.decide("once")
    assert stubs.reward(decision.decision_id, 1.0, "ev-1").duplicate is False
    assert stubs.reward(decision.decision_id, 1.0, "ev-1").duplicate is True
    details = expect(
        grpc.StatusCode.ALREADY_EXISTS, stubs.reward, decision.decision_id, 1.0, "ev-2"
    )
    assert "already rewarded" in details
    arm = stubs.arm_status("once")["a"]
    assert (arm.pulls, arm.rewards, arm.reward_sum, arm.mean_reward) == (1, 1, 1.0, 1.0)


def test_reward_stream_acks_every_batch(stubs: Stubs) -> None:
    stubs.create("stream", arms=("a", "b"))
    batch = stubs.batch("stream", 300)
    events = [(d, float(i % 2), f"e{i}") for i, d in enumerate(batch.decision_ids)]
    acks = stubs.stream_rewards([events[:100], events[100:], events[:50]])
    assert [a.batch_id for a in acks] == [0, 1, 2]
    assert [(a.accepted, a.duplicates, len(a.rejected)) for a in acks] == [
        (100, 0, 0),
        (200, 0, 0),
        (0, 50, 0),
    ]
    arms = stubs.arm_status("stream")
    assert sum(a.rewards for a in arms.values()) == 300
    assert sum(a.reward_sum for a in arms.values()) == 150
    assert sum(a.pulls for a in arms.values()) == 300


def test_stream_rejects_bad_events_individually(stubs: Stubs) -> None:
    stubs.create("mixed", arms=("a",))
    good = stubs.decide("mixed").decision_id
    (ack,) = stubs.stream_rewards(
        [[(good, 1.0, "ok"), (good[:-3] + "AAA", 1.0, "x"), (good, math.nan, "y"), ("", 1.0, "z")]]
    )
    assert ack.accepted == 1
    assert [(r.index, grpc.StatusCode.PERMISSION_DENIED.value[0]) for r in ack.rejected[:1]] == [
        (1, ack.rejected[0].code)
    ]
    assert [r.index for r in ack.rejected] == [1, 2, 3]
    assert ack.rejected[1].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "finite" in ack.rejected[1].message


def test_continuous_rewards_keep_sum_of_squares(stubs: Stubs) -> None:
    stubs.create(
        "revenue",
        arms=("a",),
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=0.0,
        reward_max=100.0,
    )
    for i, value in enumerate((10.0, 20.0, 30.0)):
        stubs.reward(stubs.decide("revenue").decision_id, value, f"e{i}")
    arm = stubs.arm_status("revenue")["a"]
    assert arm.rewards == 3 and arm.reward_sum == 60.0 and arm.mean_reward == 20.0
    # Sample standard deviation 10, so the 95% interval is 20 +- 1.96 * 10 / sqrt(3).
    assert arm.interval_low == pytest.approx(20 - 1.959964 * 10 / math.sqrt(3), rel=1e-4)
    assert arm.interval_high == pytest.approx(20 + 1.959964 * 10 / math.sqrt(3), rel=1e-4)


def test_bad_decision_ids_are_rejected_and_change_nothing(
    stubs: Stubs, redis_client: redis.Redis, key_prefix: str
) -> None:
    stubs.create("guarded", arms=("a", "b"))
    decision = stubs.decide("guarded")
    stubs.reward(decision.decision_id, 0.0, "first")
    before = stats_hash(redis_client, key_prefix, "guarded")

    token = decision.decision_id
    tampered = token[:10] + ("B" if token[10] != "B" else "C") + token[11:]
    assert "signature" in expect(grpc.StatusCode.PERMISSION_DENIED, stubs.reward, tampered, 1.0)
    forged = DecisionSigner(b"another secret of 32 bytes......", 3600).sign(
        b"guarded", 1, decision.epoch, 1_800_000_000_000
    )
    expect(grpc.StatusCode.PERMISSION_DENIED, stubs.reward, forged, 1.0)
    old = DecisionSigner(SECRET.encode(), 3600).sign(b"guarded", 0, 1, 1_000_000_000_000)
    assert "expired" in expect(grpc.StatusCode.FAILED_PRECONDITION, stubs.reward, old, 1.0)
    expect(grpc.StatusCode.INVALID_ARGUMENT, stubs.reward, "not-a-token", 1.0)
    expect(grpc.StatusCode.INVALID_ARGUMENT, stubs.reward, "", 1.0)
    assert stats_hash(redis_client, key_prefix, "guarded") == before


@pytest.mark.parametrize(
    ("reward", "event_id", "fragment"),
    [
        (math.nan, "e", "finite"),
        (math.inf, "e", "finite"),
        (-math.inf, "e", "finite"),
        (0.5, "e", "0 or 1"),
        (2.0, "e", "0 or 1"),
        (1.0, "", "event_id is required"),
        (1.0, "x" * 129, "event_id is 129 bytes"),
    ],
)
def test_bad_rewards_get_invalid_argument(
    stubs: Stubs,
    redis_client: redis.Redis,
    key_prefix: str,
    reward: float,
    event_id: str,
    fragment: str,
) -> None:
    stubs.create("strict", arms=("a",))
    decision = stubs.decide("strict")
    stubs.batch("strict", 1)  # make sure pulls are flushed by status below
    stubs.status("strict")
    before = stats_hash(redis_client, key_prefix, "strict")
    details = expect(
        grpc.StatusCode.INVALID_ARGUMENT, stubs.reward, decision.decision_id, reward, event_id
    )
    assert fragment in details
    assert stats_hash(redis_client, key_prefix, "strict") == before


def test_continuous_reward_outside_range(stubs: Stubs) -> None:
    stubs.create(
        "ranged",
        arms=("a",),
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=-1.0,
        reward_max=1.0,
    )
    details = expect(
        grpc.StatusCode.INVALID_ARGUMENT, stubs.reward, stubs.decide("ranged").decision_id, 1.5
    )
    assert details == "reward must be within [-1, 1] for experiment 'ranged', got 1.5"


@pytest.mark.parametrize(
    ("name", "code", "fragment"),
    [
        ("missing", grpc.StatusCode.NOT_FOUND, "experiment 'missing' not found"),
        ("", grpc.StatusCode.INVALID_ARGUMENT, "experiment is required"),
        ("x" * 65, grpc.StatusCode.INVALID_ARGUMENT, "is not valid"),
        ("bad name", grpc.StatusCode.INVALID_ARGUMENT, "is not valid"),
        ("{tag}", grpc.StatusCode.INVALID_ARGUMENT, "is not valid"),
    ],
)
def test_decide_on_bad_experiment_names(stubs: Stubs, name: str, code, fragment: str) -> None:
    assert fragment in expect(code, stubs.decide, name)


def test_decide_batch_limits(stubs: Stubs) -> None:
    stubs.create("limits", arms=("a",))
    assert "count must be between 1 and 10000" in expect(
        grpc.StatusCode.INVALID_ARGUMENT, stubs.batch, "limits", 0
    )
    expect(grpc.StatusCode.INVALID_ARGUMENT, stubs.batch, "limits", 10_001)


def test_create_validation_messages(stubs: Stubs) -> None:
    def create(**fields):
        return lambda: stubs.create(**fields)

    cases = [
        (dict(name="", arms=("a",)), "name is required"),
        (dict(name="e", arms=()), "at least one arm"),
        (dict(name="e", arms=("a", "a")), "listed twice"),
        (dict(name="e", arms=("a", "b c")), "arms[1].name 'b c' is not valid"),
        (dict(name="e", arms=("a",), policy=0), "policy.policy is required"),
        (
            dict(
                name="e",
                arms=("a",),
                reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
                reward_min=1.0,
                reward_max=1.0,
            ),
            "reward_min < reward_max",
        ),
        (
            dict(
                name="e",
                arms=("a",),
                policy_config=admin_pb2.PolicyConfig(
                    policy=common_pb2.POLICY_EPSILON_GREEDY,
                    epsilon_greedy=admin_pb2.EpsilonGreedyParams(epsilon=1.5),
                ),
            ),
            "policy.epsilon must be within [0, 1], got 1.5",
        ),
        (
            dict(
                name="e",
                arms=("a",),
                policy_config=admin_pb2.PolicyConfig(
                    policy=common_pb2.POLICY_THOMPSON, ucb=admin_pb2.UcbParams(exploration=1)
                ),
            ),
            "policy.ucb parameters do not apply to policy 'thompson'",
        ),
        (dict(name="e", arms=("a",), default_arm="zz"), "default_arm 'zz' is not one of"),
    ]
    for fields, fragment in cases:
        assert fragment in expect(grpc.StatusCode.INVALID_ARGUMENT, create(**fields))
    assert stubs.admin_call("ListExperiments", admin_pb2.ListExperimentsRequest()).experiments == []
    stubs.create("e", arms=("a",))
    expect(grpc.StatusCode.ALREADY_EXISTS, create(name="e", arms=("a",)))


def test_arm_lifecycle_and_its_errors(stubs: Stubs) -> None:
    stubs.create("life", arms=("a", "b"))

    def arm_call(method: str, arm: str):
        return lambda: stubs.admin_call(method, admin_pb2.ArmRef(experiment="life", arm=arm))

    details = expect(grpc.StatusCode.NOT_FOUND, arm_call("RetireArm", "zz"))
    assert details == "experiment 'life' has no arm 'zz' (arms: a, b)"
    assert "default arm" in expect(grpc.StatusCode.FAILED_PRECONDITION, arm_call("RetireArm", "a"))
    added = stubs.admin_call(
        "AddArm",
        admin_pb2.AddArmRequest(experiment="life", arm=admin_pb2.ArmSpec(name="c", version="m-c")),
    )
    assert [a.name for a in added.arms] == ["a", "b", "c"] and added.epoch == 2
    retired = arm_call("RetireArm", "b")()
    assert retired.arms[1].state == admin_pb2.ARM_STATE_RETIRED
    assert "only a live or shadow arm" in expect(
        grpc.StatusCode.FAILED_PRECONDITION, arm_call("PromoteArm", "b")
    )
    promoted = arm_call("PromoteArm", "c")()
    assert promoted.default_arm == "c"
    assert [a.state for a in promoted.arms] == [
        admin_pb2.ARM_STATE_RETIRED,
        admin_pb2.ARM_STATE_RETIRED,
        admin_pb2.ARM_STATE_LIVE,
    ]
    assert {stubs.decide("life").arm for _ in range(50)} == {"c"}
    # The promoted arm is now the default, which cannot be retired.
    assert "default arm" in expect(grpc.StatusCode.FAILED_PRECONDITION, arm_call("RetireArm", "c"))


def test_retired_arm_rewards_still_count(stubs: Stubs) -> None:
    stubs.create(
        "late",
        arms=("a", "b"),
        policy=common_pb2.POLICY_FIXED,
        policy_config=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_FIXED,
            fixed=admin_pb2.FixedParams(weights={"a": 0.0, "b": 1.0}),
        ),
    )
    decision = stubs.decide("late")
    assert decision.arm == "b"
    stubs.admin_call(
        "SetPolicy",
        admin_pb2.SetPolicyRequest(
            experiment="late", policy=admin_pb2.PolicyConfig(policy=common_pb2.POLICY_THOMPSON)
        ),
    )
    stubs.admin_call("RetireArm", admin_pb2.ArmRef(experiment="late", arm="b"))
    stubs.reward(decision.decision_id, 1.0, "late-1")
    arm = stubs.arm_status("late")["b"]
    assert arm.state == admin_pb2.ARM_STATE_RETIRED
    assert (arm.pulls, arm.rewards, arm.traffic_share) == (1, 1, 0.0)


def test_pause_serves_the_default_arm(stubs: Stubs) -> None:
    stubs.create("pausable", arms=("a", "b", "c"), default_arm="b")
    stubs.admin_call("PauseExperiment", admin_pb2.ExperimentRef(experiment="pausable"))
    decisions = [stubs.decide("pausable") for _ in range(40)]
    assert {d.arm for d in decisions} == {"b"}
    assert all(d.paused and d.propensity == 1.0 for d in decisions)
    stubs.admin_call("ResumeExperiment", admin_pb2.ExperimentRef(experiment="pausable"))
    assert {stubs.decide("pausable").arm for _ in range(200)} == {"a", "b", "c"}


def test_fixed_weights_split_traffic(stubs: Stubs) -> None:
    stubs.create(
        "ab",
        arms=("control", "canary"),
        policy_config=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_FIXED,
            fixed=admin_pb2.FixedParams(weights={"control": 9.0, "canary": 1.0}),
        ),
    )
    response = stubs.batch("ab", 10_000)
    canary = sum(response.choices) / 10_000
    # Binomial(10000, 0.1): sd 0.003; 0.08..0.12 is more than 6 sd each way.
    assert 0.08 < canary < 0.12
    assert [a.propensity for a in response.arms] == pytest.approx([0.9, 0.1])


def test_import_outcomes_is_idempotent(stubs: Stubs) -> None:
    stubs.create("history", arms=("a", "b"))

    def import_(import_id: str, **fields):
        request = admin_pb2.ImportOutcomesRequest(
            experiment="history", arm="a", import_id=import_id, **fields
        )
        return stubs.admin_call("ImportOutcomes", request)

    assert import_("q3", pulls=1000, rewards=1000, reward_sum=40).duplicate is False
    assert import_("q3", pulls=1000, rewards=1000, reward_sum=40).duplicate is True
    arm = stubs.arm_status("history")["a"]
    assert (arm.pulls, arm.reward_sum) == (1000, 40.0)
    assert arm.mean_reward == pytest.approx(0.04)
    with pytest.raises(grpc.RpcError) as info:
        import_("", pulls=1)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        import_("bad", pulls=10, rewards=10, reward_sum=11)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_admin_needs_the_token_and_changes_nothing_without_it(stubs: Stubs) -> None:
    stubs.create("locked", arms=("a", "b"))
    ref = admin_pb2.ArmRef(experiment="locked", arm="b")
    with pytest.raises(grpc.RpcError) as info:
        stubs.admin.RetireArm(ref, timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        stubs.admin.RetireArm(ref, metadata=(("authorization", "Bearer wrong"),), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert info.value.details() == "admin token is not valid"
    experiment = stubs.admin_call("GetExperiment", admin_pb2.ExperimentRef(experiment="locked"))
    assert experiment.epoch == 1
    assert all(a.state == admin_pb2.ARM_STATE_LIVE for a in experiment.arms)
