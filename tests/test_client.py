"""The Python client (banditd_client) against a real banditd on a real Redis.

Create an experiment, decide, report rewards one by one and in batches, survive a server
restart, and fall back to the default arm when banditd cannot be reached. The first tests
need no server: error mapping, batching bookkeeping and the client's light imports.
"""

from __future__ import annotations

import asyncio
import getpass
import inspect
import logging
import math
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from banditd.v1 import admin_pb2, common_pb2, decisions_pb2
from banditd_client import (
    AdminClient,
    AlreadyExists,
    AsyncBanditClient,
    AsyncRewardReporter,
    BanditClient,
    BanditError,
    DeadlineExceeded,
    Decision,
    Internal,
    InvalidArgument,
    NotFound,
    RewardReporter,
    ServiceUnreachable,
    ShadowDecision,
    Unauthenticated,
    Unavailable,
    UnexpectedStatus,
    arm_limits,
    error_rate_guardrail,
    latency_guardrail,
    policy_config,
    promotion_rule,
    reward_timing,
    segmentation,
)
from banditd_client._channel import admin_metadata, default_actor
from banditd_client._reward_batches import RewardLedger
from banditd_client._wire import decision_from_response, decisions_from_batch, report_reward_request
from banditd_client.errors import error_class, from_rpc_error, rpc_errors
from wire import closed_target

POLICIES = {"thompson", "gaussian_thompson", "ucb1", "kl_ucb", "epsilon_greedy", "fixed"}
ACTOR = "alice@test-host"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_experiment(target: str, token: str, arms: tuple[str, ...] = ("a", "b", "c")) -> str:
    """Creates an experiment with a unique name; its arms serve version "<arm>-v1"."""
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with AdminClient(target, token=token) as admin:
        admin.create_experiment(name, [(arm, f"{arm}-v1") for arm in arms])
    return name


def rewards_recorded(target: str, token: str, experiment: str) -> int:
    with AdminClient(target, token=token) as admin:
        return sum(arm.rewards for arm in admin.status(experiment).arms)


@pytest.fixture
def experiment(server: Any) -> str:
    return new_experiment(server.target, server.admin_token)


@pytest.fixture
def client(server: Any) -> Iterator[BanditClient]:
    # Generous deadlines: the test machine is shared and slow, the default 0.25 s is not.
    with BanditClient(server.target, timeout_s=5.0) as bandit:
        yield bandit


# -- no server needed --------------------------------------------------------------------


