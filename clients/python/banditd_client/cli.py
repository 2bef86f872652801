"""banditctl: the admin command line of banditd, a thin shell over AdminClient.

It parses arguments, makes one call (guardrail add/remove, experiment promotion and timing:
read, then replace, keeping what was not given), and prints the answer: a readable summary
(see _render.py), or with --json the protobuf message as JSON. A failed call is one line on
stderr and exit code 1; a usage error exits with 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import grpc
from banditd.v1 import admin_pb2
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage

from banditd_client._channel import check_actor
from banditd_client._render import (
    DEFAULT_LEVEL,
    DEFAULT_MAX_EXPECTED_LOSS,
    DEFAULT_MIN_SAMPLES,
    DEFAULT_PROB_BEST,
    DEFAULT_PROMOTION_MIN_SAMPLES,
    DEFAULT_SEGMENT_MAX_VALUES,
    DEFAULT_SEGMENT_MIN_SAMPLES,
    experiment_text,
    fields_text,
    guardrails_table,
    history_text,
    limits_text,
    policy_text,
    promotion_text,
    reward_text,
    segmentation_text,
    status_text,
    table,
    timing_text,
)
from banditd_client.admin import (
    MAX_HISTORY_ENTRIES,
    POLICY_PARAMETERS,
    REWARD_TYPE_NAMES,
    AdminClient,
    arm_limits,
    error_rate_guardrail,
    has_limits,
    latency_guardrail,
    policy_config,
    promotion_rule,
    reward_timing,
    segmentation,
)
from banditd_client.client import DEFAULT_TARGET, BanditClient
from banditd_client.errors import BanditError, NotFound

PROG = "banditctl"
TARGET_ENV = "BANDITD_TARGET"
TOKEN_ENV = "BANDITD_ADMIN_TOKEN"
ACTOR_ENV = "BANDITD_ACTOR"
POLICY_CHOICES = ("thompson", "gaussian-thompson", "ucb1", "kl-ucb", "epsilon-greedy", "fixed")


class UsageError(Exception):
    """Arguments that parse but do not fit together; reported like argparse's own errors."""


@dataclass(frozen=True)
class Output:
    """What a command answers: `value` for --json, `text` for people."""

    value: Any
    text: str


class Session:
    """The connections of one banditctl run, opened on first use."""

    def __init__(
        self, target: str, token: str | None, timeout_s: float, actor: str | None = None
    ) -> None:
        self.target = target
        self.token = token
        self.timeout_s = timeout_s
        self.actor = actor
        self._admin: AdminClient | None = None
        self._client: BanditClient | None = None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(
                self.target, token=self.token, timeout_s=self.timeout_s, actor=self.actor
            )
        return self._admin

    @property
    def client(self) -> BanditClient:
        if self._client is None:
            self._client = BanditClient(self.target, timeout_s=self.timeout_s)
        return self._client

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
        if self._client is not None:
            self._client.close()


Command = Callable[[argparse.Namespace, Session], Output]


# -- argument types ----------------------------------------------------------------------


def _arm_arg(text: str) -> tuple[str, str]:
    name, _, version = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME or NAME=VERSION, got {text!r}")
    return name, version


