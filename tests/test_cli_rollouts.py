"""banditctl for rollouts: shadow arms, caps and ramps, blue-green switches, guardrails,
rollbacks and the history.

First what needs no banditd: argument parsing, the text views rendered from hand-built
messages, and the requests banditctl sends (to a recording Admin server over real gRPC).
Then every new command against a real banditd.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from banditd.v1 import admin_pb2, common_pb2
from banditd_client import AdminClient, BanditClient, error_rate_guardrail, policy_config
from banditd_client._channel import default_actor
from banditd_client._render import bounds_text, experiment_text, history_text, status_text
from banditd_client.cli import build_parser, replace_guardrail
from test_client import RecordingAdmin
from wire import closed_target

Run = Callable[..., tuple[int, str, str]]
T0 = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC, in ms


def eventually(check: Callable[[], Any], what: str, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def table_rows(out: str, first_header: str = "ARM") -> tuple[list[str], dict[str, str]]:
    """The header cells and the rows (by first cell) of the table starting at first_header."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_header + " "))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows[line.split()[0]] = line
    headers = [cell for cell in lines[start].split("  ") if cell.strip()]
    return [h.strip() for h in headers], rows


# -- parsing (no server) --------------------------------------------------------------------


GUARD = ["guardrail", "add", "x", "g"]
ERRORS = [*GUARD, "--error-rate-increase", "0.01"]
LATENCY = [*GUARD, "--latency-ceiling-ms", "100"]
CREATE = ["experiment", "create", "x", "--arm", "a"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["arm", "add", "x", "a", "--cap", "1.5"], "--cap"),
        (["arm", "add", "x", "a", "--cap", "5"], "percentage"),
        (["arm", "add", "x", "a", "--floor", "-1%"], "--floor"),
        (["arm", "add", "x", "a", "--ramp", "0.1,abc"], "--ramp"),
        (["arm", "add", "x", "a", "--ramp", "0.1,120%"], "--ramp"),
        (["arm", "add", "x", "a", "--cap-until-rewards", "100"], "give --cap too"),
        (["arm", "add", "x", "a", "--ramp-min-seconds", "60"], "apply to --ramp only"),
        (["arm", "add", "x", "a", "--ramp", "0.1", "--ramp-min-seconds", "-1"], "seconds >= 0"),
        (["arm", "limits", "x", "a"], "--clear"),
        (["arm", "limits", "x", "a", "--clear", "--cap", "0.1"], "give it alone"),
        (["arm", "switch", "x"], "arm"),
        (["arm", "readmit", "x"], "arm"),
        (GUARD, "--error-rate-increase"),
        ([*ERRORS, "--latency-ceiling-ms", "5"], "not allowed with"),
        ([*LATENCY, "--control", "a"], "--control"),
        ([*ERRORS, "--quantile", "p99"], "--quantile"),
        ([*GUARD, "--latency-ceiling-ms", "0"], "--latency-ceiling-ms"),
        ([*LATENCY, "--quantile", "2"], "--quantile"),
        ([*ERRORS, "--level", "1"], "--level"),
        ([*ERRORS, "--min-samples", "-5"], "--min-samples"),
        (["guardrail", "remove", "x"], "name"),
        (["history", "x", "--limit", "0"], "--limit"),
        (["history", "x", "--limit", "10001"], "--limit"),
        ([*CREATE, "--policy", "gaussian-thompson", "--prior-alpha", "1"], "--prior-alpha"),
        ([*CREATE, "--prior-mean", "0.5"], "--prior-mean"),
        (["--actor", "jörg", "experiment", "list"], "--actor"),
    ],
)
def test_usage_errors_exit_2(run: Run, argv: list[str], message: str) -> None:
    code, out, err = run("--target", closed_target(), *argv)
    assert code == 2
    assert message in err
    assert out == ""
    assert "Traceback" not in err