def test_importing_the_client_pulls_in_no_server_dependencies() -> None:
    code = (
        "import sys, banditd_client, banditd_client.cli; "
        "heavy = {'numba', 'numpy', 'redis', 'bandit_service', 'pydantic'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


class _StatusError(grpc.RpcError):
    """A finished call's error, as grpc raises it (code() and details())."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgument),
        (grpc.StatusCode.OUT_OF_RANGE, InvalidArgument),
        (grpc.StatusCode.NOT_FOUND, NotFound),
        (grpc.StatusCode.UNAUTHENTICATED, Unauthenticated),
        (grpc.StatusCode.UNAVAILABLE, Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, DeadlineExceeded),
        (grpc.StatusCode.INTERNAL, Internal),
        (grpc.StatusCode.UNKNOWN, Internal),
        (grpc.StatusCode.UNIMPLEMENTED, UnexpectedStatus),
        (grpc.StatusCode.CANCELLED, UnexpectedStatus),
    ],
)
def test_status_codes_map_to_their_error_classes(
    code: grpc.StatusCode, expected: type[BanditError]
) -> None:
    assert error_class(code) is expected


def test_every_status_code_maps_to_a_bandit_error_keeping_code_and_details() -> None:
    for code in grpc.StatusCode:
        error = from_rpc_error(_StatusError(code, f"details of {code.name}"))
        assert isinstance(error, BanditError)
        assert error.code is code
        assert error.details == f"details of {code.name}"
        assert code.name in str(error)
    # Only the codes without a dedicated class land in the generic one.
    generic = {c for c in grpc.StatusCode if error_class(c) is UnexpectedStatus}
    assert generic == {
        grpc.StatusCode.OK,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
    # Unreachable and slow are one family, so fallback and retry code can catch both.
    assert issubclass(Unavailable, ServiceUnreachable)
    assert issubclass(DeadlineExceeded, ServiceUnreachable)


def test_rpc_errors_raises_the_mapped_error_from_the_grpc_one() -> None:
    original = _StatusError(grpc.StatusCode.NOT_FOUND, "experiment 'x' not found")
    with pytest.raises(NotFound) as caught, rpc_errors():
        raise original
    assert caught.value.__cause__ is original
    assert caught.value.details == "experiment 'x' not found"


def test_a_batch_response_expands_into_one_decision_per_choice() -> None:
    response = decisions_pb2.DecideBatchResponse(
        arms=[
            decisions_pb2.BatchArm(name="a", version="a-v1", propensity=0.25),
            decisions_pb2.BatchArm(name="b", version="b-v1", propensity=0.75),
        ],
        choices=[1, 0, 1],
        decision_ids=["d0", "d1", "d2"],
        policy=common_pb2.POLICY_UCB1,
        epoch=4,
    )
    decisions = decisions_from_batch("checkout", response)
    assert [(d.arm, d.version, d.decision_id) for d in decisions] == [
        ("b", "b-v1", "d0"),
        ("a", "a-v1", "d1"),
        ("b", "b-v1", "d2"),
    ]
    assert decisions[0] == Decision("checkout", "b", "b-v1", "d0", 0.75, "ucb1", False, 4)


def test_reward_ledger_cuts_batches_by_size_and_by_flush_interval() -> None:
    ledger = RewardLedger(batch_size=3, flush_interval_s=0.05, max_pending=10)
    for i in range(4):
        ledger.add(f"d{i}", 1.0, f"e{i}", now=100.0)
    assert ledger.seconds_until_due(100.0) == 0.0  # a full batch is waiting
    first = ledger.cut_batch(100.0)
    assert [e.event_id for e in first.events] == ["e0", "e1", "e2"]
    # The leftover event has waited since 100.0: due once the interval has passed.
    assert ledger.seconds_until_due(100.01) == pytest.approx(0.04)
    assert ledger.seconds_until_due(100.06) == 0.0
    second = ledger.cut_batch(100.06)
    assert second.batch_id > first.batch_id
    assert ledger.seconds_until_due(100.06) is None
    assert ledger.outstanding == 4 and not ledger.idle


def test_reward_ledger_settles_on_acks_and_resends_what_is_unacked() -> None:
    ledger = RewardLedger(batch_size=2, flush_interval_s=0.05, max_pending=4)
    for i in range(4):
        ledger.add(f"d{i}", 1.0, f"e{i}", now=0.0)
    assert not ledger.has_room()  # backpressure: max_pending events outstanding
    mark = ledger.request_flush()
    first, second = ledger.cut_batch(0.0), ledger.cut_batch(0.0)
    ledger.apply_ack(decisions_pb2.RewardAck(batch_id=second.batch_id, accepted=2))
    assert not ledger.settled(mark)  # the older batch is still unacked
    assert [b.batch_id for b in ledger.batches_to_resend(1.0)] == [first.batch_id]
    assert ledger.resent_batches == 1
    rejected = decisions_pb2.RewardRejection(
        index=1, code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message="bad decision id"
    )
    ack = decisions_pb2.RewardAck(
        batch_id=first.batch_id, accepted=0, duplicates=1, rejected=[rejected]
    )
    assert ledger.apply_ack(ack) == [("d1", "e1", "INVALID_ARGUMENT", "bad decision id")]
    # An ack for a batch already settled (a late resend's) counts nothing twice.
    assert ledger.apply_ack(ack) == []
    assert ledger.settled(mark) and ledger.idle and ledger.has_room()
    assert (ledger.accepted, ledger.duplicates, ledger.rejected) == (2, 1, 1)
    assert list(ledger.last_rejections) == [("d1", "e1", "INVALID_ARGUMENT", "bad decision id")]


def test_decide_batch_and_rewards_refuse_impossible_arguments_before_calling() -> None:
    with BanditClient(closed_target()) as bandit:
        with pytest.raises(ValueError, match="count=N or unit_ids"):
            bandit.decide_batch("checkout")
        with pytest.raises(ValueError, match="count must be 1 to 10000"):
            bandit.decide_batch("checkout", 0)
        with pytest.raises(ValueError, match="fallback"):
            bandit.report_reward("", 1.0)


def test_policy_config_refuses_a_parameter_of_another_policy() -> None:
    config = policy_config("epsilon-greedy", epsilon=0.2)
    assert config.policy == common_pb2.POLICY_EPSILON_GREEDY
    assert config.epsilon_greedy.epsilon == pytest.approx(0.2)
    with pytest.raises(ValueError, match="epsilon does not apply to policy thompson"):
        policy_config("thompson", epsilon=0.2)
    with pytest.raises(ValueError, match="unknown policy"):
        policy_config("softmax")


def test_unreachable_service_raises_without_fallback() -> None:
    with BanditClient(closed_target(), timeout_s=2.0) as bandit:
        with pytest.raises(ServiceUnreachable) as caught:
            bandit.decide("checkout")
        assert isinstance(caught.value, Unavailable | DeadlineExceeded)
        assert bandit.fallback_count == 0


def test_fallback_to_the_configured_default_arm_is_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    arms = {"checkout": ("a", "a-v1"), "search": ("s", "s-v2")}
    with (
        caplog.at_level(logging.WARNING, logger="banditd_client"),
        BanditClient(
            closed_target(), timeout_s=2.0, fallback_to_default=True, fallback_arms=arms
        ) as bandit,
    ):
        decisions = [bandit.decide("checkout") for _ in range(3)] + [bandit.decide("search")]
        assert decisions[0] == Decision(
            experiment="checkout",
            arm="a",
            version="a-v1",
            decision_id="",
            propensity=1.0,
            policy="fixed",
            paused=False,
            epoch=0,
            fallback=True,
        )
        assert decisions[3].arm == "s" and decisions[3].fallback
        assert bandit.fallback_count == 4
        assert bandit.fallbacks_by_experiment == {"checkout": 3, "search": 1}
        # Without a known default arm there is nothing to fall back to.
        with pytest.raises(ServiceUnreachable, match="no default arm is known"):
            bandit.decide("unknown")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per experiment, not one per call


def test_async_fallback_to_the_configured_default_arm() -> None:
    async def scenario() -> None:
        async with AsyncBanditClient(
            closed_target(), timeout_s=2.0, fallback_to_default=True, fallback_arms={"x": ("a", "")}
        ) as bandit:
            decision = await bandit.decide("x")
            assert (decision.arm, decision.fallback, decision.decision_id) == ("a", True, "")
            assert bandit.fallback_count == 1
        async with AsyncBanditClient(closed_target(), timeout_s=2.0) as bandit:
            with pytest.raises(ServiceUnreachable):
                await bandit.decide("x")

    asyncio.run(scenario())


# -- rollouts, no server needed: shadows, guardrail outcomes, admin requests --------------


def test_reward_events_carry_only_the_outcomes_given() -> None:
    # The server tells "no reward" from "reward 0" by presence, so an absent reward stays unset.
    outcome_only = report_reward_request("d", None, "e", error=True, latency_ms=12.5).event
    assert not outcome_only.HasField("reward")
    assert outcome_only.HasField("error") and outcome_only.error is True
    assert outcome_only.latency_ms == 12.5
    zero = report_reward_request("d", 0.0, "e").event
    assert zero.HasField("reward") and zero.reward == 0.0
    assert not zero.HasField("error") and not zero.HasField("latency_ms")
    no_error = report_reward_request("d", None, None, error=False).event
    assert no_error.HasField("error") and no_error.error is False
    assert no_error.event_id  # a fresh one when the caller names none
    both = report_reward_request("d", 1.0, "e", latency_ms=0.0).event
    assert (both.reward, both.latency_ms, both.HasField("latency_ms")) == (1.0, 0.0, True)


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ({}, "at least one of reward, error or latency_ms"),
        ({"latency_ms": -1.0}, "latency_ms must be a finite number >= 0"),
        ({"latency_ms": math.nan}, "latency_ms must be a finite number >= 0"),
        ({"latency_ms": math.inf, "reward": 1.0}, "latency_ms must be a finite number >= 0"),
    ],
)
def test_reward_events_are_checked_before_anything_is_sent(
    outcome: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        report_reward_request("d", outcome.pop("reward", None), "e", **outcome)
    # Nothing listens at the target: a ValueError, not a ServiceUnreachable, proves no call.
    with BanditClient(closed_target(), timeout_s=2.0) as bandit:
        with pytest.raises(ValueError, match=message):
            bandit.report_reward("d", **outcome)
        with bandit.reward_reporter() as reporter:
            with pytest.raises(ValueError, match=message):
                reporter.report("d", **outcome)
            assert reporter.outstanding == 0

    async def scenario() -> None:
        async with AsyncBanditClient(closed_target(), timeout_s=2.0) as bandit:
            with pytest.raises(ValueError, match=message):
                await bandit.report_reward("d", **outcome)
            async with bandit.reward_reporter() as reporter:
                with pytest.raises(ValueError, match=message):
                    await reporter.report("d", **outcome)
                assert reporter.outstanding == 0

    asyncio.run(scenario())


def test_reporters_keep_their_positional_calls() -> None:
    for report in (RewardReporter.report, AsyncRewardReporter.report):
        signature = inspect.signature(report)
        bound = signature.bind(None, "d", 1.0, "x")
        assert (bound.arguments["reward"], bound.arguments["event_id"]) == (1.0, "x")
        bound = signature.bind(None, "d", 1.0, event_id="x")
        assert bound.arguments["event_id"] == "x"
        signature.bind(None, "d", error=True, latency_ms=3.0)
        with pytest.raises(TypeError):  # outcomes are keyword-only
            signature.bind(None, "d", 1.0, "x", True)


def test_reward_ledger_batches_guardrail_outcomes_with_presence() -> None:
    ledger = RewardLedger(batch_size=10, flush_interval_s=0.05, max_pending=10)
    ledger.add("d0", 1.0, "e0", 0.0)
    ledger.add("d1", None, "e1", 0.0, True, 250.0)
    ledger.add("d2", 0.0, "e2", 0.0, error=False)
    first, second, third = ledger.cut_batch(0.0).events
    assert first.HasField("reward") and not first.HasField("error")
    assert not first.HasField("latency_ms")
    assert not second.HasField("reward")
    assert (second.error, second.latency_ms) == (True, 250.0)
    assert third.HasField("reward") and third.HasField("error") and not third.error


def test_decide_responses_carry_the_shadow_arms_to_mirror() -> None:
    response = decisions_pb2.DecideResponse(
        arm="a",
        version="a-v1",
        decision_id="d",
        propensity=0.5,
        policy=common_pb2.POLICY_THOMPSON,
        epoch=3,
        shadows=[decisions_pb2.ShadowDecision(arm="s", version="s-v1", decision_id="ds")],
    )
    decision = decision_from_response("checkout", response)
    assert decision.shadows == (ShadowDecision("s", "s-v1", "ds"),)
    assert decision_from_response("checkout", decisions_pb2.DecideResponse()).shadows == ()

    batch = decisions_pb2.DecideBatchResponse(
        arms=[decisions_pb2.BatchArm(name="a", version="a-v1", propensity=1.0)],
        choices=[0, 0],
        decision_ids=["d0", "d1"],
        policy=common_pb2.POLICY_FIXED,
        shadow_arms=[
            decisions_pb2.BatchArm(name="s", version="s-v1"),
            decisions_pb2.BatchArm(name="t", version="t-v1"),
        ],
        # Decision i, shadow arm j is at i * len(shadow_arms) + j.
        shadow_decision_ids=["d0-s", "d0-t", "d1-s", "d1-t"],
    )
    first, second = decisions_from_batch("checkout", batch)
    assert first.shadows == (
        ShadowDecision("s", "s-v1", "d0-s"),
        ShadowDecision("t", "t-v1", "d0-t"),
    )
    assert [s.decision_id for s in second.shadows] == ["d1-s", "d1-t"]
    assert first.decision_id == "d0" and first.arm == "a"

    del batch.shadow_decision_ids[-1]
    with pytest.raises(ValueError, match="3 shadow decision ids"):
        decisions_from_batch("checkout", batch)


def test_policy_config_builds_gaussian_thompson() -> None:
    config = policy_config("gaussian-thompson", prior_mean=0.4, prior_sd=0.2)
    assert config.policy == common_pb2.POLICY_GAUSSIAN_THOMPSON
    assert config.WhichOneof("params") == "gaussian_thompson"
    assert config.gaussian_thompson.prior_mean == pytest.approx(0.4)
    assert config.gaussian_thompson.prior_sd == pytest.approx(0.2)
    bare = policy_config("gaussian_thompson")
    assert bare.WhichOneof("params") is None  # the server's defaults
    with pytest.raises(ValueError, match="prior_alpha does not apply to policy gaussian_thompson"):
        policy_config("gaussian_thompson", prior_alpha=2.0)
    with pytest.raises(ValueError, match="prior_mean does not apply to policy thompson"):
        policy_config("thompson", prior_mean=0.5)


def test_guardrail_builders_fill_one_kind_each() -> None:
    errors = error_rate_guardrail("errors", 0.01, control_arm="v1", min_samples=300, level=0.9)
    assert errors.WhichOneof("kind") == "error_rate"
    assert (errors.name, errors.min_samples, errors.level) == ("errors", 300, 0.9)
    assert (errors.error_rate.max_increase, errors.error_rate.control_arm) == (0.01, "v1")
    latency = latency_guardrail("slow", 250.0, quantile=0.99)
    assert latency.WhichOneof("kind") == "latency"
    assert (latency.latency.ceiling_ms, latency.latency.quantile) == (250.0, 0.99)
    # Zeros ask for the server's defaults (200 samples, level 0.95, p95, the default arm).
    assert (latency.min_samples, latency.level) == (0, 0.0)
    assert latency_guardrail("p95", 100.0).latency.quantile == 0.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: error_rate_guardrail("", 0.01), "needs a name"),
        (lambda: error_rate_guardrail("e", -0.01), "max_increase"),
        (lambda: error_rate_guardrail("e", math.nan), "max_increase"),
        (lambda: error_rate_guardrail("e", 0.01, level=1.0), "level"),
        (lambda: error_rate_guardrail("e", 0.01, min_samples=-1), "min_samples"),
        (lambda: latency_guardrail("l", 0.0), "ceiling_ms"),
        (lambda: latency_guardrail("l", math.inf), "ceiling_ms"),
        (lambda: latency_guardrail("l", 100.0, quantile=1.0), "quantile"),
        (lambda: arm_limits(cap=1.5), "cap is a share of traffic"),
        (lambda: arm_limits(floor=-0.1), "floor is a share of traffic"),
        (lambda: arm_limits(cap_until_rewards=100), "needs cap"),
        (lambda: arm_limits(ramp_steps=(0.1, 2.0)), "ramp step 2"),
        (lambda: arm_limits(ramp_min_decisions=10), "give ramp_steps"),
        (lambda: arm_limits(ramp_steps=(0.1,), ramp_min_seconds=-1.0), "ramp_min_seconds"),
        (lambda: promotion_rule(prob_best=0.4), r"prob_best must be within \[0.5, 1\)"),
        (lambda: promotion_rule(prob_best=1.0), "prob_best"),
        (lambda: promotion_rule(prob_best=math.nan), "prob_best"),
        (lambda: promotion_rule(max_expected_loss=-0.01), r"max_expected_loss .* \(0, 1\]"),
        (lambda: promotion_rule(max_expected_loss=1.5), "max_expected_loss"),
        (lambda: promotion_rule(min_samples=-1), "min_samples"),
        (lambda: promotion_rule(min_samples=10**10), "min_samples must be at most"),
        (lambda: reward_timing(reward_wait_s=-1.0), "reward_wait_s"),
        (lambda: reward_timing(window_s=math.inf), "window_s"),
        (lambda: reward_timing(default_reward=math.nan), "default_reward"),
        (lambda: segmentation("", min_samples=100), "give the attribute"),
        (lambda: segmentation("region", max_values=-1), "max_values"),
        (lambda: segmentation("region", min_samples=1.5), "min_samples"),  # type: ignore[arg-type]
    ],
)
def test_admin_builders_refuse_impossible_values(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_arm_limits_sets_only_what_is_given() -> None:
    empty = arm_limits()
    assert empty == admin_pb2.ArmLimits()
    capped = arm_limits(cap=0.05, cap_until_rewards=1000)
    assert capped.HasField("cap") and not capped.HasField("floor")
    assert (capped.cap, capped.cap_until_rewards) == (0.05, 1000)
    assert not capped.HasField("ramp")
    # A cap of 0 is a cap, not "no cap": presence carries it.
    assert arm_limits(cap=0.0).HasField("cap")
    ramp = arm_limits(ramp_steps=[0.05, 0.25, 0.5], ramp_min_decisions=500, ramp_min_seconds=60)
    assert list(ramp.ramp.steps) == [0.05, 0.25, 0.5]
    assert (ramp.ramp.min_decisions_per_step, ramp.ramp.min_seconds_per_step) == (500, 60.0)


def test_promotion_timing_and_segmentation_builders_leave_zeros_to_the_server() -> None:
    # Zeros ask for the server's defaults: P(best) 0.95, expected loss 1%, 1000 samples.
    assert promotion_rule() == admin_pb2.PromotionRule()
    rule = promotion_rule(prob_best=0.9, max_expected_loss=0.02, min_samples=500, auto_promote=True)
    assert (rule.prob_best, rule.max_expected_loss, rule.min_samples, rule.auto_promote) == (
        0.9,
        0.02,
        500,
        True,
    )
    assert promotion_rule(prob_best=0.5).prob_best == 0.5  # the edges the server accepts
    assert promotion_rule(max_expected_loss=1.0).max_expected_loss == 1.0

    # default_reward travels by presence: unset and 0 are different things.
    unset = reward_timing(reward_wait_s=86_400.0, window_s=3_600.0)
    assert (unset.reward_wait_s, unset.window_s) == (86_400.0, 3_600.0)
    assert not unset.HasField("default_reward")
    zero = reward_timing(default_reward=0.0)
    assert zero.HasField("default_reward") and zero.default_reward == 0.0
    assert reward_timing(reward_wait_s=60, default_reward=2).default_reward == 2.0

    assert segmentation() == admin_pb2.Segmentation()  # off
    on = segmentation("region", min_samples=100, max_values=8)
    assert (on.attribute, on.min_samples, on.max_values) == ("region", 100, 8)

    errors = error_rate_guardrail("vip-errors", 0.01, segment="vip")
    slow = latency_guardrail("vip-slow", 200.0, segment="vip")
    assert (errors.segment, slow.segment) == ("vip", "vip")
    assert error_rate_guardrail("errors", 0.01).segment == ""
    with pytest.raises(TypeError, match="segment must be a string"):
        error_rate_guardrail("e", 0.01, segment=None)  # type: ignore[arg-type]


def test_admin_calls_name_the_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "carol")
    monkeypatch.setattr(socket, "gethostname", lambda: "build-7")
    assert default_actor() == "carol@build-7"
    with AdminClient(closed_target(), token="t") as admin:
        assert admin.actor == "carol@build-7"
    with AdminClient(closed_target(), actor="deploy-bot") as admin:
        assert admin.actor == "deploy-bot"
    assert admin_metadata("t", "bob@host") == (
        ("authorization", "Bearer t"),
        ("x-banditd-actor", "bob@host"),
    )
    assert admin_metadata(None, "") == ()
    with pytest.raises(ValueError, match="printable ASCII"):
        AdminClient(closed_target(), actor="jörg")
    # A login or host name that cannot travel in a header is made printable, not refused.
    monkeypatch.setattr(getpass, "getuser", lambda: "jörg")
    assert default_actor() == "j?rg@build-7"


class RecordingAdmin:
    """A real gRPC server offering banditd's Admin service that records every call (name,
    request, metadata) and answers with a canned reply (a message, or a function of the
    request), so that the requests the client builds are checked over the wire."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, str]]] = []
        self.replies: dict[str, Any] = {}
        handlers = {}
        for method in admin_pb2.DESCRIPTOR.services_by_name["Admin"].methods:
            request_class = getattr(admin_pb2, method.input_type.name)
            response_class = getattr(admin_pb2, method.output_type.name)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                self._handler(method.name, response_class),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("banditd.v1.Admin", handlers),)
        )
        self.target = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def _handler(self, name: str, response_class: Any) -> Callable[[Any, Any], Any]:
        def handle(request: Any, context: Any) -> Any:
            self.calls.append((name, request, dict(context.invocation_metadata())))
            reply = self.replies.get(name)
            if callable(reply):
                reply = reply(request)
            return reply if reply is not None else response_class()

        return handle

    def last(self, name: str) -> tuple[Any, dict[str, str]]:
        """The request and metadata of the latest call of `name`."""
        for called, request, metadata in reversed(self.calls):
            if called == name:
                return request, metadata
        raise AssertionError(f"no {name} call; calls: {[c[0] for c in self.calls]}")

    def stop(self) -> None:
        self._server.stop(None)