def _weight_arg(text: str) -> tuple[str, float]:
    arm, sep, weight = text.partition("=")
    try:
        value = float(weight)
    except ValueError:
        value = math.nan
    if not arm or not sep or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected ARM=WEIGHT (a number), got {text!r}")
    return arm, value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _history_limit(text: str) -> int:
    value = _non_negative_int(text)
    if not 1 <= value <= MAX_HISTORY_ENTRIES:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_HISTORY_ENTRIES}, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _non_negative_seconds(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected seconds >= 0, got {text!r}")
    return value


# The units a duration may carry, in seconds.
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


def _duration(text: str) -> float:
    """Seconds >= 0: plain (90) or with a unit (60s, 10m, 2h, 1d, 1.5h)."""
    raw = text.strip().lower()
    scale = 1
    if raw and raw[-1] in _DURATION_UNITS:
        scale = _DURATION_UNITS[raw[-1]]
        raw = raw[:-1].strip()
    try:
        value = float(raw) * scale
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(
            f"expected seconds >= 0 or a duration such as 60s, 10m, 2h or 1d, got {text!r}"
        )
    return value


# `experiment timing --default-reward none` unsets the default reward.
_UNSET = "none"


def _reward_or_none(text: str) -> float | str:
    if text.strip().lower() == _UNSET:
        return _UNSET
    try:
        return _finite(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a reward (a number) or {_UNSET!r} to unset it, got {text!r}"
        ) from None


def _positive_ms(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected milliseconds > 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    """0.05 or 5%: a number within [0, 1]."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise argparse.ArgumentTypeError(
            f"expected a share from 0 to 1 or a percentage (0.05 or 5%), got {text!r}"
        )
    return value


def _probability(text: str) -> float:
    """Strictly between 0 and 1 (0.95 or 95%)."""
    value = _fraction(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected more than 0 and less than 1, got {text!r}")
    return value


def _prob_best(text: str) -> float:
    """A promotion's P(best): 0.5 up to, not including, 1 (0.95 or 95%)."""
    value = _fraction(text)
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected 0.5 or more and less than 1, got {text!r}")
    return value


def _expected_loss(text: str) -> float:
    """A promotion's highest expected loss: more than 0, at most 1 (0.01 or 1%)."""
    value = _fraction(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected more than 0 and at most 1 (0.01 or 1% of the best mean), got {text!r}"
        )
    return value


def _quantile(text: str) -> float:
    """0.95, 95% or p95."""
    raw = text.strip().lower()
    if raw.startswith("p"):
        raw = f"{raw[1:]}%"
    try:
        return _probability(raw)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a quantile such as 0.95, 95% or p95, got {text!r}"
        ) from None


def _ramp(text: str) -> tuple[float, ...]:
    """Comma-separated shares, e.g. 0.05,0.25,0.5 or 5%,25%,50%."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"expected shares such as 0.05,0.25,0.5, got {text!r}")
    try:
        return tuple(_fraction(part) for part in parts)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"in ramp {text!r}: {error}") from None


def _actor_arg(text: str) -> str:
    try:
        return check_actor(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _policy_arg(text: str) -> str:
    # Accept the protobuf spelling (kl_ucb) as well as the CLI one (kl-ucb).
    return text.strip().lower().replace("_", "-")


# -- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Administer banditd: experiments, arms, guardrails and their status.",
    )
    parser.add_argument(
        "--target",
        default=os.environ.get(TARGET_ENV, DEFAULT_TARGET),
        help=f"banditd host:port (env {TARGET_ENV}; default {DEFAULT_TARGET})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"admin token (env {TOKEN_ENV})",
    )
    parser.add_argument(
        "--actor",
        type=_actor_arg,
        default=os.environ.get(ACTOR_ENV),
        metavar="NAME",
        help=f"who makes the change, for the history (env {ACTOR_ENV}; default user@host)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="deadline of each call (default 5)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy_options = argparse.ArgumentParser(add_help=False)
    group = policy_options.add_argument_group("policy")
    group.add_argument("--prior-alpha", type=_finite, metavar="X", help="thompson: Beta prior α")
    group.add_argument("--prior-beta", type=_finite, metavar="Y", help="thompson: Beta prior β")
    group.add_argument(
        "--prior-mean",
        type=_finite,
        metavar="M",
        help="gaussian-thompson: prior mean (reward range scaled to [0, 1])",
    )
    group.add_argument(
        "--prior-sd", type=_finite, metavar="S", help="gaussian-thompson: prior standard deviation"
    )
    group.add_argument("--epsilon", type=_finite, metavar="E", help="epsilon-greedy: exploration")
    group.add_argument(
        "--exploration", type=_finite, metavar="C", help="ucb1, kl-ucb: scale of the bonus"
    )
    group.add_argument(
        "--weight",
        type=_weight_arg,
        action="append",
        metavar="ARM=W",
        help="fixed: relative weight of an arm (repeat per arm)",
    )

    limit_options = argparse.ArgumentParser(add_help=False)
    group = limit_options.add_argument_group("limits (shares as 0.05 or 5%)")
    group.add_argument("--cap", type=_fraction, metavar="SHARE", help="at most this share")
    group.add_argument("--floor", type=_fraction, metavar="SHARE", help="at least this share")
    group.add_argument(
        "--cap-until-rewards",
        type=_non_negative_int,
        metavar="N",
        help="lift the cap once the arm has N rewards",
    )
    group.add_argument(
        "--ramp",
        type=_ramp,
        metavar="S1,S2,...",
        help="canary ramp: exactly these shares in turn, e.g. 0.05,0.25,0.5",
    )
    group.add_argument(
        "--ramp-min-decisions",
        type=_non_negative_int,
        metavar="N",
        help="decisions the arm serves in a step before the next",
    )
    group.add_argument(
        "--ramp-min-seconds",
        type=_non_negative_seconds,
        metavar="S",
        help="seconds a step lasts at least",
    )

    experiment = commands.add_parser("experiment", help="create, list, show, pause, ...")
    exp_commands = experiment.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = exp_commands.add_parser(
        "create", parents=[policy_options], help="create an experiment"
    )
    create.add_argument("name")
    create.add_argument(
        "--arm",
        type=_arm_arg,
        action="append",
        required=True,
        metavar="NAME[=VERSION]",
        help="an arm and the model version it serves (repeat per arm)",
    )
    create.add_argument("--policy", type=_policy_arg, choices=POLICY_CHOICES, default="thompson")
    create.add_argument("--reward", choices=("binary", "continuous"), default="binary")
    create.add_argument("--reward-min", type=_finite, metavar="A", help="continuous: lowest")
    create.add_argument("--reward-max", type=_finite, metavar="B", help="continuous: highest")
    create.add_argument("--default-arm", metavar="ARM", help="served while paused (first arm)")
    create.add_argument("--description", default="", metavar="TEXT")
    group = create.add_argument_group("promotion (when an arm is ready to take all traffic)")
    group.add_argument(
        "--auto-promote", action="store_true", help="banditd promotes the ready arm itself"
    )
    group.add_argument(
        "--promotion-prob-best",
        type=_prob_best,
        metavar="P",
        help=f"P(best) the arm needs, 0.5 to <1 (default {DEFAULT_PROB_BEST})",
    )
    group.add_argument(
        "--promotion-max-loss",
        type=_expected_loss,
        metavar="L",
        help="highest expected loss, 0.01 or 1%% of the best mean "
        f"(default {DEFAULT_MAX_EXPECTED_LOSS})",
    )
    group.add_argument(
        "--promotion-min-samples",
        type=_non_negative_int,
        metavar="N",
        help=f"samples every live arm needs first (default {DEFAULT_PROMOTION_MIN_SAMPLES})",
    )
    group = create.add_argument_group("reward timing (seconds, or 60s, 10m, 2h, 1d)")
    group.add_argument(
        "--reward-wait",
        type=_duration,
        metavar="S",
        help="delayed rewards: a decision counts only once this old",
    )
    group.add_argument(
        "--default-reward",
        type=_finite,
        metavar="R",
        help="what a decision that got no reward by then counts (binary: 0)",
    )
    group.add_argument(
        "--window", type=_duration, metavar="S", help="the policy sees only the last S"
    )
    create.add_argument(
        "--segment-by",
        metavar="ATTRIBUTE",
        help="statistics and allocation per value of this request attribute",
    )
    create.set_defaults(run=_experiment_create, parser=create)

    listing = exp_commands.add_parser("list", help="list experiments")
    listing.set_defaults(run=_experiment_list, parser=listing)

    for action, run, help_text in (
        ("show", _experiment_show, "show an experiment's configuration"),
        ("pause", _experiment_pause, "serve every request the default arm"),
        ("resume", _experiment_resume, "let the policy decide again"),
    ):
        sub = exp_commands.add_parser(action, help=help_text)
        sub.add_argument("name")
        sub.set_defaults(run=run, parser=sub)

    set_policy = exp_commands.add_parser(
        "set-policy", parents=[policy_options], help="replace the policy"
    )
    set_policy.add_argument("name")
    set_policy.add_argument("--policy", type=_policy_arg, choices=POLICY_CHOICES, required=True)
    set_policy.set_defaults(run=_experiment_set_policy, parser=set_policy)

    promotion = exp_commands.add_parser(
        "promotion",
        help="when an arm is ready for promotion, and whether to promote it automatically",
        description="Changes the options given and keeps the rest of the rule; with none, "
        "prints the rule in force.",
    )
    promotion.add_argument("name")
    promotion.add_argument(
        "--prob-best",
        type=_prob_best,
        metavar="P",
        help=f"P(best) the arm needs, 0.5 to <1 (default {DEFAULT_PROB_BEST})",
    )
    promotion.add_argument(
        "--max-expected-loss",
        type=_expected_loss,
        metavar="L",
        help="highest expected loss, relative to the best arm's mean: 0.01 or 1%% "
        f"(default {DEFAULT_MAX_EXPECTED_LOSS})",
    )
    promotion.add_argument(
        "--min-samples",
        type=_non_negative_int,
        metavar="N",
        help="decisions (binary) or rewards (continuous) every live arm needs first "
        f"(default {DEFAULT_PROMOTION_MIN_SAMPLES})",
    )
    auto = promotion.add_mutually_exclusive_group()
    auto.add_argument(
        "--auto", dest="auto", action="store_true", default=None, help="promote automatically"
    )
    auto.add_argument(
        "--no-auto", dest="auto", action="store_false", help="promote by hand (arm promote)"
    )
    promotion.set_defaults(run=_experiment_promotion, parser=promotion)

    timing = exp_commands.add_parser(
        "timing",
        help="delayed rewards (a wait) and drifting ones (a sliding window)",
        description="Durations are seconds or 60s, 10m, 2h, 1d; 0 turns each off. Changes the "
        "options given and keeps the rest; with none, prints the timing in force.",
    )
    timing.add_argument("name")
    timing.add_argument(
        "--reward-wait",
        type=_duration,
        metavar="S",
        help="a decision counts only once this old; until then neither success nor failure",
    )
    timing.add_argument(
        "--default-reward",
        type=_reward_or_none,
        metavar="R",
        help=f"what a matured decision without a reward counts ({_UNSET!r}: unset; binary: 0)",
    )
    timing.add_argument(
        "--window", type=_duration, metavar="S", help="the policy sees only the last S"
    )
    timing.set_defaults(run=_experiment_timing, parser=timing)

    segment = exp_commands.add_parser(
        "segment", help="statistics and allocation per value of a request attribute"
    )
    segment.add_argument("name")
    segment.add_argument(
        "attribute", nargs="?", metavar="ATTRIBUTE", help="the attribute, e.g. region"
    )
    segment.add_argument("--off", action="store_true", help="turn segmentation off")
    segment.add_argument(
        "--min-samples",
        type=_non_negative_int,
        metavar="N",
        help="a segment decides from its own statistics once its arms have N decisions "
        f"(default {DEFAULT_SEGMENT_MIN_SAMPLES})",
    )
    segment.add_argument(
        "--max-values",
        type=_non_negative_int,
        metavar="N",
        help=f"at most N values get statistics of their own (default {DEFAULT_SEGMENT_MAX_VALUES})",
    )
    segment.set_defaults(run=_experiment_segment, parser=segment)

    arm = commands.add_parser(
        "arm", help="add, limits, switch, retire, promote, readmit, set-default, import"
    )
    arm_commands = arm.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = arm_commands.add_parser(
        "add", parents=[limit_options], help="add a live arm (or a shadow arm)"
    )
    add.add_argument("experiment")
    add.add_argument("arm")
    add.add_argument("--version", default="", help="the model version the arm serves")
    add.add_argument("--weight", type=_finite, default=0.0, help="its weight (fixed policy)")
    add.add_argument(
        "--shadow",
        action="store_true",
        help="shadow mode: every request is mirrored to it, its answers are never served",
    )
    add.set_defaults(run=_arm_add, parser=add)

    limits = arm_commands.add_parser(
        "limits", parents=[limit_options], help="set or clear an arm's cap, floor and ramp"
    )
    limits.add_argument("experiment")
    limits.add_argument("arm")
    limits.add_argument("--clear", action="store_true", help="remove every limit of the arm")
    limits.set_defaults(run=_arm_limits, parser=limits)

    for action, run, help_text in (
        ("switch", _arm_switch, "blue-green: all traffic to this arm, in one change"),
        ("retire", _arm_retire, "drain an arm to zero traffic"),
        ("promote", _arm_promote, "give an arm all traffic and retire the others"),
        ("readmit", _arm_readmit, "bring back an arm that a guardrail rolled back"),
        ("set-default", _arm_set_default, "make an arm the default arm"),
    ):
        sub = arm_commands.add_parser(action, help=help_text)
        sub.add_argument("experiment")
        sub.add_argument("arm")
        sub.set_defaults(run=run, parser=sub)

    imports = arm_commands.add_parser("import", help="add historical outcomes to an arm")
    imports.add_argument("experiment")
    imports.add_argument("arm")
    imports.add_argument("--pulls", type=_non_negative_int, required=True)
    imports.add_argument("--rewards", type=_non_negative_int, required=True)
    imports.add_argument("--reward-sum", type=_finite, required=True)
    imports.add_argument("--reward-sum-squares", type=_finite, default=0.0)
    imports.add_argument("--import-id", required=True, help="importing it again changes nothing")
    imports.set_defaults(run=_arm_import, parser=imports)

    guardrail = commands.add_parser(
        "guardrail", help="add, remove, list the limits that roll an arm back"
    )
    guardrail_commands = guardrail.add_subparsers(dest="action", required=True, metavar="ACTION")
    guard_add = guardrail_commands.add_parser(
        "add", help="add a guardrail (one of the same name is replaced)"
    )
    guard_add.add_argument("experiment")
    guard_add.add_argument("name")
    kind = guard_add.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--error-rate-increase",
        type=_fraction,
        metavar="X",
        help="error rate may exceed the control's by at most X (0.01 or 1%%: one point)",
    )
    kind.add_argument(
        "--latency-ceiling-ms",
        type=_positive_ms,
        metavar="MS",
        help="the --quantile of latency may not exceed MS",
    )
    guard_add.add_argument(
        "--control", metavar="ARM", help="error rate: the arm to compare with (the default arm)"
    )
    guard_add.add_argument(
        "--quantile", type=_quantile, metavar="Q", help="latency: 0.99, 99%% or p99 (p95)"
    )
    guard_add.add_argument(
        "--min-samples",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help=f"observations before an arm is judged (server default {DEFAULT_MIN_SAMPLES})",
    )
    guard_add.add_argument(
        "--level",
        type=_probability,
        default=0.0,
        metavar="P",
        help=f"breach probability that rolls an arm back (server default {DEFAULT_LEVEL})",
    )
    guard_add.add_argument(
        "--segment",
        default="",
        metavar="VALUE",
        help="judge only this segment's decisions (a value of the segmentation attribute)",
    )
    guard_add.add_argument(
        "--window",
        type=_duration,
        default=None,
        metavar="S",
        help="judge the observations of the last S (e.g. 15m; server default 15m; 0: all)",
    )
    guard_add.set_defaults(run=_guardrail_add, parser=guard_add)

    guard_remove = guardrail_commands.add_parser("remove", help="remove a guardrail")
    guard_remove.add_argument("experiment")
    guard_remove.add_argument("name")
    guard_remove.set_defaults(run=_guardrail_remove, parser=guard_remove)

    guard_list = guardrail_commands.add_parser("list", help="list an experiment's guardrails")
    guard_list.add_argument("experiment")
    guard_list.set_defaults(run=_guardrail_list, parser=guard_list)

    status = commands.add_parser(
        "status", help="per-arm statistics, shares, P(best) and promotion readiness"
    )
    status.add_argument("experiment")
    status.add_argument(
        "--segment",
        default="",
        metavar="VALUE",
        help="one segment's statistics (a value of the segmentation attribute)",
    )
    status.set_defaults(run=_status, parser=status)

    history = commands.add_parser("history", help="who changed what, and automatic actions")
    history.add_argument("experiment")
    history.add_argument(
        "--limit",
        type=_history_limit,
        default=100,
        metavar="N",
        help="the latest N entries (default 100)",
    )
    history.set_defaults(run=_history, parser=history)

    decide = commands.add_parser("decide", help="make one decision (a quick check)")
    decide.add_argument("experiment")
    decide.add_argument("--unit-id", help="the user or session to decide for")
    decide.set_defaults(run=_decide, parser=decide)
    return parser


# -- commands ----------------------------------------------------------------------------


# The option that sets each policy_config parameter.
_PARAMETER_OPTIONS = {
    "prior_alpha": "--prior-alpha",
    "prior_beta": "--prior-beta",
    "prior_mean": "--prior-mean",
    "prior_sd": "--prior-sd",
    "exploration": "--exploration",
    "epsilon": "--epsilon",
    "weights": "--weight",
}


def _policy_from_args(args: argparse.Namespace) -> Any:
    given = {
        "prior_alpha": args.prior_alpha,
        "prior_beta": args.prior_beta,
        "prior_mean": args.prior_mean,
        "prior_sd": args.prior_sd,
        "exploration": args.exploration,
        "epsilon": args.epsilon,
        "weights": dict(args.weight) if args.weight else None,
    }
    allowed = POLICY_PARAMETERS[args.policy.replace("-", "_")]
    misplaced = [
        _PARAMETER_OPTIONS[key]
        for key, value in given.items()
        if value is not None and key not in allowed
    ]
    if misplaced:
        takes = ", ".join(sorted(_PARAMETER_OPTIONS[key] for key in allowed))
        raise UsageError(
            f"{', '.join(misplaced)} does not apply to --policy {args.policy} (it takes {takes})"
        )
    return policy_config(args.policy, **given)


_LIMIT_OPTIONS = ("cap", "floor", "cap_until_rewards", "ramp", "ramp_min_decisions")


def _limits_given(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) is not None for name in (*_LIMIT_OPTIONS, "ramp_min_seconds"))


def _limits_from_args(args: argparse.Namespace) -> Any:
    """The ArmLimits the limit options describe (empty when none is given)."""
    if args.cap_until_rewards is not None and args.cap is None:
        raise UsageError("--cap-until-rewards lifts a cap: give --cap too")
    if args.ramp is None and (
        args.ramp_min_decisions is not None or args.ramp_min_seconds is not None
    ):
        raise UsageError("--ramp-min-decisions and --ramp-min-seconds apply to --ramp only")
    try:
        return arm_limits(
            cap=args.cap,
            floor=args.floor,
            cap_until_rewards=args.cap_until_rewards or 0,
            ramp_steps=args.ramp or (),
            ramp_min_decisions=args.ramp_min_decisions or 0,
            ramp_min_seconds=args.ramp_min_seconds or 0.0,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def _usage(build: Callable[[], Any]) -> Any:
    """Calls a builder; the ValueError of a value it refuses is a usage error."""
    try:
        return build()
    except ValueError as error:
        raise UsageError(str(error)) from None


def _create_promotion(args: argparse.Namespace) -> Any:
    values = (args.promotion_prob_best, args.promotion_max_loss, args.promotion_min_samples)
    if not args.auto_promote and all(value is None for value in values):
        return None
    return _usage(
        lambda: promotion_rule(
            prob_best=args.promotion_prob_best or 0.0,
            max_expected_loss=args.promotion_max_loss or 0.0,
            min_samples=args.promotion_min_samples or 0,
            auto_promote=args.auto_promote,
        )
    )


def _create_timing(args: argparse.Namespace) -> Any:
    if args.reward_wait is None and args.default_reward is None and args.window is None:
        return None
    return _usage(
        lambda: reward_timing(
            reward_wait_s=args.reward_wait or 0.0,
            default_reward=args.default_reward,
            window_s=args.window or 0.0,
        )
    )


def _experiment_create(args: argparse.Namespace, session: Session) -> Output:
    continuous = args.reward == "continuous"
    bounds_given = args.reward_min is not None or args.reward_max is not None
    if continuous and (args.reward_min is None or args.reward_max is None):
        raise UsageError("--reward continuous needs --reward-min and --reward-max")
    if not continuous and bounds_given:
        raise UsageError("--reward-min and --reward-max apply to --reward continuous only")
    if args.segment_by is not None and not args.segment_by:
        raise UsageError("--segment-by needs the name of a request attribute")
    promotion = _create_promotion(args)
    timing = _create_timing(args)
    experiment = session.admin.create_experiment(
        args.name,
        args.arm,
        policy=_policy_from_args(args),
        reward_type=args.reward,
        reward_min=args.reward_min,
        reward_max=args.reward_max,
        default_arm=args.default_arm,
        description=args.description,
        promotion=promotion,
        timing=timing,
        segmentation=args.segment_by,
    )
    text = f"created experiment {experiment.name!r}\n\n{experiment_text(experiment)}"
    return Output(experiment, text)


def _experiment_list(args: argparse.Namespace, session: Session) -> Output:
    experiments = session.admin.list_experiments()
    if not experiments:
        text = f"no experiments; create one with: {PROG} experiment create NAME --arm A --arm B"
        return Output(experiments, text)
    rows = [
        [
            e.name,
            policy_text(e.policy),
            reward_text(e),
            str(sum(a.state == _LIVE for a in e.arms)),
            e.default_arm,
            "yes" if e.paused else "no",
            str(e.epoch),
        ]
        for e in sorted(experiments, key=lambda e: e.name)
    ]
    headers = ["EXPERIMENT", "POLICY", "REWARD", "LIVE ARMS", "DEFAULT", "PAUSED", "EPOCH"]
    return Output(experiments, table(headers, rows, right={3, 6}))


def _experiment_show(args: argparse.Namespace, session: Session) -> Output:
    experiment = session.admin.get_experiment(args.name)
    return Output(experiment, experiment_text(experiment))


def _experiment_pause(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.pause(args.name)
    text = f"paused {e.name!r}: every request gets its default arm {e.default_arm!r}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _experiment_resume(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.resume(args.name)
    text = f"resumed {e.name!r}: policy {policy_text(e.policy)} decides again"
    return Output(e, f"{text} (epoch {e.epoch})")


def _experiment_set_policy(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.set_policy(args.name, _policy_from_args(args))
    return Output(e, f"{e.name!r} now uses policy {policy_text(e.policy)} (epoch {e.epoch})")


def _is_binary(experiment: Any) -> bool:
    return REWARD_TYPE_NAMES.get(experiment.reward_type) == "binary"


def _experiment_promotion(args: argparse.Namespace, session: Session) -> Output:
    given = {
        "prob_best": args.prob_best,
        "max_expected_loss": args.max_expected_loss,
        "min_samples": args.min_samples,
        "auto_promote": args.auto,
    }
    changes = {key: value for key, value in given.items() if value is not None}
    _usage(lambda: promotion_rule(**changes))  # refuse bad values before any call
    current = session.admin.get_experiment(args.name)
    if not changes:
        rule = promotion_text(current.promotion, _is_binary(current))
        return Output(current, f"promotion rule of {current.name!r}: {rule}")
    # SetPromotionRule replaces the whole rule: keep what was not given.
    rule = current.promotion
    merged = {
        "prob_best": rule.prob_best,
        "max_expected_loss": rule.max_expected_loss,
        "min_samples": rule.min_samples,
        "auto_promote": rule.auto_promote,
        **changes,
    }
    e = session.admin.set_promotion_rule(args.name, **merged)
    text = f"promotion rule of {e.name!r}: {promotion_text(e.promotion, _is_binary(e))}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _timing_in_force(experiment: Any) -> str:
    return timing_text(experiment.timing, _is_binary(experiment)) or (
        "none: rewards count at once and the policy sees all history"
    )


def _experiment_timing(args: argparse.Namespace, session: Session) -> Output:
    given = args.reward_wait is not None or args.default_reward is not None
    given = given or args.window is not None
    default = None if args.default_reward in (None, _UNSET) else args.default_reward
    _usage(
        lambda: reward_timing(
            reward_wait_s=args.reward_wait or 0.0,
            default_reward=default,
            window_s=args.window or 0.0,
        )
    )
    current = session.admin.get_experiment(args.name)
    if not given:
        return Output(current, f"reward timing of {current.name!r}: {_timing_in_force(current)}")
    # SetRewardTiming replaces the whole timing: keep what was not given.
    timing = current.timing
    if args.default_reward is None:
        default = timing.default_reward if timing.HasField("default_reward") else None
    e = session.admin.set_reward_timing(
        args.name,
        reward_wait_s=timing.reward_wait_s if args.reward_wait is None else args.reward_wait,
        default_reward=default,
        window_s=timing.window_s if args.window is None else args.window,
    )
    return Output(e, f"reward timing of {e.name!r}: {_timing_in_force(e)} (epoch {e.epoch})")


def _experiment_segment(args: argparse.Namespace, session: Session) -> Output:
    if args.off and args.attribute:
        raise UsageError("give the ATTRIBUTE to segment by or --off, not both")
    if args.off and (args.min_samples is not None or args.max_values is not None):
        raise UsageError("--min-samples and --max-values apply to a segmentation, not --off")
    if not args.off and not args.attribute:
        raise UsageError("give the ATTRIBUTE to segment by (e.g. region), or --off")
    attribute = "" if args.off else args.attribute
    min_samples, max_values = args.min_samples or 0, args.max_values or 0
    _usage(lambda: segmentation(attribute, min_samples=min_samples, max_values=max_values))
    e = session.admin.set_segmentation(
        args.name, attribute, min_samples=min_samples, max_values=max_values
    )
    if args.off:
        text = f"segmentation of {e.name!r} is off: every decision uses the experiment's statistics"
    else:
        text = f"{e.name!r} now keeps statistics {segmentation_text(e.segmentation)}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_add(args: argparse.Namespace, session: Session) -> Output:
    limits = _limits_from_args(args)
    e = session.admin.add_arm(
        args.experiment,
        args.arm,
        args.version,
        weight=args.weight,
        shadow=args.shadow,
        limits=limits,
    )
    version = f" (version {args.version!r})" if args.version else ""
    text = f"added arm {args.arm!r}{version} to {e.name!r}"
    if args.shadow:
        text += " in shadow mode: every request is mirrored to it, it is never served"
    if has_limits(limits):
        text += f"; limits {_arm_limits_text(e, args.arm, limits)}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_limits(args: argparse.Namespace, session: Session) -> Output:
    if args.clear and _limits_given(args):
        raise UsageError("--clear removes every limit; give it alone")
    if not args.clear and not _limits_given(args):
        raise UsageError(
            "give the new limits (--cap, --floor, --ramp, ...) or --clear to remove them"
        )
    limits = _limits_from_args(args)
    e = session.admin.set_arm_limits(
        args.experiment,
        args.arm,
        cap=args.cap,
        floor=args.floor,
        cap_until_rewards=args.cap_until_rewards or 0,
        ramp_steps=args.ramp or (),
        ramp_min_decisions=args.ramp_min_decisions or 0,
        ramp_min_seconds=args.ramp_min_seconds or 0.0,
    )
    if args.clear:
        text = f"cleared the limits of arm {args.arm!r} of {e.name!r}: the policy alone decides"
    else:
        text = (
            f"arm {args.arm!r} of {e.name!r} now has limits {_arm_limits_text(e, args.arm, limits)}"
        )
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_limits_text(experiment: Any, arm: str, sent: Any) -> str:
    # What the server now holds for the arm, or what was sent if it does not echo it.
    for candidate in experiment.arms:
        if candidate.name == arm and has_limits(candidate.limits):
            return limits_text(candidate.limits)
    return limits_text(sent)


def _arm_switch(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.switch_arm(args.experiment, args.arm)
    # Name the arm the server says takes all traffic (the one with weight), not our argument.
    weights = e.policy.fixed.weights if e.policy.WhichOneof("params") == "fixed" else {}
    winner = max(weights, key=lambda arm: weights[arm]) if weights else args.arm
    version = next((a.version for a in e.arms if a.name == winner and a.version), "")
    version_text = f" (version {version!r})" if version else ""
    text = f"switched {e.name!r}: arm {winner!r}{version_text} now takes all traffic"
    return Output(e, f"{text}; the other arms stay live at weight 0 (epoch {e.epoch})")


def _arm_readmit(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.readmit_arm(args.experiment, args.arm)
    text = f"re-admitted arm {args.arm!r} of {e.name!r}: it is live again"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_retire(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.retire_arm(args.experiment, args.arm)
    text = f"retired arm {args.arm!r} of {e.name!r}: it gets no more traffic"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_promote(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.promote_arm(args.experiment, args.arm)
    retired = [a.name for a in e.arms if a.state == _RETIRED]
    text = f"promoted arm {args.arm!r} of {e.name!r}: it is the default and gets all traffic"
    if retired:
        text += f"; retired: {', '.join(retired)}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_set_default(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.set_default_arm(args.experiment, args.arm)
    return Output(e, f"{e.default_arm!r} is now the default arm of {e.name!r} (epoch {e.epoch})")


def _arm_import(args: argparse.Namespace, session: Session) -> Output:
    response = session.admin.import_outcomes(
        args.experiment,
        args.arm,
        pulls=args.pulls,
        rewards=args.rewards,
        reward_sum=args.reward_sum,
        reward_sum_squares=args.reward_sum_squares,
        import_id=args.import_id,
    )
    if response.duplicate:
        text = f"import {args.import_id!r} was applied before; nothing changed"
    else:
        text = (
            f"imported into {args.experiment!r} arm {args.arm!r}: {args.pulls} pulls, "
            f"{args.rewards} rewards, reward sum {args.reward_sum:g}"
        )
    return Output(response, text)


def _guardrail_from_args(args: argparse.Namespace) -> Any:
    error_rate = args.error_rate_increase is not None
    if error_rate and args.quantile is not None:
        raise UsageError("--quantile applies to --latency-ceiling-ms only")
    if not error_rate and args.control is not None:
        raise UsageError("--control applies to --error-rate-increase only")
    try:
        if error_rate:
            return error_rate_guardrail(
                args.name,
                args.error_rate_increase,
                control_arm=args.control or "",
                min_samples=args.min_samples,
                level=args.level,
                segment=args.segment,
                window_s=args.window,
            )
        return latency_guardrail(
            args.name,
            args.latency_ceiling_ms,
            quantile=args.quantile or 0.0,
            min_samples=args.min_samples,
            level=args.level,
            segment=args.segment,
            window_s=args.window,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def replace_guardrail(guardrails: list[Any], new: Any) -> tuple[list[Any], bool]:
    """The list with `new` in place of the guardrail of its name (or appended), and whether
    it replaced one."""
    names = [g.name for g in guardrails]
    if new.name in names:
        index = names.index(new.name)
        return [*guardrails[:index], new, *guardrails[index + 1 :]], True
    return [*guardrails, new], False


def _guardrail_add(args: argparse.Namespace, session: Session) -> Output:
    new = _guardrail_from_args(args)
    # SetGuardrails replaces the whole list: read it, change one entry, write it back.
    current = session.admin.get_experiment(args.experiment)
    guardrails, replaced = replace_guardrail(list(current.guardrails), new)
    e = session.admin.set_guardrails(args.experiment, guardrails)
    verb = "replaced" if replaced else "added"
    text = f"{verb} guardrail {args.name!r} of {e.name!r} (epoch {e.epoch})"
    return Output(e, f"{text}\n\n{guardrails_table(e)}")


def _guardrail_remove(args: argparse.Namespace, session: Session) -> Output:
    current = session.admin.get_experiment(args.experiment)
    names = [g.name for g in current.guardrails]
    if args.name not in names:
        has = f"guardrails: {', '.join(names)}" if names else "it has none"
        raise NotFound(
            grpc.StatusCode.NOT_FOUND,
            f"experiment {current.name!r} has no guardrail {args.name!r} ({has})",
        )
    kept = [g for g in current.guardrails if g.name != args.name]
    e = session.admin.set_guardrails(args.experiment, kept)
    text = f"removed guardrail {args.name!r} of {e.name!r} (epoch {e.epoch})"
    if e.guardrails:
        text += f"\n\n{guardrails_table(e)}"
    return Output(e, text)


def _guardrail_list(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.get_experiment(args.experiment)
    guardrails = list(e.guardrails)
    if not guardrails:
        text = (
            f"{e.name!r} has no guardrails; add one with: {PROG} guardrail add {e.name} NAME "
            "--error-rate-increase 0.01 (or --latency-ceiling-ms MS)"
        )
        return Output(guardrails, text)
    return Output(guardrails, guardrails_table(e))


def _status(args: argparse.Namespace, session: Session) -> Output:
    status = session.admin.status(args.experiment, segment=args.segment)
    return Output(status, status_text(status, requested_segment=args.segment))


def _history(args: argparse.Namespace, session: Session) -> Output:
    entries = session.admin.history(args.experiment, limit=args.limit)
    return Output(entries, history_text(entries))


def _decide(args: argparse.Namespace, session: Session) -> Output:
    decision = session.client.decide(args.experiment, unit_id=args.unit_id)
    fields = [
        ("arm", decision.arm),
        ("version", decision.version),
        ("decision id", decision.decision_id),
        ("propensity", f"{decision.propensity:.4f}"),
        ("policy", decision.policy),
        ("epoch", str(decision.epoch)),
    ]
    if decision.paused:
        fields.append(("paused", "yes: every request gets the default arm"))
    for shadow in decision.shadows:
        version = f" (version {shadow.version})" if shadow.version else ""
        fields.append(("shadow", f"{shadow.arm}{version}, decision id {shadow.decision_id}"))
    return Output(dataclasses.asdict(decision), fields_text(fields))


# -- rendering ---------------------------------------------------------------------------

_LIVE = admin_pb2.ARM_STATE_LIVE
_RETIRED = admin_pb2.ARM_STATE_RETIRED


def _to_json(value: Any) -> Any:
    if isinstance(value, ProtoMessage):
        return json_format.MessageToDict(
            value, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    return value


# -- errors ------------------------------------------------------------------------------


def describe_error(error: BanditError, target: str, timeout_s: float) -> str:
    """One line for a failed call: what went wrong, then what to do about it."""
    details = " ".join(error.details.split())  # one line, whatever the server sent
    code = error.code
    label = code.name.lower().replace("_", " ")
    if code == grpc.StatusCode.UNAVAILABLE:
        return (
            f"{label}: could not reach banditd at {target} ({details}); check that "
            f"`banditd serve` is running there, or pass --target (or set {TARGET_ENV})"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return (
            f"{label}: banditd at {target} did not answer within {timeout_s:g} s; "
            "check that it is healthy, or pass a larger --timeout"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"{label}: {details}; pass the admin token with --token or set {TOKEN_ENV}"
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return (
            f"{label}: {details or 'unknown call'}; the banditd at {target} is older than "
            f"this {PROG} and does not offer this command yet"
        )
    return f"{label}: {details}" if details else label


def main(argv: list[str] | None = None) -> int:
    """Runs banditctl; returns the exit code (0 ok, 1 failed call, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse has printed usage or help; hand its code back instead of exiting.
        return exit_.code if isinstance(exit_.code, int) else 2
    session = Session(args.target, args.token, args.timeout, args.actor)
    try:
        output = args.run(args, session)
    except UsageError as error:
        return _usage_error(args.parser, str(error))
    except BanditError as error:
        print(f"{PROG}: {describe_error(error, args.target, args.timeout)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()
    _print(output, as_json=args.json, out=sys.stdout)
    return 0


def _usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2


def _print(output: Output, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        json.dump(_to_json(output.value), out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        out.write(output.text + "\n")


if __name__ == "__main__":
    sys.exit(main())