def test_shares_accept_fractions_and_percentages() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["arm", "add", "x", "a", "--cap", "5%", "--floor", "0.01", "--ramp", "5%,0.25, 50%"]
    )
    assert (args.cap, args.floor) == (pytest.approx(0.05), 0.01)
    assert args.ramp == pytest.approx((0.05, 0.25, 0.5))
    assert not args.shadow
    args = parser.parse_args(
        ["guardrail", "add", "x", "slow", "--latency-ceiling-ms", "250", "--quantile", "p99"]
    )
    assert (args.latency_ceiling_ms, args.quantile, args.error_rate_increase) == (250, 0.99, None)
    args = parser.parse_args(["guardrail", "add", "x", "e", "--error-rate-increase", "1%"])
    assert args.error_rate_increase == pytest.approx(0.01)
    args = parser.parse_args(
        ["experiment", "create", "x", "--arm", "a", "--policy", "gaussian_thompson"]
    )
    assert args.policy == "gaussian-thompson"
    assert parser.parse_args(["history", "x"]).limit == 100


def test_adding_a_guardrail_of_an_existing_name_replaces_it_in_place() -> None:
    first = error_rate_guardrail("errors", 0.01)
    slow = admin_pb2.Guardrail(name="slow", latency=admin_pb2.LatencyGuardrail(ceiling_ms=9))
    newer = error_rate_guardrail("errors", 0.05)
    assert replace_guardrail([first, slow], newer) == ([newer, slow], True)
    assert replace_guardrail([slow], newer) == ([slow, newer], False)


# -- rendering hand-built messages (no server) ----------------------------------------------


def _experiment(**fields: Any) -> Any:
    values: dict[str, Any] = {
        "name": "ranker",
        "policy": admin_pb2.PolicyConfig(policy=common_pb2.POLICY_THOMPSON),
        "reward_type": admin_pb2.REWARD_TYPE_BINARY,
        "default_arm": "v1",
        "epoch": 7,
        "created_unix_ms": T0,
    }
    values.update(fields)
    return admin_pb2.Experiment(**values)


def _arm_status(name: str, state: int = admin_pb2.ARM_STATE_LIVE, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "pulls": 1000,
        "rewards": 50,
        "mean_reward": 0.05,
        "interval_low": 0.04,
        "interval_high": 0.06,
        "traffic_share": 0.5,
        "prob_best": 0.5,
        "cap": 1.0,
    }
    values.update(fields)
    return admin_pb2.ArmStatus(name=name, version=f"model-{name}", state=state, **values)