@pytest.fixture
def recording_admin() -> Iterator[RecordingAdmin]:
    admin = RecordingAdmin()
    yield admin
    admin.stop()


def test_admin_client_builds_the_rollout_requests(recording_admin: RecordingAdmin) -> None:
    recorder = recording_admin
    recorder.replies["GetHistory"] = admin_pb2.History(
        entries=[admin_pb2.HistoryEntry(action="add_arm", actor=ACTOR, arm="s", epoch=2)]
    )
    with AdminClient(recorder.target, token="secret", actor=ACTOR) as admin:
        errors = error_rate_guardrail("errors", 0.02)
        admin.create_experiment("x", ["a", "b"], policy="gaussian_thompson", guardrails=[errors])
        admin.add_arm("x", "s", "s-v1", shadow=True)
        admin.add_arm("x", "c", "c-v1", weight=2.0, limits=arm_limits(cap=0.1, floor=0.01))
        admin.set_arm_limits("x", "c", ramp_steps=(0.05, 0.5), ramp_min_seconds=30.0)
        admin.set_arm_limits("x", "b")
        admin.switch_arm("x", "b")
        admin.readmit_arm("x", "c")
        admin.set_guardrails("x", [latency_guardrail("slow", 300.0)])
        entries = admin.history("x", limit=5)
        with pytest.raises(ValueError, match="limit must be 1 to 10000"):
            admin.history("x", limit=0)

    # Every admin call carries the token and who acted.
    for name, _, metadata in recorder.calls:
        assert metadata["x-banditd-actor"] == ACTOR, name
        assert metadata["authorization"] == "Bearer secret", name

    create, _ = recorder.last("CreateExperiment")
    assert create.policy.policy == common_pb2.POLICY_GAUSSIAN_THOMPSON
    assert list(create.guardrails) == [errors]
    shadow, plain = [r for n, r, _ in recorder.calls if n == "AddArm"]
    assert (shadow.arm.name, shadow.arm.version, shadow.arm.shadow) == ("s", "s-v1", True)
    assert not shadow.arm.HasField("limits")
    assert (plain.arm.shadow, plain.weight) == (False, 2.0)
    assert (plain.arm.limits.cap, plain.arm.limits.floor) == (0.1, 0.01)
    ramp, cleared = [r for n, r, _ in recorder.calls if n == "SetArmLimits"]
    assert (ramp.experiment, ramp.arm) == ("x", "c")
    assert list(ramp.limits.ramp.steps) == [0.05, 0.5]
    assert ramp.limits.ramp.min_seconds_per_step == 30.0
    assert not ramp.limits.HasField("cap") and not ramp.limits.HasField("floor")
    assert (cleared.arm, cleared.HasField("limits")) == ("b", False)
    assert recorder.last("SwitchArm")[0] == admin_pb2.ArmRef(experiment="x", arm="b")
    assert recorder.last("ReadmitArm")[0] == admin_pb2.ArmRef(experiment="x", arm="c")
    guardrails, _ = recorder.last("SetGuardrails")
    assert [g.name for g in guardrails.guardrails] == ["slow"]
    assert recorder.last("GetHistory")[0] == admin_pb2.GetHistoryRequest(experiment="x", limit=5)
    assert [(e.action, e.actor) for e in entries] == [("add_arm", ACTOR)]


