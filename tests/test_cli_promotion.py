"""banditctl for deciding a rollout: promotion readiness and rules, reward timing (delayed
and drifting rewards) and segments.

First what needs no banditd: argument parsing (durations such as 10m), the text views
rendered from hand-built messages, and the requests banditctl sends (to a recording Admin
server over real gRPC). Then every new command against a real banditd.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from banditd.v1 import admin_pb2
from banditd_client import BanditClient, error_rate_guardrail
from banditd_client._render import duration_text, experiment_text, guardrails_table, status_text
from banditd_client.cli import build_parser
from test_cli_rollouts import _arm_status, _experiment, eventually, table_rows
from test_client import RecordingAdmin
from wire import closed_target

Run = Callable[..., tuple[int, str, str]]

LIVE = admin_pb2.ARM_STATE_LIVE
RETIRED = admin_pb2.ARM_STATE_RETIRED


def notes(out: str) -> dict[str, list[str]]:
    """The labelled lines below a table ("promotion  ...", "segments  ..."), by label."""
    found: dict[str, list[str]] = {}
    for line in out.rstrip("\n").split("\n\n")[-1].splitlines():
        label, _, text = line.partition("  ")
        found.setdefault(label, []).append(text.strip())
    return found


# -- parsing (no server) --------------------------------------------------------------------

PROMOTION = ["experiment", "promotion", "x"]
TIMING = ["experiment", "timing", "x"]
SEGMENT = ["experiment", "segment", "x"]
CREATE = ["experiment", "create", "x", "--arm", "a"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([*PROMOTION, "--prob-best", "0.4"], "--prob-best"),
        ([*PROMOTION, "--prob-best", "1"], "less than 1"),
        ([*PROMOTION, "--max-expected-loss", "0"], "--max-expected-loss"),
        ([*PROMOTION, "--max-expected-loss", "150%"], "--max-expected-loss"),
        ([*PROMOTION, "--min-samples", "-1"], "--min-samples"),
        ([*PROMOTION, "--auto", "--no-auto"], "not allowed with"),
        ([*TIMING, "--reward-wait", "-5m"], "--reward-wait"),
        ([*TIMING, "--window", "10x"], "60s, 10m, 2h or 1d"),
        ([*TIMING, "--window", "1w"], "--window"),
        ([*TIMING, "--reward-wait", "inf"], "--reward-wait"),
        ([*TIMING, "--reward-wait", "nan"], "--reward-wait"),
        ([*TIMING, "--default-reward", "lots"], "'none' to unset it"),
        (SEGMENT, "give the ATTRIBUTE"),
        ([*SEGMENT, "region", "--off"], "not both"),
        ([*SEGMENT, "--off", "--min-samples", "5"], "not --off"),
        ([*SEGMENT, "region", "--max-values", "-3"], "--max-values"),
        ([*CREATE, "--promotion-prob-best", "0.3"], "--promotion-prob-best"),
        ([*CREATE, "--promotion-max-loss", "2"], "--promotion-max-loss"),
        ([*CREATE, "--reward-wait", "soon"], "--reward-wait"),
        ([*CREATE, "--default-reward", "none"], "--default-reward"),
        ([*CREATE, "--segment-by", ""], "--segment-by"),
    ],
)
def test_usage_errors_exit_2(run: Run, argv: list[str], message: str) -> None:
    code, out, err = run("--target", closed_target(), *argv)
    assert code == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("0", 0.0),
        ("60s", 60.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1d", 86_400.0),
        ("1.5h", 5400.0),
        (" 5 M ", 300.0),
        ("0.25", 0.25),
    ],
)
def test_durations_take_seconds_or_units(text: str, seconds: float) -> None:
    parser = build_parser()
    assert parser.parse_args([*TIMING, "--reward-wait", text]).reward_wait == seconds
    assert parser.parse_args([*CREATE, "--window", text]).window == seconds


def test_durations_read_back_in_the_largest_unit_that_fits() -> None:
    assert [duration_text(s) for s in (86_400, 7 * 86_400, 7200, 5400, 600, 90, 0.5)] == [
        "1d",
        "7d",
        "2h",
        "90m",
        "10m",
        "90s",
        "0.5s",
    ]


def test_promotion_shares_accept_fractions_and_percentages() -> None:
    parser = build_parser()
    args = parser.parse_args([*PROMOTION, "--prob-best", "99%", "--max-expected-loss", "0.5%"])
    assert (args.prob_best, args.max_expected_loss) == (pytest.approx(0.99), pytest.approx(0.005))
    assert args.auto is None and args.min_samples is None  # not given: kept as they are
    assert parser.parse_args([*PROMOTION, "--auto"]).auto is True
    assert parser.parse_args([*PROMOTION, "--no-auto"]).auto is False
    assert parser.parse_args([*TIMING, "--default-reward", "none"]).default_reward == "none"
    assert parser.parse_args([*TIMING, "--default-reward", "0"]).default_reward == 0.0


# -- rendering hand-built messages (no server) ----------------------------------------------


def _status(arms: list[Any], experiment: Any = None, **fields: Any) -> Any:
    if experiment is None:
        experiment = _experiment(arms=[admin_pb2.Arm(name=a.name, state=a.state) for a in arms])
    return admin_pb2.ExperimentStatus(experiment=experiment, arms=arms, **fields)


def test_status_marks_the_ready_arm_and_shows_expected_loss() -> None:
    status = _status(
        [
            _arm_status("v1", is_default=True, prob_best=0.001, expected_loss=0.4987),
            _arm_status("v2", prob_best=0.999, expected_loss=0.00004, promotion_ready=True),
            _arm_status("v0", RETIRED, traffic_share=0, prob_best=0),
        ],
        ready_arm="v2",
        readiness="v2 is ready: P(best) 0.999 >= 0.95, expected loss 0.00% <= 1.00%",
    )
    text = status_text(status)
    headers, rows = table_rows(text)
    assert headers[headers.index("P(BEST)") + 1] == "E[LOSS]"
    assert rows["v1"].split()[-1] == "49.87%" and rows["v2"].split()[-1] == "0.00%"
    assert rows["v0"].split()[-1] == "-"  # a retired arm is not in the running
    assert rows["v2"].split()[1:3] == ["live,", "ready"]
    assert rows["v1"].split()[1:3] == ["live,", "default"] and "ready" not in rows["v1"]
    (line,) = notes(text)["promotion"]
    assert line == (
        "v2 is ready: P(best) 0.999 >= 0.95, expected loss 0.00% <= 1.00%; "
        "promote it with: banditctl arm promote ranker v2"
    )


def test_status_says_banditd_promotes_when_auto_promotion_is_on() -> None:
    experiment = _experiment(
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")],
        promotion=admin_pb2.PromotionRule(auto_promote=True),
    )
    status = _status(
        [_arm_status("v1", expected_loss=0.3), _arm_status("v2", expected_loss=0.001)],
        experiment,
        ready_arm="v2",  # and no explanation: the line still names the arm
    )
    (line,) = notes(status_text(status))["promotion"]
    assert line == "v2 is ready for promotion; auto-promotion is on: banditd promotes it"


def test_status_explains_why_no_arm_is_ready_yet() -> None:
    status = _status(
        [
            _arm_status("v1", is_default=True, pulls=500, expected_loss=0.2),
            _arm_status("v2", pulls=0, rewards=0, expected_loss=0.3),
        ],
        readiness="waiting for samples: v1 500/1000, v2 0/1000",
    )
    text = status_text(status)
    headers, rows = table_rows(text)
    # One live arm with data: nothing to compare, no E[LOSS] column.
    assert "E[LOSS]" not in headers
    assert "ready" not in rows["v1"] + rows["v2"]
    assert notes(text) == {"promotion": ["waiting for samples: v1 500/1000, v2 0/1000"]}


def test_status_leaves_out_expected_loss_and_readiness_that_say_nothing() -> None:
    # Two live arms with data but no expected loss: a server that does not send it.
    older = _status([_arm_status("v1"), _arm_status("v2")])
    assert "E[LOSS]" not in table_rows(status_text(older))[0]
    assert "promotion" not in status_text(older)
    # One live arm: nothing to choose between, so no readiness line.
    single = _status(
        [_arm_status("v1", expected_loss=0.0), _arm_status("v2", RETIRED, expected_loss=0.0)],
        readiness="one live arm: nothing to choose between",
    )
    text = status_text(single)
    assert "E[LOSS]" not in text and "promotion" not in text
    assert len(text.split("\n\n")) == 2  # header and table, nothing below
    # Continuous rewards: data means rewards, not pulls.
    continuous = _experiment(
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")],
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=0,
        reward_max=10,
    )
    unrewarded = _status(
        [_arm_status("v1", expected_loss=0.1), _arm_status("v2", rewards=0, expected_loss=0.2)],
        continuous,
    )
    assert "E[LOSS]" not in table_rows(status_text(unrewarded))[0]


def test_status_of_a_segmented_experiment_names_the_attribute_and_segment() -> None:
    experiment = _experiment(
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")],
        segmentation=admin_pb2.Segmentation(attribute="region", min_samples=500, max_values=64),
    )
    arms = [_arm_status("v1", expected_loss=0.2), _arm_status("v2", expected_loss=0.01)]
    one = _status(arms, experiment, segment="eu", segments=["eu", "us"])
    text = status_text(one, requested_segment="eu")
    header = text.splitlines()[0]
    assert header.startswith("experiment ranker   policy thompson")
    assert header.endswith("   segment region=eu")
    assert notes(text) == {"segments": ["eu, us (show one with --segment VALUE)"]}

    every = status_text(_status(arms, experiment, segments=["eu", "us"]))
    assert every.splitlines()[0].endswith("   segmented by region (all decisions)")
    assert notes(every)["segments"] == ["eu, us (show one with --segment VALUE)"]

    fresh = status_text(_status(arms, experiment))
    assert notes(fresh)["segments"] == ["none has statistics of its own yet"]

    # A server that answers with other statistics than the segment asked for is called out.
    fallback = status_text(_status(arms, experiment), requested_segment="apac")
    (warning,) = notes(fallback)["warning"]
    assert warning == (
        "segment 'apac' has no statistics of its own; these statistics are of all decisions"
    )

    plain = status_text(_status(arms))
    assert "segment" not in plain


def test_status_notes_reward_timing() -> None:
    experiment = _experiment(
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")],
        timing=admin_pb2.RewardTiming(reward_wait_s=86_400, window_s=7 * 86_400),
    )
    text = status_text(_status([_arm_status("v1"), _arm_status("v2")], experiment))
    (line,) = notes(text)["timing"]
    assert line.startswith("wait 1d (then no reward counts 0), window 7d; the policy decides")


def test_show_prints_promotion_rule_timing_and_segments() -> None:
    plain = experiment_text(_experiment(arms=[admin_pb2.Arm(name="v1", state=LIVE)]))
    fields = dict(line.split("  ", 1) for line in plain.split("\n\n")[0].splitlines())
    # Zeros are the server's defaults, shown as such.
    assert fields["promotion"].strip() == (
        "P(best) ≥ 0.95, expected loss ≤ 1%, 1000 decisions per live arm; promote by hand"
    )
    assert "reward timing" not in plain and "segments" not in plain

    configured = _experiment(
        arms=[admin_pb2.Arm(name="v1", state=LIVE)],
        reward_type=admin_pb2.REWARD_TYPE_CONTINUOUS,
        reward_min=0,
        reward_max=50,
        promotion=admin_pb2.PromotionRule(
            prob_best=0.99, max_expected_loss=0.005, min_samples=200, auto_promote=True
        ),
        timing=admin_pb2.RewardTiming(reward_wait_s=600, window_s=7200),
        segmentation=admin_pb2.Segmentation(attribute="tier", min_samples=100, max_values=8),
    )
    text = experiment_text(configured)
    fields = {
        label: value.strip()
        for label, value in (line.split("  ", 1) for line in text.split("\n\n")[0].splitlines())
    }
    assert fields["promotion"] == (
        "P(best) ≥ 0.99, expected loss ≤ 0.5%, 200 rewards per live arm; "
        "banditd promotes the ready arm itself"
    )
    # Continuous rewards without a default: a matured decision without one does not count.
    assert fields["reward timing"] == (
        "wait 10m (then a decision without a reward is left out), window 2h"
    )
    assert fields["segments"] == "by 'tier' (own statistics after 100 decisions, at most 8 values)"

    configured.timing.default_reward = 0.0
    assert "wait 10m (then no reward counts 0), window 2h" in experiment_text(configured)
    configured.timing.reward_wait_s = 0
    assert "default reward 0, window 2h" in experiment_text(configured)


def test_guardrails_table_shows_a_segment_column_only_when_one_is_scoped() -> None:
    experiment = _experiment(
        guardrails=[
            error_rate_guardrail("errors", 0.01),
            error_rate_guardrail("vip-errors", 0.005, segment="vip"),
        ]
    )
    headers, rows = table_rows(guardrails_table(experiment), "GUARDRAIL")
    assert headers == [
        "GUARDRAIL", "KIND", "LIMIT", "CONTROL", "SEGMENT", "MIN SAMPLES", "ROLLBACK AT", "WINDOW",
    ]  # fmt: skip
    assert rows["vip-errors"].split()[-4] == "vip" and rows["errors"].split()[-4] == "-"
    unscoped = _experiment(guardrails=[error_rate_guardrail("errors", 0.01)])
    assert "SEGMENT" not in guardrails_table(unscoped)


# -- the requests banditctl sends (recording Admin server, no banditd) ---------------------


def _rule_echo(request: Any) -> Any:
    return _experiment(promotion=request.promotion, epoch=9)


def test_promotion_changes_what_is_given_and_keeps_the_rest(
    recorder: RecordingAdmin, rec: Run
) -> None:
    recorder.replies["GetExperiment"] = _experiment(
        promotion=admin_pb2.PromotionRule(prob_best=0.9, max_expected_loss=0.02, min_samples=500)
    )
    recorder.replies["SetPromotionRule"] = _rule_echo
    code, out, err = rec("experiment", "promotion", "ranker", "--auto", "--min-samples", "2000")
    assert code == 0, err
    request, metadata = recorder.last("SetPromotionRule")
    assert request == admin_pb2.SetPromotionRuleRequest(
        experiment="ranker",
        promotion=admin_pb2.PromotionRule(
            prob_best=0.9, max_expected_loss=0.02, min_samples=2000, auto_promote=True
        ),
    )
    assert metadata["x-banditd-actor"] == "ops@ci"
    assert out.strip() == (
        "promotion rule of 'ranker': P(best) ≥ 0.9, expected loss ≤ 2%, 2000 decisions per "
        "live arm; banditd promotes the ready arm itself (epoch 9)"
    )

    code, _, _ = rec(
        "experiment", "promotion", "ranker", "--prob-best", "0.99", "--max-expected-loss", "0.5%",
        "--no-auto",
    )  # fmt: skip
    assert code == 0
    rule = recorder.last("SetPromotionRule")[0].promotion
    assert (rule.prob_best, rule.max_expected_loss) == (0.99, pytest.approx(0.005))
    assert (rule.min_samples, rule.auto_promote) == (500, False)

    # Nothing to change: the rule in force, and no SetPromotionRule.
    sets = len(recorder.calls)
    code, out, _ = rec("experiment", "promotion", "ranker")
    assert code == 0 and out.startswith("promotion rule of 'ranker': P(best) ≥ 0.9,")
    assert [name for name, _, _ in recorder.calls[sets:]] == ["GetExperiment"]


def test_timing_takes_units_and_keeps_what_is_not_given(recorder: RecordingAdmin, rec: Run) -> None:
    current = admin_pb2.RewardTiming(reward_wait_s=3600, default_reward=1.0)
    recorder.replies["GetExperiment"] = _experiment(timing=current)
    recorder.replies["SetRewardTiming"] = lambda request: _experiment(timing=request.timing)
    code, out, err = rec("experiment", "timing", "ranker", "--window", "10m")
    assert code == 0, err
    timing = recorder.last("SetRewardTiming")[0].timing
    assert (timing.reward_wait_s, timing.window_s) == (3600, 600)
    assert timing.HasField("default_reward") and timing.default_reward == 1.0
    assert "wait 1h (then no reward counts 1), window 10m" in out

    code, _, _ = rec(
        "experiment", "timing", "ranker", "--reward-wait", "2d", "--default-reward", "0"
    )
    assert code == 0
    timing = recorder.last("SetRewardTiming")[0].timing
    assert (timing.reward_wait_s, timing.window_s) == (172_800, 0)
    assert timing.HasField("default_reward") and timing.default_reward == 0.0

    code, _, _ = rec("experiment", "timing", "ranker", "--default-reward", "none")
    assert code == 0
    timing = recorder.last("SetRewardTiming")[0].timing
    assert not timing.HasField("default_reward") and timing.reward_wait_s == 3600

    code, _, _ = rec("experiment", "timing", "ranker", "--reward-wait", "0", "--window", "90")
    assert code == 0
    timing = recorder.last("SetRewardTiming")[0].timing
    assert (timing.reward_wait_s, timing.window_s) == (0, 90)

    recorder.replies["GetExperiment"] = _experiment()
    sets = len(recorder.calls)
    code, out, _ = rec("experiment", "timing", "ranker")
    assert code == 0
    assert out.strip() == (
        "reward timing of 'ranker': none: rewards count at once and the policy sees all history"
    )
    assert [name for name, _, _ in recorder.calls[sets:]] == ["GetExperiment"]


def test_segment_sets_and_turns_off_the_segmentation(recorder: RecordingAdmin, rec: Run) -> None:
    recorder.replies["SetSegmentation"] = lambda request: _experiment(
        segmentation=request.segmentation, epoch=5
    )
    code, out, err = rec(
        "experiment", "segment", "ranker", "region", "--min-samples", "100", "--max-values", "8"
    )
    assert code == 0, err
    assert recorder.last("SetSegmentation")[0] == admin_pb2.SetSegmentationRequest(
        experiment="ranker",
        segmentation=admin_pb2.Segmentation(attribute="region", min_samples=100, max_values=8),
    )
    assert out.strip() == (
        "'ranker' now keeps statistics by 'region' (own statistics after 100 decisions, "
        "at most 8 values) (epoch 5)"
    )
    code, out, _ = rec("experiment", "segment", "ranker", "--off")
    assert code == 0 and out.startswith("segmentation of 'ranker' is off")
    request, _ = recorder.last("SetSegmentation")
    assert request.segmentation == admin_pb2.Segmentation()


def test_create_sends_promotion_timing_and_segmentation_only_when_given(
    recorder: RecordingAdmin, rec: Run
) -> None:
    assert rec("experiment", "create", "plain", "--arm", "a", "--arm", "b")[0] == 0
    plain, _ = recorder.last("CreateExperiment")
    assert not any(plain.HasField(f) for f in ("promotion", "timing", "segmentation"))

    code, _, err = rec(
        "experiment", "create", "full", "--arm", "a", "--arm", "b",
        "--reward-wait", "1d", "--default-reward", "0", "--window", "2h",
        "--segment-by", "region", "--auto-promote", "--promotion-prob-best", "0.9",
        "--promotion-max-loss", "2%", "--promotion-min-samples", "5000",
    )  # fmt: skip
    assert code == 0, err
    full, _ = recorder.last("CreateExperiment")
    assert full.promotion == admin_pb2.PromotionRule(
        prob_best=0.9, max_expected_loss=0.02, min_samples=5000, auto_promote=True
    )
    assert (full.timing.reward_wait_s, full.timing.window_s) == (86_400, 7200)
    assert full.timing.HasField("default_reward") and full.timing.default_reward == 0.0
    assert full.segmentation == admin_pb2.Segmentation(attribute="region")

    assert rec("experiment", "create", "auto", "--arm", "a", "--auto-promote")[0] == 0
    auto, _ = recorder.last("CreateExperiment")
    assert auto.promotion == admin_pb2.PromotionRule(auto_promote=True)
    assert not auto.HasField("timing") and not auto.HasField("segmentation")

    assert rec("experiment", "create", "late", "--arm", "a", "--reward-wait", "30m")[0] == 0
    late, _ = recorder.last("CreateExperiment")
    assert late.timing.reward_wait_s == 1800 and not late.timing.HasField("default_reward")


def test_guardrail_add_sends_its_segment(recorder: RecordingAdmin, rec: Run) -> None:
    recorder.replies["SetGuardrails"] = lambda request: _experiment(guardrails=request.guardrails)
    code, out, err = rec(
        "guardrail", "add", "ranker", "vip-errors", "--error-rate-increase", "0.5%",
        "--segment", "vip",
    )  # fmt: skip
    assert code == 0, err
    (guardrail,) = recorder.last("SetGuardrails")[0].guardrails
    assert (guardrail.name, guardrail.segment) == ("vip-errors", "vip")
    assert "SEGMENT" in out
    assert rec("guardrail", "add", "ranker", "slow", "--latency-ceiling-ms", "250")[0] == 0
    (slow,) = recorder.last("SetGuardrails")[0].guardrails
    assert slow.segment == ""


def test_status_asks_for_the_segment(recorder: RecordingAdmin, rec: Run) -> None:
    experiment = _experiment(
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")],
        segmentation=admin_pb2.Segmentation(attribute="region"),
    )
    recorder.replies["GetStatus"] = lambda request: _status(
        [_arm_status("v1"), _arm_status("v2")],
        experiment,
        segment=request.segment,
        segments=["eu"],
    )
    code, out, err = rec("status", "ranker", "--segment", "eu")
    assert code == 0, err
    assert recorder.last("GetStatus")[0] == admin_pb2.GetStatusRequest(
        experiment="ranker", segment="eu"
    )
    assert out.splitlines()[0].endswith("segment region=eu")
    assert rec("status", "ranker")[0] == 0
    assert recorder.last("GetStatus")[0] == admin_pb2.GetStatusRequest(experiment="ranker")
    code, out, _ = rec("--json", "status", "ranker", "--segment", "eu")
    assert (json.loads(out)["segment"], json.loads(out)["segments"]) == ("eu", ["eu"])


# -- against a real server ------------------------------------------------------------------


def _import(ctl: Run, experiment: str, arm: str, rewards: int) -> None:
    code, _, err = ctl(
        "arm", "import", experiment, arm, "--pulls", "3000", "--rewards", str(rewards),
        "--reward-sum", str(rewards), "--import-id", f"history-{arm}",
    )  # fmt: skip
    assert code == 0, err


def test_status_reports_readiness_once_the_outcomes_tell_the_arms_apart(
    ctl: Run, experiment: str
) -> None:
    code, out, err = ctl(
        "experiment", "promotion", experiment, "--prob-best", "0.9", "--min-samples", "2000"
    )
    assert code == 0, err
    assert f"promotion rule of '{experiment}': P(best) ≥ 0.9, expected loss ≤ 1%, 2000 " in out
    code, out, _ = ctl("status", experiment)
    assert notes(out)["promotion"] == ["waiting for samples: v1 0/2000, v2 0/2000"]
    assert "E[LOSS]" not in table_rows(out)[0]

    _import(ctl, experiment, "v1", 300)  # 10%
    code, out, _ = ctl("status", experiment)
    assert notes(out)["promotion"] == ["waiting for samples: v2 0/2000"]
    _import(ctl, experiment, "v2", 600)  # 20%
    code, out, err = ctl("status", experiment)
    assert code == 0, err
    headers, rows = table_rows(out)
    assert "E[LOSS]" in headers
    assert rows["v2"].split()[1:3] == ["live,", "ready"]
    assert "ready" not in rows["v1"]
    assert headers[-1] == "E[LOSS]"
    assert float(rows["v1"].split()[-1].rstrip("%")) > 40  # 10% vs 20%: half the reward
    assert float(rows["v2"].split()[-1].rstrip("%")) < 1
    (line,) = notes(out)["promotion"]
    assert line.startswith("v2 is ready: P(best) 1.000 >= 0.9")
    assert line.endswith(f"promote it with: banditctl arm promote {experiment} v2")

    code, out, _ = ctl("--json", "status", experiment)
    status = json.loads(out)
    assert status["ready_arm"] == "v2"
    assert {a["name"]: a["promotion_ready"] for a in status["arms"]} == {"v1": False, "v2": True}

    code, out, _ = ctl("experiment", "show", experiment)
    assert "promotion    P(best) ≥ 0.9, expected loss ≤ 1%, 2000 decisions per live arm" in out


def test_auto_promotion_promotes_the_ready_arm(ctl: Run) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, out, err = ctl(
        "experiment", "create", name, "--arm", "old", "--arm", "new",
        "--promotion-min-samples", "2000",
    )  # fmt: skip
    assert code == 0, err
    assert "2000 decisions per live arm; promote by hand" in out
    _import(ctl, name, "old", 300)
    _import(ctl, name, "new", 600)
    code, out, err = ctl("experiment", "promotion", name, "--auto")
    assert code == 0, err
    # --auto changed only auto_promote: the 2000 samples stay.
    assert "2000 decisions per live arm; banditd promotes the ready arm itself" in out

    def promoted() -> dict[str, Any] | None:
        code, out, _ = ctl("--json", "experiment", "show", name)
        shown = json.loads(out) if code == 0 else {}
        return shown if shown.get("default_arm") == "new" else None

    shown = eventually(promoted, "banditd to promote 'new'", timeout_s=20)
    states = {arm["name"]: arm["state"] for arm in shown["arms"]}
    assert states == {"old": "ARM_STATE_RETIRED", "new": "ARM_STATE_LIVE"}
    code, out, _ = ctl("--json", "history", name)
    entry = next(e for e in json.loads(out) if e["action"] == "promote_arm")
    assert entry["arm"] == "new" and entry["actor"] != "alice@test"


def test_timing_is_set_kept_and_shown(ctl: Run, experiment: str) -> None:
    code, out, err = ctl(
        "experiment", "timing", experiment, "--reward-wait", "1d", "--window", "7d"
    )
    assert code == 0, err
    assert "wait 1d (then no reward counts 0), window 7d" in out
    code, out, _ = ctl("experiment", "show", experiment)
    assert "reward timing  wait 1d (then no reward counts 0), window 7d" in out

    code, out, err = ctl("experiment", "timing", experiment, "--window", "0")
    assert code == 0, err
    code, out, _ = ctl("--json", "experiment", "show", experiment)
    timing = json.loads(out)["timing"]
    assert (timing["reward_wait_s"], timing["window_s"]) == (86_400, 0)
    assert "default_reward" not in timing

    code, out, err = ctl("experiment", "timing", experiment, "--default-reward", "0.5")
    assert code == 1 and out == ""
    assert err.startswith("banditctl: invalid argument: ") and "default_reward" in err
    assert len(err.strip().splitlines()) == 1

    code, out, _ = ctl("status", experiment)
    assert notes(out)["timing"][0].startswith("wait 1d (then no reward counts 0);")

    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, out, err = ctl(
        "experiment", "create", name, "--arm", "a", "--reward-wait", "10m", "--window", "2h"
    )
    assert code == 0, err
    assert "reward timing  wait 10m (then no reward counts 0), window 2h" in out


def test_segment_commands_set_show_and_turn_off(server: Any, ctl: Run, experiment: str) -> None:
    code, out, err = ctl("experiment", "segment", experiment, "region", "--min-samples", "100")
    assert code == 0, err
    assert "by 'region' (own statistics after 100 decisions, at most 64 values)" in out
    code, out, _ = ctl("experiment", "show", experiment)
    assert "segments     by 'region' (own statistics after 100 decisions" in out
    code, out, _ = ctl("status", experiment)
    assert out.splitlines()[0].endswith("segmented by region (all decisions)")

    code, out, err = ctl(
        "guardrail", "add", experiment, "vip-errors", "--error-rate-increase", "1%",
        "--segment", "vip",
    )  # fmt: skip
    assert code == 0, err
    _, rows = table_rows(out, "GUARDRAIL")
    assert rows["vip-errors"].split()[-4] == "vip"
    assert ctl("guardrail", "remove", experiment, "vip-errors")[0] == 0

    code, out, err = ctl("experiment", "segment", experiment, "--off")
    assert code == 0, err
    code, out, _ = ctl("experiment", "show", experiment)
    assert "segments" not in out
    code, out, _ = ctl("status", experiment)
    assert "segment" not in out

    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, out, err = ctl("experiment", "create", name, "--arm", "a", "--segment-by", "tier")
    assert code == 0, err
    assert "segments     by 'tier'" in out


def test_status_shows_one_segment_and_lists_the_segments(server: Any, ctl: Run) -> None:
    """Needs the server side of segments: per-segment statistics and GetStatus(segment)."""
    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, _, err = ctl(
        "experiment", "create", name, "--arm", "v1", "--arm", "v2", "--segment-by", "region"
    )
    assert code == 0, err
    with BanditClient(server.target, timeout_s=5.0) as client:
        client.decide_batch(name, 40, attributes={"region": "eu"})
        client.decide_batch(name, 10, attributes={"region": "us"})

    def eu_counted() -> bool:
        server.engine.flush()
        code, out, _ = ctl("--json", "status", name, "--segment", "eu")
        return code == 0 and sum(int(a.get("pulls", 0)) for a in json.loads(out)["arms"]) == 40

    eventually(eu_counted, "the eu segment's statistics")
    code, out, err = ctl("status", name, "--segment", "eu")
    assert code == 0, err
    assert out.splitlines()[0].endswith("   segment region=eu")
    assert notes(out)["segments"] == ["eu, us (show one with --segment VALUE)"]
    assert "warning" not in notes(out)

    code, out, _ = ctl("status", name)
    assert out.splitlines()[0].endswith("   segmented by region (all decisions)")
    assert notes(out)["segments"] == ["eu, us (show one with --segment VALUE)"]

    code, out, err = ctl("status", name, "--segment", "apac")
    assert code == 1 and out == ""
    assert err.startswith("banditctl: not found: ") and "apac" in err
    assert len(err.strip().splitlines()) == 1