def test_status_of_a_plain_experiment_reads_as_before() -> None:
    status = admin_pb2.ExperimentStatus(
        experiment=_experiment(arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2")]),
        arms=[
            _arm_status("v1", is_default=True),
            _arm_status("v2", admin_pb2.ARM_STATE_RETIRED, traffic_share=0, prob_best=0),
        ],
    )
    text = status_text(status)
    header, blank, *table = text.splitlines()
    assert header.startswith("experiment ranker   policy thompson   reward binary   epoch 7")
    assert blank == ""
    headers, rows = table_rows(text)
    assert headers == [
        "ARM", "STATE", "VERSION", "PULLS", "REWARDS", "MEAN", "95% INTERVAL", "SHARE", "P(BEST)",
    ]  # fmt: skip
    assert len(table) == 3  # no notes below the table
    assert rows["v1"].split()[1:3] == ["live,", "default"]
    assert rows["v2"].split()[1] == "retired"


def test_status_shows_shadow_rolled_back_caps_errors_latency_and_warnings() -> None:
    rollback = admin_pb2.Rollback(
        guardrail="errors",
        reason="error rate 0.29 vs control 0.011",
        probability=0.998,
        at_unix_ms=T0 + 3_600_000,
        samples=812,
        control_samples=790,
    )
    ramp = admin_pb2.Ramp(steps=[0.05, 0.25, 0.5], min_decisions_per_step=1000, step=1)
    experiment = _experiment(
        arms=[
            admin_pb2.Arm(name="v1", state=admin_pb2.ARM_STATE_LIVE),
            admin_pb2.Arm(
                name="v2", state=admin_pb2.ARM_STATE_LIVE, limits=admin_pb2.ArmLimits(ramp=ramp)
            ),
            admin_pb2.Arm(name="v3", state=admin_pb2.ARM_STATE_SHADOW),
            admin_pb2.Arm(name="v4", state=admin_pb2.ARM_STATE_ROLLED_BACK, rollback=rollback),
            admin_pb2.Arm(
                name="v5", state=admin_pb2.ARM_STATE_LIVE, limits=admin_pb2.ArmLimits(cap=0.1)
            ),
        ],
        guardrails=[
            error_rate_guardrail("errors", 0.01),
            admin_pb2.Guardrail(
                name="slow", latency=admin_pb2.LatencyGuardrail(ceiling_ms=250), level=0.9
            ),
        ],
    )
    status = admin_pb2.ExperimentStatus(
        experiment=experiment,
        arms=[
            _arm_status("v1", is_default=True, observations=2000, errors=22, latency_p95_ms=120.4),
            _arm_status(
                "v2",
                cap=0.25,
                floor=0.25,
                observations=500,
                errors=4,
                latency_p95_ms=260.0,
                guardrails=[
                    admin_pb2.GuardrailCheck(
                        guardrail="slow", breach_probability=0.73, samples=500, judged=True
                    ),
                    admin_pb2.GuardrailCheck(
                        guardrail="errors", breach_probability=0.1, samples=500, judged=True
                    ),
                ],
            ),
            _arm_status(
                "v3",
                admin_pb2.ARM_STATE_SHADOW,
                traffic_share=0,
                prob_best=0,
                observations=900,
                errors=1,
                guardrails=[
                    # Not judged yet (too few samples): no warning, however high.
                    admin_pb2.GuardrailCheck(guardrail="slow", breach_probability=0.9, samples=9),
                ],
            ),
            _arm_status(
                "v4",
                admin_pb2.ARM_STATE_ROLLED_BACK,
                traffic_share=0,
                prob_best=0,
                observations=812,
                errors=235,
                rollback=rollback,
            ),
            _arm_status("v5", cap=0.1, observations=0),
        ],
    )
    text = status_text(status)
    headers, rows = table_rows(text)
    assert headers == [
        "ARM", "STATE", "VERSION", "PULLS", "REWARDS", "MEAN", "95% INTERVAL", "SHARE", "CAP",
        "P(BEST)", "ERR", "P95 MS",
    ]  # fmt: skip
    # Shadow arms sit in the same table as the live ones: that is the comparison.
    assert rows["v3"].split()[1] == "shadow"
    assert rows["v4"].split()[1] == "rolled-back"
    assert "=25%" in rows["v2"]  # a ramp step pins the share: cap == floor
    assert "≤10%" in rows["v5"]
    assert "1.10%" in rows["v1"] and "120.4" in rows["v1"]
    assert "28.94%" in rows["v4"]
    assert rows["v5"].split()[-2:] == ["-", "-"]  # no observations, no latency
    assert rows["v3"].split()[8:10] == ["-", "-"]  # a shadow arm has no share nor P(best)

    notes = text.split("\n\n")[-1].splitlines()
    (ramp_line,) = [line for line in notes if line.startswith("ramp")]
    assert "v2 at 25% (step 2 of 3)" in ramp_line and "1000 decisions" in ramp_line
    (rolled_back,) = [line for line in notes if line.startswith("rolled back")]
    assert "v4" in rolled_back and "'errors'" in rolled_back
    assert "99.8%" in rolled_back and "2026-01-01 01:00:00 UTC" in rolled_back
    assert "error rate 0.29 vs control 0.011" in rolled_back
    (warning,) = [line for line in notes if line.startswith("warning")]
    assert "v2" in warning and "'slow'" in warning and "73.0%" in warning and "90%" in warning


def test_bounds_read_as_cap_floor_or_pinned_share() -> None:
    assert bounds_text(1.0, 0.0) == ""
    assert bounds_text(0.0, 0.0) == ""  # unset
    assert bounds_text(0.05, 0.0) == "≤5%"
    assert bounds_text(1.0, 0.1) == "≥10%"
    assert bounds_text(0.5, 0.1) == "10%–50%"
    assert bounds_text(0.25, 0.25) == "=25%"
    assert bounds_text(1.0, 1.0) == "=100%"


def test_show_lists_limits_ramps_rollbacks_and_guardrails() -> None:
    experiment = _experiment(
        arms=[
            admin_pb2.Arm(name="v1", version="model-1", state=admin_pb2.ARM_STATE_LIVE),
            admin_pb2.Arm(
                name="v2",
                version="model-2",
                state=admin_pb2.ARM_STATE_LIVE,
                limits=admin_pb2.ArmLimits(
                    cap=0.05,
                    cap_until_rewards=1000,
                    ramp=admin_pb2.Ramp(
                        steps=[0.05, 0.25], min_seconds_per_step=600, step_started_unix_ms=T0
                    ),
                ),
            ),
            admin_pb2.Arm(
                name="v3",
                state=admin_pb2.ARM_STATE_ROLLED_BACK,
                rollback=admin_pb2.Rollback(
                    guardrail="slow", reason="p95 410 ms > 250 ms", probability=0.97
                ),
            ),
        ],
        guardrails=[
            error_rate_guardrail("errors", 0.02, control_arm="v2", min_samples=500),
            admin_pb2.Guardrail(
                name="slow", latency=admin_pb2.LatencyGuardrail(ceiling_ms=250, quantile=0.99)
            ),
        ],
    )
    text = experiment_text(experiment)
    _, arms = table_rows(text)
    assert "≤5% until 1000 rewards" in arms["v2"] and "ramp 5% → 25% (step 1 of 2)" in arms["v2"]
    assert "default" in arms["v1"] and "rolled-back" in arms["v3"]
    assert "v2 at 5% (step 1 of 2) since 2026-01-01 00:00:00 UTC" in text
    assert "v3 by guardrail 'slow' (P(breach) 97.0%): p95 410 ms > 250 ms" in text
    headers, guardrails = table_rows(text, "GUARDRAIL")
    assert headers == [
        "GUARDRAIL",
        "KIND",
        "LIMIT",
        "CONTROL",
        "MIN SAMPLES",
        "ROLLBACK AT",
        "WINDOW",
    ]
    assert guardrails["errors"].split() == [
        "errors",
        "error",
        "rate",
        "control",
        "+0.02",
        "v2",
        "500",
        "95%",
        "15m",
    ]
    # Zeros are the server's defaults, shown as such.
    assert guardrails["slow"].split() == [
        "slow",
        "latency",
        "p99",
        "≤",
        "250",
        "ms",
        "-",
        "200",
        "95%",
        "15m",
    ]

    plain = experiment_text(
        _experiment(arms=[admin_pb2.Arm(name="v1", state=admin_pb2.ARM_STATE_LIVE)])
    )
    assert "LIMITS" not in plain and "no guardrails" in plain
    assert "ramp" not in plain and "rolled back" not in plain


def test_history_renders_one_row_per_change() -> None:
    entries = [
        admin_pb2.HistoryEntry(
            at_unix_ms=T0, actor="alice@laptop", action="create_experiment", epoch=1
        ),
        admin_pb2.HistoryEntry(
            at_unix_ms=T0 + 61_000,
            actor="banditd",
            action="rollback",
            arm="v2",
            detail="guardrail errors:\n  error rate 0.29 vs control 0.011",
            epoch=9,
        ),
    ]
    lines = history_text(entries).splitlines()
    assert lines[0].split() == ["TIME", "(UTC)", "ACTOR", "ACTION", "ARM", "EPOCH", "DETAIL"]
    assert lines[1].split() == [
        "2026-01-01",
        "00:00:00",
        "alice@laptop",
        "create_experiment",
        "-",
        "1",
    ]
    assert lines[2].split()[:6] == ["2026-01-01", "00:01:01", "banditd", "rollback", "v2", "9"]
    assert lines[2].endswith("guardrail errors: error rate 0.29 vs control 0.011")  # one line
    assert history_text([]) == "no history yet"


# -- the requests banditctl sends (recording Admin server, no banditd) ---------------------


def test_arm_add_sends_shadow_mode_and_limits(recorder: RecordingAdmin, rec: Run) -> None:
    code, out, err = rec(
        "arm", "add", "x", "v3", "--version", "model-3", "--shadow", "--cap", "5%",
        "--cap-until-rewards", "1000",
    )  # fmt: skip
    assert code == 0, err
    request, metadata = recorder.last("AddArm")
    assert (request.experiment, request.arm.name, request.arm.version) == ("x", "v3", "model-3")
    assert request.arm.shadow
    assert request.arm.limits.cap == pytest.approx(0.05) and not request.arm.limits.HasField(
        "floor"
    )
    assert request.arm.limits.cap_until_rewards == 1000
    assert (metadata["x-banditd-actor"], metadata["authorization"]) == ("ops@ci", "Bearer t")
    assert "shadow mode" in out and "≤5% until 1000 rewards" in out

    assert rec("arm", "add", "x", "v4", "--weight", "2")[0] == 0
    request, _ = recorder.last("AddArm")
    assert not request.arm.shadow and not request.arm.HasField("limits") and request.weight == 2


def test_arm_limits_sends_set_arm_limits_and_clear_sends_none(
    recorder: RecordingAdmin, rec: Run
) -> None:
    code, out, err = rec(
        "arm", "limits", "x", "v2", "--floor", "0.01", "--ramp", "0.05,0.25,0.5",
        "--ramp-min-decisions", "1000", "--ramp-min-seconds", "600",
    )  # fmt: skip
    assert code == 0, err
    request, _ = recorder.last("SetArmLimits")
    assert (request.experiment, request.arm) == ("x", "v2")
    limits = request.limits
    assert not limits.HasField("cap") and limits.floor == pytest.approx(0.01)
    assert list(limits.ramp.steps) == pytest.approx([0.05, 0.25, 0.5])
    assert (limits.ramp.min_decisions_per_step, limits.ramp.min_seconds_per_step) == (1000, 600)
    assert "ramp 5% → 25% → 50%" in out

    code, out, _ = rec("arm", "limits", "x", "v2", "--clear")
    assert code == 0 and "cleared" in out
    request, _ = recorder.last("SetArmLimits")
    assert not request.HasField("limits")


def test_switch_names_the_arm_the_server_gave_all_traffic(
    recorder: RecordingAdmin, rec: Run
) -> None:
    recorder.replies["SwitchArm"] = _experiment(
        policy=admin_pb2.PolicyConfig(
            policy=common_pb2.POLICY_FIXED,
            fixed=admin_pb2.FixedParams(weights={"v1": 0, "v2": 1}),
        ),
        arms=[admin_pb2.Arm(name="v1"), admin_pb2.Arm(name="v2", version="model-2")],
        epoch=12,
    )
    code, out, err = rec("arm", "switch", "ranker", "v2")
    assert code == 0, err
    assert recorder.last("SwitchArm")[0] == admin_pb2.ArmRef(experiment="ranker", arm="v2")
    assert "arm 'v2' (version 'model-2') now takes all traffic" in out and "epoch 12" in out

    code, out, _ = rec("arm", "readmit", "ranker", "v3")
    assert code == 0 and "re-admitted arm 'v3'" in out
    assert recorder.last("ReadmitArm")[0] == admin_pb2.ArmRef(experiment="ranker", arm="v3")


def test_guardrail_add_and_remove_read_then_replace_the_list(
    recorder: RecordingAdmin, rec: Run
) -> None:
    slow = admin_pb2.Guardrail(name="slow", latency=admin_pb2.LatencyGuardrail(ceiling_ms=250))
    recorder.replies["GetExperiment"] = _experiment(
        guardrails=[error_rate_guardrail("errors", 0.01), slow]
    )
    recorder.replies["SetGuardrails"] = lambda request: _experiment(
        guardrails=request.guardrails, epoch=8
    )
    code, out, err = rec(
        "guardrail", "add", "ranker", "errors", "--error-rate-increase", "2%",
        "--control", "v1", "--min-samples", "100", "--level", "0.9",
    )  # fmt: skip
    assert code == 0, err
    request, metadata = recorder.last("SetGuardrails")
    assert metadata["x-banditd-actor"] == "ops@ci"
    errors, kept = request.guardrails
    assert kept == slow  # the others are sent back unchanged, in their order
    assert errors.name == "errors" and errors.error_rate.max_increase == pytest.approx(0.02)
    assert (errors.error_rate.control_arm, errors.min_samples, errors.level) == ("v1", 100, 0.9)
    assert out.startswith("replaced guardrail 'errors' of 'ranker' (epoch 8)")

    code, out, _ = rec(
        "guardrail", "add", "ranker", "p99", "--latency-ceiling-ms", "400", "--quantile", "p99"
    )
    assert code == 0 and out.startswith("added guardrail 'p99'")
    request, _ = recorder.last("SetGuardrails")
    assert [g.name for g in request.guardrails] == ["errors", "slow", "p99"]
    assert request.guardrails[2].latency.quantile == pytest.approx(0.99)

    code, out, _ = rec("guardrail", "remove", "ranker", "slow")
    assert code == 0 and "removed guardrail 'slow'" in out
    assert [g.name for g in recorder.last("SetGuardrails")[0].guardrails] == ["errors"]

    sets = sum(name == "SetGuardrails" for name, _, _ in recorder.calls)
    code, out, err = rec("guardrail", "remove", "ranker", "nope")
    assert (code, out) == (1, "")
    assert err.startswith("banditctl: not found: ") and len(err.strip().splitlines()) == 1
    assert "no guardrail 'nope' (guardrails: errors, slow)" in err
    assert sum(name == "SetGuardrails" for name, _, _ in recorder.calls) == sets  # nothing sent

    code, out, _ = rec("--json", "guardrail", "list", "ranker")
    assert [g["name"] for g in json.loads(out)] == ["errors", "slow"]


def test_history_asks_for_the_limit_and_prints_a_table(recorder: RecordingAdmin, rec: Run) -> None:
    recorder.replies["GetHistory"] = admin_pb2.History(
        entries=[
            admin_pb2.HistoryEntry(
                at_unix_ms=T0, actor="bob@host", action="switch_arm", arm="v2", epoch=4
            )
        ]
    )
    code, out, err = rec("history", "ranker", "--limit", "5")
    assert code == 0, err
    assert recorder.last("GetHistory")[0] == admin_pb2.GetHistoryRequest(
        experiment="ranker", limit=5
    )
    assert out.splitlines()[1].split() == [
        "2026-01-01",
        "00:00:00",
        "bob@host",
        "switch_arm",
        "v2",
        "4",
    ]
    code, out, _ = rec("--json", "history", "ranker")
    (entry,) = json.loads(out)
    assert (entry["actor"], entry["action"], entry["arm"]) == ("bob@host", "switch_arm", "v2")
    assert recorder.last("GetHistory")[0].limit == 100


def test_create_with_gaussian_thompson_sends_its_prior(recorder: RecordingAdmin, rec: Run) -> None:
    code, _, err = rec(
        "experiment", "create", "price", "--arm", "a", "--arm", "b", "--reward", "continuous",
        "--reward-min", "0", "--reward-max", "200", "--policy", "gaussian-thompson",
        "--prior-mean", "0.4", "--prior-sd", "0.2",
    )  # fmt: skip
    assert code == 0, err
    policy = recorder.last("CreateExperiment")[0].policy
    assert policy.policy == common_pb2.POLICY_GAUSSIAN_THOMPSON
    assert (policy.gaussian_thompson.prior_mean, policy.gaussian_thompson.prior_sd) == (0.4, 0.2)


def test_the_actor_defaults_to_user_at_host_and_follows_the_environment(
    recorder: RecordingAdmin, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("--target", recorder.target, "experiment", "list")[0] == 0
    assert recorder.last("ListExperiments")[1]["x-banditd-actor"] == default_actor()
    monkeypatch.setenv("BANDITD_ACTOR", "deploy-bot")
    assert run("--target", recorder.target, "experiment", "list")[0] == 0
    assert recorder.last("ListExperiments")[1]["x-banditd-actor"] == "deploy-bot"


# -- against a real server (needs the server side of the rollout contract) -----------------


def test_shadow_arm_is_added_mirrored_and_compared_in_status(
    server: Any, ctl: Run, experiment: str
) -> None:
    code, out, err = ctl("arm", "add", experiment, "v3", "--version", "model-3", "--shadow")
    assert code == 0, err
    assert "shadow mode" in out

    def decided_with_shadow() -> str | None:
        code, out, _ = ctl("decide", experiment)
        return out if code == 0 and "shadow" in out else None

    out = eventually(decided_with_shadow, "decide to name the shadow arm")
    (shadow,) = [line for line in out.splitlines() if line.startswith("shadow")]
    assert "v3 (version model-3), decision id " in shadow
    assert out.split()[1] in {"v1", "v2"}  # the served arm is a live one

    code, out, _ = ctl("status", experiment)
    _, rows = table_rows(out)
    assert set(rows) == {"v1", "v2", "v3"}
    assert rows["v3"].split()[1] == "shadow"
    code, out, _ = ctl("--json", "experiment", "show", experiment)
    states = {arm["name"]: arm["state"] for arm in json.loads(out)["arms"]}
    assert states["v3"] == "ARM_STATE_SHADOW"


def test_arm_limits_show_in_show_and_status_and_clear(ctl: Run, experiment: str) -> None:
    code, out, err = ctl("arm", "add", experiment, "v3", "--version", "model-3", "--cap", "10%")
    assert code == 0, err
    code, out, err = ctl(
        "arm", "limits", experiment, "v2", "--ramp", "5%,25%", "--ramp-min-decisions", "1000000"
    )
    assert code == 0, err
    assert "ramp 5% → 25%" in out

    code, out, _ = ctl("experiment", "show", experiment)
    _, arms = table_rows(out)
    assert "≤10%" in arms["v3"]
    assert "ramp 5% → 25% (step 1 of 2)" in arms["v2"]
    assert "v2 at 5% (step 1 of 2)" in out

    code, out, _ = ctl("status", experiment)
    headers, rows = table_rows(out)
    assert "CAP" in headers
    assert "=5%" in rows["v2"] and "≤10%" in rows["v3"]

    code, out, _ = ctl("arm", "limits", experiment, "v2", "--clear")
    assert code == 0 and "cleared" in out
    code, out, _ = ctl("--json", "experiment", "show", experiment)
    v2 = next(arm for arm in json.loads(out)["arms"] if arm["name"] == "v2")
    assert not v2.get("limits", {}).get("ramp", {}).get("steps")


def test_arm_switch_sends_all_traffic_to_one_arm_and_back(
    server: Any, ctl: Run, experiment: str
) -> None:
    code, out, err = ctl("arm", "switch", experiment, "v2")
    assert code == 0, err
    assert "arm 'v2' (version 'model-2') now takes all traffic" in out

    def only(arm: str) -> bool:
        with BanditClient(server.target, timeout_s=5.0) as client:
            return all(d.arm == arm for d in client.decide_batch(experiment, 50))

    eventually(lambda: only("v2"), "all traffic on v2")
    code, out, _ = ctl("arm", "switch", experiment, "v1")
    assert code == 0 and "arm 'v1'" in out
    eventually(lambda: only("v1"), "all traffic back on v1")
    code, out, _ = ctl("experiment", "show", experiment)
    assert "fixed (v1=1, v2=0)" in out


def test_guardrails_add_list_replace_and_remove(ctl: Run, experiment: str) -> None:
    code, out, err = ctl(
        "guardrail", "add", experiment, "errors", "--error-rate-increase", "0.01", "--control", "v1"
    )
    assert code == 0, err
    assert out.startswith(f"added guardrail 'errors' of '{experiment}'")
    code, out, err = ctl(
        "guardrail", "add", experiment, "slow", "--latency-ceiling-ms", "250", "--quantile", "p99",
        "--min-samples", "50", "--level", "0.9",
    )  # fmt: skip
    assert code == 0, err

    code, out, _ = ctl("guardrail", "list", experiment)
    _, rows = table_rows(out, "GUARDRAIL")
    assert set(rows) == {"errors", "slow"}
    assert "control +0.01" in rows["errors"] and "p99 ≤ 250 ms" in rows["slow"]

    code, out, _ = ctl("guardrail", "add", experiment, "errors", "--error-rate-increase", "5%")
    assert code == 0 and out.startswith("replaced guardrail 'errors'")
    code, out, _ = ctl("--json", "guardrail", "list", experiment)
    guardrails = {g["name"]: g for g in json.loads(out)}
    assert set(guardrails) == {"errors", "slow"}
    assert guardrails["errors"]["error_rate"]["max_increase"] == pytest.approx(0.05)

    code, out, _ = ctl("guardrail", "remove", experiment, "slow")
    assert code == 0 and "removed guardrail 'slow'" in out
    code, out, _ = ctl("experiment", "show", experiment)
    _, rows = table_rows(out, "GUARDRAIL")
    assert set(rows) == {"errors"}

    code, out, err = ctl("guardrail", "remove", experiment, "slow")
    assert code == 1 and "no guardrail 'slow' (guardrails: errors)" in err


def test_history_records_who_changed_what(ctl: Run, experiment: str) -> None:
    assert ctl("arm", "add", experiment, "v3", "--version", "model-3")[0] == 0
    assert ctl("arm", "retire", experiment, "v2")[0] == 0
    code, out, err = ctl("history", experiment)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["TIME", "(UTC)", "ACTOR", "ACTION", "ARM", "EPOCH"]
    assert len(lines) >= 4  # create, add, retire
    assert all(line.split()[2] == "alice@test" for line in lines[1:])
    assert lines[-1].split()[4] == "v2"

    code, out, _ = ctl("--json", "history", experiment, "--limit", "1")
    (entry,) = json.loads(out)
    assert (entry["actor"], entry["arm"]) == ("alice@test", "v2")
    code, out, _ = ctl("--json", "experiment", "show", experiment)
    assert int(entry["epoch"]) == int(json.loads(out)["epoch"])


def test_create_a_gaussian_thompson_experiment(ctl: Run) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, out, err = ctl(
        "experiment", "create", name, "--arm", "a", "--arm", "b", "--reward", "continuous",
        "--reward-min", "0", "--reward-max", "200", "--policy", "gaussian-thompson",
        "--prior-mean", "0.4", "--prior-sd", "0.2",
    )  # fmt: skip
    assert code == 0, err
    assert "gaussian-thompson (prior_mean=0.4, prior_sd=0.2)" in out
    code, out, _ = ctl("decide", name)
    assert code == 0 and "gaussian_thompson" in out


def test_status_shows_guardrail_outcomes_a_rollback_and_readmit(server: Any, ctl: Run) -> None:
    """The rollout loop: a guardrail watches, the bad arm errs, banditd rolls it back, status
    says why, the operator fixes it and re-admits it, the history tells the story."""
    name = f"cli-{uuid.uuid4().hex[:10]}"
    with AdminClient(server.target, token=server.admin_token, actor="alice@test") as admin:
        admin.create_experiment(
            name,
            [("ctl", "model-1"), ("bad", "model-2")],
            policy=policy_config("fixed", weights={"ctl": 1, "bad": 1}),
            guardrails=[error_rate_guardrail("errors", 0.05, min_samples=30, level=0.9)],
        )
    with BanditClient(server.target, timeout_s=5.0) as client:
        decisions = client.decide_batch(name, 400)
        with client.reward_reporter() as reporter:
            for i, decision in enumerate(decisions):
                reporter.report(
                    decision.decision_id,
                    1.0 if i % 10 == 0 else None,
                    error=decision.arm == "bad",
                    latency_ms=20.0 + i % 7,
                )
            assert reporter.flush(timeout_s=30)

    def rolled_back() -> str | None:
        server.engine.flush()
        code, out, _ = ctl("status", name)
        _, rows = table_rows(out)
        return out if code == 0 and rows["bad"].split()[1] == "rolled-back" else None

    out = eventually(rolled_back, "the guardrail to roll 'bad' back", timeout_s=20)
    headers, rows = table_rows(out)
    assert "ERR" in headers and "P95 MS" in headers
    assert "100.00%" in rows["bad"] and "0.00%" in rows["ctl"]
    (line,) = [line for line in out.splitlines() if line.startswith("rolled back")]
    assert "bad by guardrail 'errors'" in line and "P(breach)" in line

    code, out, err = ctl("guardrail", "remove", name, "errors")
    assert code == 0, err
    code, out, err = ctl("arm", "readmit", name, "bad")
    assert code == 0, err
    assert "re-admitted arm 'bad'" in out
    code, out, _ = ctl("status", name)
    _, rows = table_rows(out)
    assert rows["bad"].split()[1] == "live"
    assert "rolled back" not in out

    code, out, _ = ctl("--json", "history", name)
    entries = json.loads(out)
    assert any(e.get("arm") == "bad" and e["actor"] != "alice@test" for e in entries)  # banditd
    assert (entries[-1]["actor"], entries[-1]["arm"]) == ("alice@test", "bad")
