"""banditctl: the admin command line of banditd, a thin shell over AdminClient.

It parses arguments, makes one call, and prints the answer: a readable summary, or with
--json the protobuf message as JSON. A failed call is one line on stderr and exit code 1;
a usage error exits with 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import grpc
from banditd.v1 import admin_pb2
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage

from banditd_client._wire import policy_name
from banditd_client.admin import (
    ARM_STATE_NAMES,
    POLICY_PARAMETERS,
    REWARD_TYPE_NAMES,
    AdminClient,
    policy_config,
)
from banditd_client.client import DEFAULT_TARGET, BanditClient
from banditd_client.errors import BanditError

PROG = "banditctl"
TARGET_ENV = "BANDITD_TARGET"
TOKEN_ENV = "BANDITD_ADMIN_TOKEN"
POLICY_CHOICES = ("thompson", "ucb1", "kl-ucb", "epsilon-greedy", "fixed")


class UsageError(Exception):
    """Arguments that parse but do not fit together; reported like argparse's own errors."""


@dataclass(frozen=True)
class Output:
    """What a command answers: `value` for --json, `text` for people."""

    value: Any
    text: str


class Session:
    """The connections of one banditctl run, opened on first use."""

    def __init__(self, target: str, token: str | None, timeout_s: float) -> None:
        self.target = target
        self.token = token
        self.timeout_s = timeout_s
        self._admin: AdminClient | None = None
        self._client: BanditClient | None = None

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(self.target, token=self.token, timeout_s=self.timeout_s)
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