def test_admin_client_builds_promotion_timing_and_segment_requests(
    recording_admin: RecordingAdmin,
) -> None:
    recorder = recording_admin
    with AdminClient(recorder.target, token="secret", actor=ACTOR) as admin:
        admin.create_experiment("plain", ["a", "b"])
        admin.create_experiment(
            "full",
            ["a", "b"],
            promotion=promotion_rule(prob_best=0.9, auto_promote=True),
            timing=reward_timing(reward_wait_s=600.0, default_reward=0.0),
            segmentation=segmentation("region", min_samples=100),
        )
        admin.create_experiment("by-name", ["a", "b"], segmentation="tier")
        admin.set_promotion_rule("x", max_expected_loss=0.005, min_samples=2000)
        admin.set_promotion_rule("x")
        admin.set_reward_timing("x", reward_wait_s=86_400.0, window_s=604_800.0)
        admin.set_reward_timing("x", default_reward=1.0)
        admin.set_segmentation("x", "region", max_values=16)
        admin.set_segmentation("x")
        admin.status("x")
        admin.status("x", segment="eu")
        with pytest.raises(ValueError, match="prob_best"):
            admin.set_promotion_rule("x", prob_best=0.3)
        with pytest.raises(ValueError, match="window_s"):
            admin.set_reward_timing("x", window_s=-60.0)

    for name, _, metadata in recorder.calls:
        assert metadata["x-banditd-actor"] == ACTOR, name
        assert metadata["authorization"] == "Bearer secret", name
    # The refused values never left the client.
    assert [n for n, _, _ in recorder.calls].count("SetPromotionRule") == 2
    assert [n for n, _, _ in recorder.calls].count("SetRewardTiming") == 2

    plain, full, by_name = [r for n, r, _ in recorder.calls if n == "CreateExperiment"]
    assert not any(plain.HasField(f) for f in ("promotion", "timing", "segmentation"))
    assert (full.promotion.prob_best, full.promotion.auto_promote) == (0.9, True)
    assert (full.promotion.max_expected_loss, full.promotion.min_samples) == (0.0, 0)
    assert full.timing.reward_wait_s == 600.0
    assert full.timing.HasField("default_reward") and full.timing.default_reward == 0.0
    assert (full.segmentation.attribute, full.segmentation.min_samples) == ("region", 100)
    assert by_name.segmentation == admin_pb2.Segmentation(attribute="tier")

    rule, defaults = [r for n, r, _ in recorder.calls if n == "SetPromotionRule"]
    assert rule == admin_pb2.SetPromotionRuleRequest(
        experiment="x",
        promotion=admin_pb2.PromotionRule(max_expected_loss=0.005, min_samples=2000),
    )
    assert defaults.promotion == admin_pb2.PromotionRule()
    waits, default = [r for n, r, _ in recorder.calls if n == "SetRewardTiming"]
    assert (waits.timing.reward_wait_s, waits.timing.window_s) == (86_400.0, 604_800.0)
    assert not waits.timing.HasField("default_reward")
    assert default.timing.HasField("default_reward") and default.timing.default_reward == 1.0
    on, off = [r for n, r, _ in recorder.calls if n == "SetSegmentation"]
    assert on == admin_pb2.SetSegmentationRequest(
        experiment="x", segmentation=admin_pb2.Segmentation(attribute="region", max_values=16)
    )
    assert (off.experiment, off.segmentation.attribute) == ("x", "")
    every, one = [r for n, r, _ in recorder.calls if n == "GetStatus"]
    assert every == admin_pb2.GetStatusRequest(experiment="x")
    assert one == admin_pb2.GetStatusRequest(experiment="x", segment="eu")


