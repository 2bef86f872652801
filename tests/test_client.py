"""The Python client (banditd_client) against a real banditd on a real Redis.

Create an experiment, decide, report rewards one by one and in batches, survive a server
restart, and fall back to the default arm when banditd cannot be reached. The first tests
need no server: error mapping, batching bookkeeping and the client's light imports.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from banditd.v1 import admin_pb2, common_pb2, decisions_pb2
from banditd_client import (
    AdminClient,
    AlreadyExists,
    AsyncBanditClient,
    BanditClient,
    BanditError,
    DeadlineExceeded,
    Decision,
    Internal,
    InvalidArgument,
    NotFound,
    ServiceUnreachable,
    Unauthenticated,
    Unavailable,
    UnexpectedStatus,
    policy_config,
)
from banditd_client._reward_batches import RewardLedger
from banditd_client._wire import decisions_from_batch
from banditd_client.errors import error_class, from_rpc_error, rpc_errors

POLICIES = {"thompson", "ucb1", "kl_ucb", "epsilon_greedy", "fixed"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_target() -> str:
    """A loopback address that nothing listens on."""
    return f"127.0.0.1:{free_port()}"


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