def _positive_seconds(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _policy_arg(text: str) -> str:
    # Accept the protobuf spelling (kl_ucb) as well as the CLI one (kl-ucb).
    return text.strip().lower().replace("_", "-")


# -- the parser --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Administer banditd: experiments, arms, policies and their status.",
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

    arm = commands.add_parser("arm", help="add, retire, promote, set-default, import")
    arm_commands = arm.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = arm_commands.add_parser("add", help="add a live arm")
    add.add_argument("experiment")
    add.add_argument("arm")
    add.add_argument("--version", default="", help="the model version the arm serves")
    add.add_argument("--weight", type=_finite, default=0.0, help="its weight (fixed policy)")
    add.set_defaults(run=_arm_add, parser=add)

    for action, run, help_text in (
        ("retire", _arm_retire, "drain an arm to zero traffic"),
        ("promote", _arm_promote, "give an arm all traffic and retire the others"),
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

    status = commands.add_parser("status", help="per-arm statistics, shares and P(best)")
    status.add_argument("experiment")
    status.set_defaults(run=_status, parser=status)

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
    "exploration": "--exploration",
    "epsilon": "--epsilon",
    "weights": "--weight",
}


def _policy_from_args(args: argparse.Namespace) -> Any:
    given = {
        "prior_alpha": args.prior_alpha,
        "prior_beta": args.prior_beta,
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


def _experiment_create(args: argparse.Namespace, session: Session) -> Output:
    continuous = args.reward == "continuous"
    bounds_given = args.reward_min is not None or args.reward_max is not None
    if continuous and (args.reward_min is None or args.reward_max is None):
        raise UsageError("--reward continuous needs --reward-min and --reward-max")
    if not continuous and bounds_given:
        raise UsageError("--reward-min and --reward-max apply to --reward continuous only")
    experiment = session.admin.create_experiment(
        args.name,
        args.arm,
        policy=_policy_from_args(args),
        reward_type=args.reward,
        reward_min=args.reward_min,
        reward_max=args.reward_max,
        default_arm=args.default_arm,
        description=args.description,
    )
    return Output(experiment, f"created experiment {experiment.name!r}\n\n{_show(experiment)}")


def _experiment_list(args: argparse.Namespace, session: Session) -> Output:
    experiments = session.admin.list_experiments()
    if not experiments:
        text = f"no experiments; create one with: {PROG} experiment create NAME --arm A --arm B"
        return Output(experiments, text)
    rows = [
        [
            e.name,
            _policy_text(e.policy),
            _reward_text(e),
            str(sum(a.state == _LIVE for a in e.arms)),
            e.default_arm,
            "yes" if e.paused else "no",
            str(e.epoch),
        ]
        for e in sorted(experiments, key=lambda e: e.name)
    ]
    headers = ["EXPERIMENT", "POLICY", "REWARD", "LIVE ARMS", "DEFAULT", "PAUSED", "EPOCH"]
    return Output(experiments, _table(headers, rows, right={3, 6}))


def _experiment_show(args: argparse.Namespace, session: Session) -> Output:
    experiment = session.admin.get_experiment(args.name)
    return Output(experiment, _show(experiment))


def _experiment_pause(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.pause(args.name)
    text = f"paused {e.name!r}: every request gets its default arm {e.default_arm!r}"
    return Output(e, f"{text} (epoch {e.epoch})")


def _experiment_resume(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.resume(args.name)
    text = f"resumed {e.name!r}: policy {_policy_text(e.policy)} decides again"
    return Output(e, f"{text} (epoch {e.epoch})")


def _experiment_set_policy(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.set_policy(args.name, _policy_from_args(args))
    return Output(e, f"{e.name!r} now uses policy {_policy_text(e.policy)} (epoch {e.epoch})")


def _arm_add(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.add_arm(args.experiment, args.arm, args.version, weight=args.weight)
    version = f" (version {args.version!r})" if args.version else ""
    return Output(e, f"added arm {args.arm!r}{version} to {e.name!r} (epoch {e.epoch})")


def _arm_retire(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.retire_arm(args.experiment, args.arm)
    text = f"retired arm {args.arm!r} of {e.name!r}: it gets no more traffic"
    return Output(e, f"{text} (epoch {e.epoch})")


def _arm_promote(args: argparse.Namespace, session: Session) -> Output:
    e = session.admin.promote_arm(args.experiment, args.arm)
    retired = [a.name for a in e.arms if a.state != _LIVE]
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


def _status(args: argparse.Namespace, session: Session) -> Output:
    status = session.admin.status(args.experiment)
    e = status.experiment
    header = (
        f"experiment {e.name}   policy {_policy_text(e.policy)}   reward {_reward_text(e)}   "
        f"epoch {e.epoch}   paused {'yes' if e.paused else 'no'}"
    )
    binary = REWARD_TYPE_NAMES.get(e.reward_type) == "binary"
    rows = []
    for arm in status.arms:
        state = ARM_STATE_NAMES.get(arm.state, "?")
        # Binary means are successes per pull; continuous ones are per reported reward.
        observed = arm.pulls if binary else arm.rewards
        if observed:
            mean = f"{arm.mean_reward:.4f}" if binary else f"{arm.mean_reward:.6g}"
            low, high = (
                (f"{arm.interval_low:.4f}", f"{arm.interval_high:.4f}")
                if binary
                else (f"{arm.interval_low:.6g}", f"{arm.interval_high:.6g}")
            )
            interval = f"[{low}, {high}]"
        else:
            mean, interval = "-", "-"
        rows.append(
            [
                arm.name,
                f"{state}, default" if arm.is_default else state,
                arm.version,
                str(arm.pulls),
                str(arm.rewards),
                mean,
                interval,
                f"{100 * arm.traffic_share:.1f}%",
                f"{100 * arm.prob_best:.1f}%",
            ]
        )
    headers = ["ARM", "STATE", "VERSION", "PULLS", "REWARDS", "MEAN", "95% INTERVAL"]
    headers += ["SHARE", "P(BEST)"]
    table = _table(headers, rows, right={3, 4, 5, 7, 8})
    return Output(status, f"{header}\n\n{table}")


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
    return Output(dataclasses.asdict(decision), _fields(fields))


# -- rendering ---------------------------------------------------------------------------

_LIVE = admin_pb2.ARM_STATE_LIVE


def _policy_text(config: Any) -> str:
    """A policy with the parameters the operator set, e.g. "thompson (prior_alpha=2)"."""
    # Spelled like the --policy option (kl-ucb, epsilon-greedy).
    name = policy_name(config.policy).replace("_", "-")
    params = config.WhichOneof("params")
    parts: list[str] = []
    if params == "fixed":
        parts = [f"{arm}={w:g}" for arm, w in sorted(config.fixed.weights.items())]
    elif params is not None:
        message = getattr(config, params)
        parts = [f"{field.name}={value:g}" for field, value in message.ListFields()]
    return f"{name} ({', '.join(parts)})" if parts else name


def _reward_text(experiment: Any) -> str:
    name = REWARD_TYPE_NAMES.get(experiment.reward_type, "unspecified")
    if name == "continuous":
        return f"continuous [{experiment.reward_min:g}, {experiment.reward_max:g}]"
    return name


def _show(e: Any) -> str:
    created = datetime.fromtimestamp(e.created_unix_ms / 1000, tz=UTC)
    fields = [
        ("experiment", e.name),
        ("description", e.description or "-"),
        ("policy", _policy_text(e.policy)),
        ("reward", _reward_text(e)),
        ("default arm", e.default_arm),
        ("paused", "yes" if e.paused else "no"),
        ("epoch", str(e.epoch)),
        ("created", created.strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]
    rows = [
        [a.name, ARM_STATE_NAMES.get(a.state, "?"), a.version or "-"]
        + (["default"] if a.name == e.default_arm else [""])
        for a in e.arms
    ]
    return f"{_fields(fields)}\n\n{_table(['ARM', 'STATE', 'VERSION', ''], rows)}"


def _fields(fields: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in fields)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in fields)


def _table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain-text table; columns in `right` (numbers) are right-aligned."""
    right = right or set()
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(row) for row in [headers, *rows])


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
    return f"{label}: {details}" if details else label


def main(argv: list[str] | None = None) -> int:
    """Runs banditctl; returns the exit code (0 ok, 1 failed call, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse has printed usage or help; hand its code back instead of exiting.
        return exit_.code if isinstance(exit_.code, int) else 2
    session = Session(args.target, args.token, args.timeout)
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