# -- against a real server ---------------------------------------------------------------


def test_decide_returns_a_live_arm_and_a_decision_id(client: BanditClient, experiment: str) -> None:
    decision = client.decide(experiment, unit_id="user-1", attributes={"region": "eu"})
    assert decision.experiment == experiment
    assert decision.arm in {"a", "b", "c"}
    assert decision.version == f"{decision.arm}-v1"
    assert decision.decision_id
    assert 0.0 < decision.propensity <= 1.0
    assert decision.policy == "thompson"
    assert not decision.paused and not decision.fallback
    assert decision.epoch >= 1


def test_decide_batch_returns_valid_arms_and_distinct_decision_ids(
    client: BanditClient, experiment: str
) -> None:
    decisions = client.decide_batch(experiment, 200)
    assert len(decisions) == 200
    assert {d.arm for d in decisions} <= {"a", "b", "c"}
    assert all(d.version == f"{d.arm}-v1" for d in decisions)
    assert len({d.decision_id for d in decisions}) == 200
    by_unit = client.decide_batch(experiment, unit_ids=["u1", "u2", "u3"])
    assert len(by_unit) == 3
    assert len({d.decision_id for d in decisions + by_unit}) == 203


def test_unknown_experiment_raises_not_found(client: BanditClient) -> None:
    with pytest.raises(NotFound):
        client.decide("no-such-experiment")


def test_report_reward_is_accepted_then_a_duplicate(client: BanditClient, experiment: str) -> None:
    decision = client.decide(experiment)
    assert client.report_reward(decision.decision_id, 1.0, event_id="click") is False
    assert client.report_reward(decision.decision_id, 1.0, event_id="click") is True
    # A different event for a decision that already earned its reward is refused, not added.
    with pytest.raises(AlreadyExists, match="one reward"):
        client.report_reward(decision.decision_id, 0.0)


def test_reward_reporter_delivers_every_event_once(
    server: Any, client: BanditClient, experiment: str
) -> None:
    decisions = client.decide_batch(experiment, 1000)
    with client.reward_reporter(batch_size=64) as reporter:
        for i, decision in enumerate(decisions):
            reporter.report(decision.decision_id, float(i % 2), event_id="conversion")
        assert reporter.flush(timeout_s=30)
        assert reporter.accepted == 1000
        assert reporter.duplicates == reporter.rejected == 0
        # Reporting the same events again changes nothing.
        for decision in decisions[:100]:
            reporter.report(decision.decision_id, 1.0, event_id="conversion")
        assert reporter.flush(timeout_s=30)
        assert (reporter.accepted, reporter.duplicates) == (1000, 100)
    assert rewards_recorded(server.target, server.admin_token, experiment) == 1000


def test_reward_reporter_counts_rejected_events_and_keeps_going(
    client: BanditClient, experiment: str
) -> None:
    good = client.decide(experiment)
    with client.reward_reporter() as reporter:
        reporter.report("not-a-decision-id", 1.0, event_id="e1")
        reporter.report(good.decision_id, 1.0, event_id="e1")
        assert reporter.flush(timeout_s=30)
        assert (reporter.accepted, reporter.rejected) == (1, 1)
        rejection = reporter.last_rejections[0]
        assert (rejection.decision_id, rejection.event_id) == ("not-a-decision-id", "e1")
        assert rejection.code in {c.name for c in grpc.StatusCode}


