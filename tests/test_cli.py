"""banditctl against a real banditd: create an experiment, look at it, decide, change it.

Each test calls main([...]) in-process and reads what it printed with capsys.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from wire import closed_target

Run = Callable[..., tuple[int, str, str]]


# -- no server needed --------------------------------------------------------------------


def test_help_exits_zero(run: Run) -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "experiment" in out and "status" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["experiment", "create", "x"], "--arm"),
        (["experiment", "create", "x", "--arm", "a", "--policy", "softmax"], "invalid choice"),
        (["experiment", "create", "x", "--arm", "a", "--epsilon", "0.1"], "--epsilon"),
        (["experiment", "create", "x", "--arm", "a", "--reward", "continuous"], "--reward-min"),
        (["experiment", "create", "x", "--arm", "a", "--weight", "a"], "ARM=WEIGHT"),
        (["experiment", "set-policy", "x"], "--policy"),
        (["arm", "import", "x", "a", "--pulls", "-1"], "--pulls"),
        (["--timeout", "0", "status", "x"], "--timeout"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(run: Run, argv: list[str], message: str) -> None:
    code, out, err = run("--target", closed_target(), *argv)
    assert code == 2
    assert message in err
    assert out == ""


def test_unreachable_server_is_one_line_naming_the_target(run: Run) -> None:
    target = closed_target()
    code, out, err = run("--target", target, "--timeout", "2", "experiment", "list")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("banditctl: ")
    assert target in err and "banditd serve" in err
    assert "Traceback" not in err


def test_target_and_token_come_from_the_environment(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = closed_target()
    monkeypatch.setenv("BANDITD_TARGET", target)
    monkeypatch.setenv("BANDITD_ADMIN_TOKEN", "secret")
    code, _, err = run("--timeout", "2", "experiment", "list")
    assert code == 1 and target in err


# -- against a real server ---------------------------------------------------------------


def test_create_list_and_show_an_experiment(ctl: Run) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    code, out, err = ctl(
        "experiment", "create", name,
        "--arm", "control=model-1", "--arm", "candidate=model-2",
        "--policy", "epsilon-greedy", "--epsilon", "0.2",
        "--default-arm", "control", "--description", "new ranking model",
    )  # fmt: skip
    assert code == 0, err
    assert name in out and "epsilon-greedy" in out

    code, out, _ = ctl("experiment", "list")
    assert code == 0 and name in out

    code, out, _ = ctl("experiment", "show", name)
    assert code == 0
    for text in ("control", "candidate", "model-2", "new ranking model", "epsilon=0.2"):
        assert text in out


def test_json_output_parses(ctl: Run, experiment: str) -> None:
    code, out, _ = ctl("--json", "experiment", "show", experiment)
    assert code == 0
    shown = json.loads(out)
    assert shown["name"] == experiment
    assert [arm["name"] for arm in shown["arms"]] == ["v1", "v2"]
    assert shown["default_arm"] == "v1"  # proto field names, not camelCase

    code, out, _ = ctl("--json", "experiment", "list")
    assert experiment in {e["name"] for e in json.loads(out)}

    code, out, _ = ctl("--json", "status", experiment)
    status = json.loads(out)
    assert {arm["name"] for arm in status["arms"]} == {"v1", "v2"}

    code, out, _ = ctl("--json", "decide", experiment)
    decision = json.loads(out)
    assert decision["arm"] in {"v1", "v2"} and decision["decision_id"]


def test_decide_prints_arm_version_and_decision_id(ctl: Run, experiment: str) -> None:
    code, out, err = ctl("decide", experiment, "--unit-id", "user-7")
    assert code == 0, err
    fields = dict(
        line.split(None, 1) for line in out.replace("decision id", "decision_id").splitlines()
    )
    assert fields["arm"] in {"v1", "v2"}
    assert fields["version"] == {"v1": "model-1", "v2": "model-2"}[fields["arm"]]
    assert fields["decision_id"]
    assert 0 < float(fields["propensity"]) <= 1


def test_status_shows_a_row_per_arm(ctl: Run, experiment: str) -> None:
    for _ in range(5):
        assert ctl("decide", experiment)[0] == 0
    code, out, err = ctl("status", experiment)
    assert code == 0, err
    header, table, notes = out.rstrip("\n").split("\n\n")
    assert experiment in header and "thompson" in header and "epoch" in header
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["ARM", "STATE", "VERSION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"v1", "v2"}
    assert "default" in rows["v1"] and "default" not in rows["v2"]
    assert "%" in rows["v2"]
    # Below the table, one line says how far the arms are from a promotion decision.
    assert notes.strip().startswith("promotion  waiting for samples:")


def test_pause_and_resume(ctl: Run, experiment: str) -> None:
    code, out, _ = ctl("experiment", "pause", experiment)
    assert code == 0 and "paused" in out
    _, out, _ = ctl("--json", "experiment", "show", experiment)
    assert json.loads(out)["paused"] is True
    code, out, _ = ctl("experiment", "resume", experiment)
    assert code == 0 and "resumed" in out
    _, out, _ = ctl("--json", "experiment", "show", experiment)
    assert json.loads(out)["paused"] is False


def test_add_retire_and_promote_arms(ctl: Run, experiment: str) -> None:
    assert ctl("arm", "add", experiment, "v3", "--version", "model-3")[0] == 0
    code, out, _ = ctl("arm", "retire", experiment, "v2")
    assert code == 0 and "retired" in out
    code, out, _ = ctl("arm", "promote", experiment, "v3")
    assert code == 0 and "promoted" in out

    _, out, _ = ctl("--json", "experiment", "show", experiment)
    shown = json.loads(out)
    assert shown["default_arm"] == "v3"
    states = {arm["name"]: arm["state"] for arm in shown["arms"]}
    assert states == {"v1": "ARM_STATE_RETIRED", "v2": "ARM_STATE_RETIRED", "v3": "ARM_STATE_LIVE"}


def test_set_policy_default_arm_and_import(ctl: Run, experiment: str) -> None:
    code, out, err = ctl(
        "experiment", "set-policy", experiment, "--policy", "fixed",
        "--weight", "v1=9", "--weight", "v2=1",
    )  # fmt: skip
    assert code == 0, err
    assert "fixed" in out
    assert ctl("arm", "set-default", experiment, "v2")[0] == 0
    args = ["arm", "import", experiment, "v1", "--pulls", "100", "--rewards", "40"]
    args += ["--reward-sum", "40", "--import-id", "history-2024"]
    code, out, _ = ctl(*args)
    assert code == 0 and "imported" in out
    code, out, _ = ctl(*args)
    assert code == 0 and "nothing changed" in out


def test_missing_token_is_one_unauthenticated_line(server: Any, run: Run) -> None:
    code, out, err = run("--target", server.target, "experiment", "list")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("banditctl: unauthenticated")
    assert "--token" in err


def test_unknown_experiment_is_one_not_found_line(ctl: Run) -> None:
    code, out, err = ctl("experiment", "show", "no-such-experiment")
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("banditctl: not found")
    assert "no-such-experiment" in err


# -- the whole loop ----------------------------------------------------------------------


def test_create_from_the_cli_decide_stream_rewards_and_watch_status_change(
    server: Any, ctl: Run
) -> None:
    """The operator's loop end to end: banditctl creates, the app decides and rewards."""
    from banditd_client import BanditClient

    name = f"e2e-{uuid.uuid4().hex[:10]}"
    code, _, err = ctl("experiment", "create", name, "--arm", "old=m-1", "--arm", "new=m-2")
    assert code == 0, err

    def status() -> dict[str, dict[str, Any]]:
        code, out, err = ctl("--json", "status", name)
        assert code == 0, err
        return {arm["name"]: arm for arm in json.loads(out)["arms"]}

    before = status()
    assert all(int(arm.get("pulls", 0)) == 0 for arm in before.values())
    assert before["old"]["traffic_share"] == pytest.approx(0.5, abs=0.1)

    with BanditClient(server.target, timeout_s=5) as client:
        decisions = client.decide_batch(name, 2000)
        # "new" converts every time, "old" never: a difference no policy can miss.
        with client.reward_reporter(batch_size=100) as reporter:
            for decision in decisions:
                if decision.arm == "new":
                    reporter.report(decision.decision_id, 1.0, event_id="conversion")
            assert reporter.flush(timeout_s=30)
        served_new = sum(d.arm == "new" for d in decisions)
        assert reporter.accepted == served_new > 0

    server.engine.flush()
    after = status()
    assert int(after["old"]["pulls"]) + int(after["new"]["pulls"]) == 2000
    assert int(after["new"]["rewards"]) == served_new
    assert float(after["new"]["mean_reward"]) == pytest.approx(1.0)
    assert float(after["new"]["prob_best"]) > 0.99
    assert float(after["new"]["traffic_share"]) > 0.95
    code, out, _ = ctl("status", name)
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("new "))
    assert str(served_new) in row.split()
