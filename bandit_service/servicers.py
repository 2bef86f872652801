"""gRPC servicers: each RPC converts the request, calls the domain, converts the answer.

Errors are not handled here; guards.py maps them to status codes.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from banditd.v1 import admin_pb2, admin_pb2_grpc, decisions_pb2, decisions_pb2_grpc

from . import convert
from .admin import AdminService
from .engine import Engine
from .errors import BanditError
from .guards import status_for
from .history import clean_actor
from .rewards import DUPLICATE, RewardEvent, RewardRecorder

ACTOR_METADATA = "x-banditd-actor"


def _event(pb: decisions_pb2.RewardEvent) -> RewardEvent:
    return RewardEvent(
        pb.decision_id,
        pb.reward if pb.HasField("reward") else None,
        pb.event_id,
        pb.error if pb.HasField("error") else None,
        pb.latency_ms if pb.HasField("latency_ms") else None,
    )


def _actor(context: grpc.ServicerContext) -> str:
    """Who makes an admin change: the x-banditd-actor metadata banditctl sends, or "admin"."""
    for key, value in context.invocation_metadata() or ():
        if key == ACTOR_METADATA and isinstance(value, str):
            return clean_actor(value)
    return "admin"


class DecisionsServicer(decisions_pb2_grpc.DecisionsServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, recorder: RewardRecorder) -> None:
        self._engine = engine
        self._recorder = recorder

    def Decide(self, request: decisions_pb2.DecideRequest, context: grpc.ServicerContext) -> bytes:
        """Answers a serialized DecideResponse (registered with a pass-through serializer)."""
        unit_id, attributes = request.unit_id, request.attributes
        if unit_id or attributes:
            convert.check_unit_and_attributes([unit_id], dict(attributes))
        return convert.decide_response_bytes(
            self._engine.decide(request.experiment, unit_id, attributes)
        )

    def DecideBatch(
        self, request: decisions_pb2.DecideBatchRequest, context: grpc.ServicerContext
    ) -> decisions_pb2.DecideBatchResponse:
        count = convert.batch_size(request)
        convert.check_unit_and_attributes(list(request.unit_ids), dict(request.attributes))
        return convert.decide_batch_response(
            self._engine.decide_many(
                request.experiment, count, list(request.unit_ids), request.attributes
            )
        )

    def ReportReward(
        self, request: decisions_pb2.ReportRewardRequest, context: grpc.ServicerContext
    ) -> decisions_pb2.ReportRewardResponse:
        (outcome,) = self._recorder.record([_event(request.event)])
        if isinstance(outcome, BanditError):
            raise outcome
        return decisions_pb2.ReportRewardResponse(duplicate=outcome == DUPLICATE)

    def ReportRewards(
        self, request_iterator: Iterator[decisions_pb2.RewardBatch], context: grpc.ServicerContext
    ) -> Iterator[decisions_pb2.RewardAck]:
        for batch in request_iterator:
            outcomes = self._recorder.record([_event(e) for e in batch.events])
            ack = decisions_pb2.RewardAck(batch_id=batch.batch_id)
            for index, outcome in enumerate(outcomes):
                if outcome is None:
                    ack.accepted += 1
                elif outcome == DUPLICATE:
                    ack.duplicates += 1
                elif isinstance(outcome, BanditError):
                    ack.rejected.add(
                        index=index, code=status_for(outcome).value[0], message=outcome.message
                    )
            yield ack


class AdminServicer(admin_pb2_grpc.AdminServicer):  # type: ignore[misc]
    def __init__(self, admin: AdminService) -> None:
        self._admin = admin

    def CreateExperiment(
        self, request: admin_pb2.CreateExperimentRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        created = self._admin.create_experiment(
            convert.experiment_from_create(request), _actor(context)
        )
        return convert.experiment_to_pb(created)

    def GetExperiment(
        self, request: admin_pb2.ExperimentRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        return convert.experiment_to_pb(self._admin.get_experiment(request.experiment))

    def ListExperiments(
        self, request: admin_pb2.ListExperimentsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListExperimentsResponse:
        return admin_pb2.ListExperimentsResponse(
            experiments=[convert.experiment_to_pb(e) for e in self._admin.list_experiments()]
        )

    def AddArm(
        self, request: admin_pb2.AddArmRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        spec = request.arm
        changed = self._admin.add_arm(
            request.experiment,
            spec.name,
            spec.version,
            request.weight,
            shadow=spec.shadow,
            limits=convert.limits_from_pb(spec.limits) if spec.HasField("limits") else None,
            actor=_actor(context),
        )
        return convert.experiment_to_pb(changed)

    def RetireArm(
        self, request: admin_pb2.ArmRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.retire_arm(request.experiment, request.arm, _actor(context))
        return convert.experiment_to_pb(changed)

    def PromoteArm(
        self, request: admin_pb2.ArmRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.promote_arm(request.experiment, request.arm, _actor(context))
        return convert.experiment_to_pb(changed)

    def SetDefaultArm(
        self, request: admin_pb2.ArmRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.set_default_arm(request.experiment, request.arm, _actor(context))
        return convert.experiment_to_pb(changed)

    def SetPolicy(
        self, request: admin_pb2.SetPolicyRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.set_policy(
            request.experiment, convert.policy_from_pb(request.policy), _actor(context)
        )
        return convert.experiment_to_pb(changed)

    def PauseExperiment(
        self, request: admin_pb2.ExperimentRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        return convert.experiment_to_pb(
            self._admin.set_paused(request.experiment, True, _actor(context))
        )

    def ResumeExperiment(
        self, request: admin_pb2.ExperimentRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        return convert.experiment_to_pb(
            self._admin.set_paused(request.experiment, False, _actor(context))
        )

    def GetStatus(
        self, request: admin_pb2.GetStatusRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ExperimentStatus:
        return convert.status_to_pb(self._admin.status(request.experiment, request.segment))

    def ImportOutcomes(
        self, request: admin_pb2.ImportOutcomesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ImportOutcomesResponse:
        duplicate = self._admin.import_outcomes(
            request.experiment,
            request.arm,
            request.import_id,
            request.pulls,
            request.rewards,
            request.reward_sum,
            request.reward_sum_squares,
        )
        return admin_pb2.ImportOutcomesResponse(duplicate=duplicate)

    def SetArmLimits(
        self, request: admin_pb2.SetArmLimitsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.set_arm_limits(
            request.experiment,
            request.arm,
            convert.limits_from_pb(request.limits),
            _actor(context),
        )
        return convert.experiment_to_pb(changed)

    def SwitchArm(
        self, request: admin_pb2.ArmRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.switch_arm(request.experiment, request.arm, _actor(context))
        return convert.experiment_to_pb(changed)

    def ReadmitArm(
        self, request: admin_pb2.ArmRef, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        changed = self._admin.readmit_arm(request.experiment, request.arm, _actor(context))
        return convert.experiment_to_pb(changed)

    def SetGuardrails(
        self, request: admin_pb2.SetGuardrailsRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        guardrails = [convert.guardrail_from_pb(g, i) for i, g in enumerate(request.guardrails)]
        changed = self._admin.set_guardrails(request.experiment, guardrails, _actor(context))
        return convert.experiment_to_pb(changed)

    def GetHistory(
        self, request: admin_pb2.GetHistoryRequest, context: grpc.ServicerContext
    ) -> admin_pb2.History:
        return convert.history_to_pb(self._admin.history(request.experiment, request.limit))

    def SetPromotionRule(
        self, request: admin_pb2.SetPromotionRuleRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        rule = convert.promotion_from_pb(request.promotion)
        changed = self._admin.set_promotion(request.experiment, rule, _actor(context))
        return convert.experiment_to_pb(changed)

    def SetRewardTiming(
        self, request: admin_pb2.SetRewardTimingRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        timing = convert.timing_from_pb(request.timing)
        changed = self._admin.set_timing(request.experiment, timing, _actor(context))
        return convert.experiment_to_pb(changed)

    def SetSegmentation(
        self, request: admin_pb2.SetSegmentationRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Experiment:
        segmentation = convert.segmentation_from_pb(request.segmentation)
        changed = self._admin.set_segmentation(request.experiment, segmentation, _actor(context))
        return convert.experiment_to_pb(changed)