def test_reward_reporter_resends_unacked_batches_to_a_restarted_server(
    start_server: Any,
) -> None:
    port = free_port()
    first = start_server(listen=f"127.0.0.1:{port}")
    token = first.admin_token
    experiment = new_experiment(first.target, token)
    with BanditClient(first.target, timeout_s=5.0) as bandit:
        decisions = bandit.decide_batch(experiment, 400)
        reporter = bandit.reward_reporter(batch_size=25, flush_interval_s=0.02)
        for decision in decisions[:200]:
            reporter.report(decision.decision_id, 1.0, event_id="e")
        assert reporter.flush(timeout_s=30)

        first.stop()
        for decision in decisions[200:]:
            reporter.report(decision.decision_id, 1.0, event_id="e")
        # Nothing can be acknowledged while no server runs; the reporter keeps retrying.
        assert not reporter.flush(timeout_s=1.5)

        second = start_server(listen=f"127.0.0.1:{port}")
        assert reporter.flush(timeout_s=60)
        assert reporter.close(timeout_s=10)
    assert reporter.resent_batches >= 1
    assert reporter.rejected == 0
    # Every event was acknowledged exactly once, whichever server recorded it.
    assert reporter.accepted + reporter.duplicates == 400
    assert rewards_recorded(second.target, token, experiment) == 400


def test_fallback_uses_the_default_arm_learned_from_the_last_response(
    start_server: Any,
) -> None:
    replica = start_server()
    experiment = new_experiment(replica.target, replica.admin_token)
    with BanditClient(replica.target, timeout_s=2.0, fallback_to_default=True) as bandit:
        assert not bandit.decide(experiment).fallback
        replica.stop()
        decision = bandit.decide(experiment)
        # The experiment's default arm is its first arm.
        assert (decision.arm, decision.version, decision.fallback) == ("a", "a-v1", True)
        assert bandit.fallbacks_by_experiment == {experiment: 1}


def test_admin_calls_need_the_token(server: Any) -> None:
    with AdminClient(server.target) as admin, pytest.raises(Unauthenticated):
        admin.list_experiments()


def test_admin_client_manages_arms_and_policy(server: Any, experiment: str) -> None:
    with AdminClient(server.target, token=server.admin_token) as admin:
        assert admin.get_experiment(experiment).name == experiment
        assert experiment in {e.name for e in admin.list_experiments()}
        admin.add_arm(experiment, "d", "d-v1")
        retired = admin.retire_arm(experiment, "b")
        states = {arm.name: arm.state for arm in retired.arms}
        assert states["b"] == admin_pb2.ARM_STATE_RETIRED
        assert states["d"] == admin_pb2.ARM_STATE_LIVE
        updated = admin.set_policy(experiment, policy_config("ucb1", exploration=2.0))
        assert updated.policy.policy == common_pb2.POLICY_UCB1
        assert admin.set_default_arm(experiment, "c").default_arm == "c"
        assert admin.pause(experiment).paused
        with BanditClient(server.target, timeout_s=5.0) as bandit:
            # Paused: every request gets the default arm, within a refresh interval.
            deadline = time.monotonic() + 5
            while not (decision := bandit.decide(experiment)).paused:
                assert time.monotonic() < deadline, "pause did not reach the data plane"
                time.sleep(0.05)
            assert decision.arm == "c"
        assert not admin.resume(experiment).paused
        first = admin.import_outcomes(
            experiment, "a", pulls=100, rewards=30, reward_sum=30.0, import_id="hist-1"
        )
        again = admin.import_outcomes(
            experiment, "a", pulls=100, rewards=30, reward_sum=30.0, import_id="hist-1"
        )
        assert (first.duplicate, again.duplicate) == (False, True)
        pulls = {arm.name: arm.pulls for arm in admin.status(experiment).arms}
        assert pulls["a"] >= 100


def test_async_client_decides_and_reports(server: Any, experiment: str) -> None:
    async def scenario() -> None:
        async with AsyncBanditClient(server.target, timeout_s=5.0) as bandit:
            decision = await bandit.decide(experiment, unit_id="u")
            assert decision.arm in {"a", "b", "c"} and decision.decision_id
            batch = await bandit.decide_batch(experiment, 300)
            assert len({d.decision_id for d in batch}) == 300
            assert await bandit.report_reward(decision.decision_id, 1.0, event_id="x") is False
            assert await bandit.report_reward(decision.decision_id, 1.0, event_id="x") is True
            with pytest.raises(NotFound):
                await bandit.decide("no-such-experiment")

            async with bandit.reward_reporter(batch_size=50) as reporter:
                for d in batch:
                    await reporter.report(d.decision_id, 1.0, event_id="y")
                assert await reporter.flush(timeout_s=30)
                assert (reporter.accepted, reporter.duplicates, reporter.rejected) == (300, 0, 0)

    asyncio.run(scenario())
    assert rewards_recorded(server.target, server.admin_token, experiment) == 301


def test_async_reward_reporter_resends_to_a_restarted_server(start_server: Any) -> None:
    port = free_port()
    first = start_server(listen=f"127.0.0.1:{port}")
    token = first.admin_token
    experiment = new_experiment(first.target, token)
    servers = [first]

    async def scenario() -> tuple[int, int, int]:
        async with AsyncBanditClient(first.target, timeout_s=5.0) as bandit:
            decisions = await bandit.decide_batch(experiment, 200)
            reporter = bandit.reward_reporter(batch_size=20, flush_interval_s=0.02)
            for d in decisions[:100]:
                await reporter.report(d.decision_id, 1.0, event_id="e")
            assert await reporter.flush(timeout_s=30)
            await asyncio.to_thread(first.stop)
            for d in decisions[100:]:
                await reporter.report(d.decision_id, 1.0, event_id="e")
            assert not await reporter.flush(timeout_s=1.5)
            servers.append(await asyncio.to_thread(start_server, listen=f"127.0.0.1:{port}"))
            assert await reporter.flush(timeout_s=60)
            assert await reporter.close()
            return (
                reporter.accepted + reporter.duplicates,
                reporter.rejected,
                reporter.resent_batches,
            )

    acknowledged, rejected, resent = asyncio.run(scenario())
    assert (acknowledged, rejected) == (200, 0)
    assert resent >= 1
    assert rewards_recorded(servers[-1].target, token, experiment) == 200


# -- rollouts against a real server (need the server side of the rollout contract) ------


