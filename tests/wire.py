"""Small helpers for tests that talk to banditd with the raw generated stubs."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from banditd.v1 import admin_pb2, admin_pb2_grpc, common_pb2, decisions_pb2, decisions_pb2_grpc
from conftest import ADMIN_TOKEN

AUTH = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


@dataclass
class Stubs:
    channel: grpc.Channel
    decisions: decisions_pb2_grpc.DecisionsStub
    admin: admin_pb2_grpc.AdminStub

    def admin_call(self, method: str, request: Any) -> Any:
        return getattr(self.admin, method)(request, metadata=AUTH, timeout=10)

    def create(
        self,
        name: str,
        arms: Iterable[str] = ("a", "b"),
        policy: int = common_pb2.POLICY_THOMPSON,
        reward_type: int = admin_pb2.REWARD_TYPE_BINARY,
        **fields: Any,
    ) -> admin_pb2.Experiment:
        request = admin_pb2.CreateExperimentRequest(
            name=name,
            policy=fields.pop("policy_config", None) or admin_pb2.PolicyConfig(policy=policy),
            reward_type=reward_type,
            arms=[admin_pb2.ArmSpec(name=a, version=f"model-{a}") for a in arms],
            **fields,
        )
        return self.admin_call("CreateExperiment", request)

    def decide(self, experiment: str) -> decisions_pb2.DecideResponse:
        return self.decisions.Decide(decisions_pb2.DecideRequest(experiment=experiment), timeout=10)

    def batch(self, experiment: str, count: int) -> decisions_pb2.DecideBatchResponse:
        return self.decisions.DecideBatch(
            decisions_pb2.DecideBatchRequest(experiment=experiment, count=count), timeout=10
        )

    def reward(
        self, decision_id: str, reward: float, event_id: str = "e"
    ) -> decisions_pb2.ReportRewardResponse:
        event = decisions_pb2.RewardEvent(decision_id=decision_id, reward=reward, event_id=event_id)
        return self.decisions.ReportReward(
            decisions_pb2.ReportRewardRequest(event=event), timeout=10
        )

    def stream_rewards(
        self, batches: list[list[tuple[str, float, str]]]
    ) -> list[decisions_pb2.RewardAck]:
        def requests() -> Iterator[decisions_pb2.RewardBatch]:
            for batch_id, events in enumerate(batches):
                yield decisions_pb2.RewardBatch(
                    batch_id=batch_id,
                    events=[
                        decisions_pb2.RewardEvent(decision_id=d, reward=r, event_id=e)
                        for d, r, e in events
                    ],
                )

        return list(self.decisions.ReportRewards(requests(), timeout=30))

    def stream_outcomes(self, outcomes: list[tuple[str, bool]]) -> decisions_pb2.RewardAck:
        """Reports one guardrail outcome (the error flag) per decision, in one batch."""
        events = [
            decisions_pb2.RewardEvent(decision_id=d, event_id="outcome", error=error)
            for d, error in outcomes
        ]
        batch = decisions_pb2.RewardBatch(batch_id=1, events=events)
        (ack,) = self.decisions.ReportRewards(iter([batch]), timeout=30)
        return ack

    def status(self, experiment: str) -> admin_pb2.ExperimentStatus:
        return self.admin_call("GetStatus", admin_pb2.GetStatusRequest(experiment=experiment))

    def arm_status(self, experiment: str) -> dict[str, admin_pb2.ArmStatus]:
        return {arm.name: arm for arm in self.status(experiment).arms}

    def close(self) -> None:
        self.channel.close()


def connect(target: str) -> Stubs:
    channel = grpc.insecure_channel(target)
    return Stubs(
        channel, decisions_pb2_grpc.DecisionsStub(channel), admin_pb2_grpc.AdminStub(channel)
    )


def closed_target() -> str:
    """A loopback address where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