def eventually(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    """Polls `check` until it returns something truthy: admin changes reach the data plane
    within a refresh interval, and guardrails are judged in the background."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def arm_states(admin: AdminClient, experiment: str) -> dict[str, int]:
    return {arm.name: arm.state for arm in admin.status(experiment).arms}


def test_decide_names_the_shadow_arms_to_mirror_and_never_serves_them(
    server: Any, client: BanditClient
) -> None:
    experiment = new_experiment(server.target, server.admin_token, arms=("a", "b"))
    with AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin:
        added = admin.add_arm(experiment, "s", "s-v1", shadow=True)
        assert {a.name: a.state for a in added.arms}["s"] == admin_pb2.ARM_STATE_SHADOW
        decision = eventually(
            lambda: (d := client.decide(experiment)).shadows and d, "the shadow arm to be named"
        )
        assert decision.arm in {"a", "b"}
        (shadow,) = decision.shadows
        assert (shadow.arm, shadow.version) == ("s", "s-v1")
        assert shadow.decision_id and shadow.decision_id != decision.decision_id

        decisions = client.decide_batch(experiment, 300)
        assert {d.arm for d in decisions} <= {"a", "b"}  # mirrored, never served
        assert all([s.arm for s in d.shadows] == ["s"] for d in decisions)
        shadow_ids = {d.shadows[0].decision_id for d in decisions}
        assert len(shadow_ids) == 300 and not shadow_ids & {d.decision_id for d in decisions}

        # The shadow's outcomes are reported against its own decision ids.
        assert client.report_reward(shadow.decision_id, 1.0, latency_ms=40.0) is False
        server.engine.flush()
        arms = {arm.name: arm for arm in admin.status(experiment).arms}
        assert arms["s"].state == admin_pb2.ARM_STATE_SHADOW
        assert arms["s"].rewards == 1 and arms["s"].observations == 1
        assert arms["a"].pulls + arms["b"].pulls >= 301


def test_guardrail_outcomes_are_recorded_apart_from_rewards(
    server: Any, client: BanditClient, experiment: str
) -> None:
    d0, d1, d2, d3, *rest = client.decide_batch(experiment, 104)
    assert client.report_reward(d0.decision_id, error=True, latency_ms=30.0) is False
    assert client.report_reward(d1.decision_id, latency_ms=10.0, event_id="lat") is False
    assert client.report_reward(d1.decision_id, latency_ms=10.0, event_id="lat") is True
    assert client.report_reward(d2.decision_id, 1.0, error=False, latency_ms=20.0) is False
    # The reward and the guardrail observation of one decision may come separately.
    assert client.report_reward(d3.decision_id, error=False, event_id="served") is False
    assert client.report_reward(d3.decision_id, 1.0, event_id="converted") is False
    with client.reward_reporter(batch_size=25) as reporter:
        for i, decision in enumerate(rest):  # 100 more: 10 errors, every one with a latency
            reporter.report(decision.decision_id, error=i % 10 == 0, latency_ms=5.0 + i)
        assert reporter.flush(timeout_s=30)
        assert (reporter.accepted, reporter.rejected) == (100, 0)

    with AdminClient(server.target, token=server.admin_token) as admin:
        arms = admin.status(experiment).arms
    assert sum(arm.rewards for arm in arms) == 2  # d2 and d3; outcomes alone are no rewards
    assert sum(arm.observations for arm in arms) == 104
    assert sum(arm.errors for arm in arms) == 11
    assert max(arm.latency_p95_ms for arm in arms) > 0


def test_admin_client_limits_switch_guardrails_and_history(server: Any) -> None:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with (
        AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin,
        BanditClient(server.target, timeout_s=5.0) as bandit,
    ):
        created = admin.create_experiment(
            name, [("a", "a-v1"), ("b", "b-v1")], guardrails=[error_rate_guardrail("errors", 0.02)]
        )
        assert [g.name for g in created.guardrails] == ["errors"]
        assert created.guardrails[0].error_rate.max_increase == pytest.approx(0.02)

        added = admin.add_arm(name, "c", "c-v1", limits=arm_limits(cap=0.1))
        limits = {a.name: a.limits for a in added.arms}["c"]
        assert limits.HasField("cap") and limits.cap == pytest.approx(0.1)

        ramped = admin.set_arm_limits(name, "c", ramp_steps=(0.05, 0.5), ramp_min_decisions=10**6)
        ramp = {a.name: a.limits for a in ramped.arms}["c"].ramp
        assert list(ramp.steps) == pytest.approx([0.05, 0.5]) and ramp.step == 0
        # The first step pins the arm's share at 5%.
        status = {a.name: a for a in admin.status(name).arms}["c"]
        assert status.cap == pytest.approx(0.05) and status.floor == pytest.approx(0.05)
        cleared = admin.set_arm_limits(name, "c")
        c_limits = {a.name: a.limits for a in cleared.arms}["c"]
        assert not (c_limits.HasField("cap") or c_limits.HasField("floor") or c_limits.ramp.steps)

        switched = admin.switch_arm(name, "b")
        assert switched.policy.policy == common_pb2.POLICY_FIXED
        assert dict(switched.policy.fixed.weights)["b"] > 0
        assert all(w == 0 for arm, w in switched.policy.fixed.weights.items() if arm != "b")
        eventually(
            lambda: all(d.arm == "b" for d in bandit.decide_batch(name, 50)), "the switch to b"
        )

        replaced = admin.set_guardrails(name, [latency_guardrail("slow", 250.0, quantile=0.99)])
        assert [g.name for g in replaced.guardrails] == ["slow"]
        assert admin.get_experiment(name).guardrails[0].latency.ceiling_ms == 250.0

        entries = admin.history(name)
        assert len(entries) >= 6  # create, add, limits twice, switch, guardrails
        assert all(e.actor == ACTOR for e in entries)
        assert [e.epoch for e in entries] == sorted(e.epoch for e in entries)
        assert entries[-1].epoch == replaced.epoch
        assert [e.epoch for e in admin.history(name, limit=2)] == [e.epoch for e in entries[-2:]]


def test_a_breached_guardrail_rolls_an_arm_back_and_readmit_brings_it_back(server: Any) -> None:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with (
        AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin,
        BanditClient(server.target, timeout_s=5.0) as bandit,
    ):
        admin.create_experiment(
            name,
            [("ctl", "ctl-v1"), ("bad", "bad-v2")],
            policy=policy_config("fixed", weights={"ctl": 1, "bad": 1}),
            guardrails=[
                error_rate_guardrail("errors", 0.05, control_arm="ctl", min_samples=30, level=0.9)
            ],
        )
        decisions = bandit.decide_batch(name, 400)
        with bandit.reward_reporter() as reporter:
            for decision in decisions:
                reporter.report(decision.decision_id, error=decision.arm == "bad")
            assert reporter.flush(timeout_s=30)

        def rolled_back() -> Any:
            server.engine.flush()
            arm = {a.name: a for a in admin.status(name).arms}["bad"]
            return arm if arm.state == admin_pb2.ARM_STATE_ROLLED_BACK else None

        bad = eventually(rolled_back, "the guardrail to roll 'bad' back", timeout_s=20)
        assert bad.rollback.guardrail == "errors"
        assert bad.rollback.probability >= 0.9
        assert bad.rollback.samples >= 30 and bad.rollback.control_samples >= 30
        assert bad.rollback.reason
        eventually(
            lambda: all(d.arm == "ctl" for d in bandit.decide_batch(name, 100)),
            "traffic to leave the rolled-back arm",
        )
        automatic = [e for e in admin.history(name) if e.arm == "bad" and e.actor != ACTOR]
        assert automatic, "the rollback is in the history"

        # Without the guardrail nothing rolls it back again; re-admit makes it live.
        admin.set_guardrails(name, [])
        readmitted = admin.readmit_arm(name, "bad")
        arm = {a.name: a for a in readmitted.arms}["bad"]
        assert arm.state == admin_pb2.ARM_STATE_LIVE and not arm.HasField("rollback")
        assert arm_states(admin, name)["bad"] == admin_pb2.ARM_STATE_LIVE
        last = admin.history(name)[-1]
        assert (last.actor, last.arm, last.epoch) == (ACTOR, "bad", readmitted.epoch)


def test_gaussian_thompson_experiment_decides(server: Any, client: BanditClient) -> None:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with AdminClient(server.target, token=server.admin_token) as admin:
        created = admin.create_experiment(
            name,
            ["a", "b"],
            policy=policy_config("gaussian_thompson", prior_mean=0.5, prior_sd=0.3),
            reward_type="continuous",
            reward_min=0.0,
            reward_max=100.0,
        )
    assert created.policy.policy == common_pb2.POLICY_GAUSSIAN_THOMPSON
    assert created.policy.gaussian_thompson.prior_sd == pytest.approx(0.3)
    decision = client.decide(name)
    assert decision.policy == "gaussian_thompson" and decision.arm in {"a", "b"}
    assert client.report_reward(decision.decision_id, 42.0, latency_ms=3.0) is False


def test_async_client_sees_shadows_and_reports_guardrail_outcomes(server: Any) -> None:
    experiment = new_experiment(server.target, server.admin_token, arms=("a", "b"))
    with AdminClient(server.target, token=server.admin_token) as admin:
        admin.add_arm(experiment, "s", "s-v1", shadow=True)

    async def scenario() -> None:
        async with AsyncBanditClient(server.target, timeout_s=5.0) as bandit:
            deadline = time.monotonic() + 10
            while not (decision := await bandit.decide(experiment)).shadows:
                assert time.monotonic() < deadline, "the shadow arm was never named"
                await asyncio.sleep(0.05)
            assert [s.arm for s in decision.shadows] == ["s"]
            batch = await bandit.decide_batch(experiment, 20)
            assert all(len(d.shadows) == 1 for d in batch)
            assert await bandit.report_reward(decision.decision_id, error=True) is False
            async with bandit.reward_reporter() as reporter:
                for d in batch:
                    await reporter.report(d.shadows[0].decision_id, latency_ms=12.0)
                assert await reporter.flush(timeout_s=30)
                assert (reporter.accepted, reporter.rejected) == (20, 0)

    asyncio.run(scenario())
    with AdminClient(server.target, token=server.admin_token) as admin:
        arms = {arm.name: arm for arm in admin.status(experiment).arms}
    assert arms["s"].observations == 20 and arms["s"].rewards == 0
    assert arms["a"].errors + arms["b"].errors == 1


def test_promotion_readiness_follows_the_rule_and_auto_promotion_promotes(server: Any) -> None:
    """Readiness: the status names the arm that meets the rule once every live arm has the
    samples; with auto_promote banditd promotes it itself."""
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin:
        created = admin.create_experiment(
            name, ["a", "b"], promotion=promotion_rule(min_samples=2000, prob_best=0.9)
        )
        assert (created.promotion.min_samples, created.promotion.prob_best) == (2000, 0.9)
        # What was left at 0 comes back as the server's default.
        assert created.promotion.max_expected_loss == pytest.approx(0.01)

        status = admin.status(name)
        assert status.ready_arm == "" and "waiting for samples" in status.readiness
        admin.import_outcomes(name, "a", pulls=3000, rewards=300, reward_sum=300.0, import_id="a")
        admin.import_outcomes(name, "b", pulls=3000, rewards=600, reward_sum=600.0, import_id="b")
        status = admin.status(name)
        assert status.ready_arm == "b", status.readiness
        arms = {arm.name: arm for arm in status.arms}
        assert arms["b"].promotion_ready and not arms["a"].promotion_ready
        assert arms["b"].expected_loss < 0.01 < arms["a"].expected_loss
        assert arms["a"].expected_loss == pytest.approx(0.5, abs=0.05)  # 10% vs 20%

        stricter = admin.set_promotion_rule(name, min_samples=5000)
        assert stricter.promotion.min_samples == 5000
        assert stricter.promotion.prob_best == pytest.approx(0.95)  # replaced, not merged
        assert admin.status(name).ready_arm == ""

        admin.set_promotion_rule(name, auto_promote=True)

        def promoted() -> Any:
            e = admin.get_experiment(name)
            return e if e.default_arm == "b" else None

        # auto_promote with the default 1000 samples: b is ready, banditd promotes it.
        e = eventually(promoted, "auto-promotion of b", timeout_s=20)
        states = {arm.name: arm.state for arm in e.arms}
        assert states == {"a": admin_pb2.ARM_STATE_RETIRED, "b": admin_pb2.ARM_STATE_LIVE}
        entry = next(e for e in admin.history(name) if e.action == "promote_arm")
        assert entry.arm == "b" and entry.actor != ACTOR


def test_reward_timing_and_segmentation_are_kept_in_the_config(server: Any) -> None:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin:
        created = admin.create_experiment(
            name,
            ["a", "b"],
            reward_type="continuous",
            reward_min=0.0,
            reward_max=100.0,
            timing=reward_timing(reward_wait_s=3600.0),
            segmentation="region",
        )
        assert created.timing.reward_wait_s == 3600.0
        assert not created.timing.HasField("default_reward")
        assert created.segmentation.attribute == "region"

        timed = admin.set_reward_timing(
            name, reward_wait_s=600.0, default_reward=0.0, window_s=7200
        )
        assert (timed.timing.reward_wait_s, timed.timing.window_s) == (600.0, 7200.0)
        assert timed.timing.HasField("default_reward") and timed.timing.default_reward == 0.0
        with pytest.raises(InvalidArgument, match="default_reward"):
            admin.set_reward_timing(name, reward_wait_s=600.0, default_reward=500.0)
        cleared = admin.set_reward_timing(name)
        assert cleared.timing == admin_pb2.RewardTiming()

        segmented = admin.set_segmentation(name, "tier", min_samples=50)
        assert (segmented.segmentation.attribute, segmented.segmentation.min_samples) == (
            "tier",
            50,
        )
        assert segmented.segmentation.max_values == 64  # the server's default, filled in
        guarded = admin.set_guardrails(
            name, [error_rate_guardrail("vip-errors", 0.01, segment="vip")]
        )
        assert guarded.guardrails[0].segment == "vip"
        admin.set_guardrails(name, [])  # a segment's guardrail needs the segmentation
        off = admin.set_segmentation(name)
        assert off.segmentation.attribute == ""


def test_status_of_one_segment(server: Any) -> None:
    """Needs the server side of segments: per-segment statistics and GetStatus(segment)."""
    name = f"exp-{uuid.uuid4().hex[:10]}"
    with (
        AdminClient(server.target, token=server.admin_token, actor=ACTOR) as admin,
        BanditClient(server.target, timeout_s=5.0) as bandit,
    ):
        admin.create_experiment(name, ["a", "b"], segmentation=segmentation("region"))
        bandit.decide_batch(name, 30, attributes={"region": "eu"})
        bandit.decide_batch(name, 20, attributes={"region": "us"})
        bandit.decide_batch(name, 10)  # no region: counted for the experiment only

        def segment_counted() -> Any:
            server.engine.flush()
            status = admin.status(name, segment="eu")
            return status if sum(arm.pulls for arm in status.arms) == 30 else None

        eu = eventually(segment_counted, "the eu segment's statistics")
        assert eu.segment == "eu"
        assert set(eu.segments) == {"eu", "us"}
        every = admin.status(name)
        assert every.segment == "" and set(every.segments) == {"eu", "us"}
        assert sum(arm.pulls for arm in every.arms) == 60
        with pytest.raises(NotFound):
            admin.status(name, segment="apac")
