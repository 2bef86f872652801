"""How banditctl shows admin messages to people: plain-text tables and one-line notes.

Pure functions from protobuf messages to text, no I/O, so the tests render hand-built
messages. Columns and notes without data stay out, so a plain experiment reads as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from banditd.v1 import admin_pb2

from banditd_client._wire import policy_name
from banditd_client.admin import ARM_STATE_NAMES, REWARD_TYPE_NAMES

# Defaults the server applies to a guardrail field left at 0 (admin.proto).
DEFAULT_MIN_SAMPLES: Final = 200
DEFAULT_LEVEL: Final = 0.95
DEFAULT_QUANTILE: Final = 0.95
# A judged guardrail check at least this likely to be breached is worth a warning.
WARN_BREACH_PROBABILITY: Final = 0.5
# Defaults the server applies to a promotion rule or segmentation field left at 0.
DEFAULT_PROB_BEST: Final = 0.95
DEFAULT_MAX_EXPECTED_LOSS: Final = 0.01
DEFAULT_PROMOTION_MIN_SAMPLES: Final = 1000
DEFAULT_SEGMENT_MIN_SAMPLES: Final = 500
DEFAULT_SEGMENT_MAX_VALUES: Final = 64

_DURATION_UNITS: Final = (("d", 86_400), ("h", 3_600), ("m", 60))

_LIVE = admin_pb2.ARM_STATE_LIVE
_SHADOW = admin_pb2.ARM_STATE_SHADOW
_ROLLED_BACK = admin_pb2.ARM_STATE_ROLLED_BACK


# -- building blocks -----------------------------------------------------------------------


def fields_text(fields: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in fields)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in fields)


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
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


@dataclass
class _Column:
    header: str
    cells: list[str]
    right: bool = False
    # Optional columns are left out when no row has anything to show.
    optional: bool = False

    @property
    def empty(self) -> bool:
        return all(cell in ("", "-") for cell in self.cells)


def _column_table(columns: list[_Column]) -> str:
    shown = [c for c in columns if not (c.optional and c.empty)]
    rows = [[c.cells[i] for c in shown] for i in range(len(shown[0].cells))] if shown else []
    right = {i for i, c in enumerate(shown) if c.right}
    return table([c.header for c in shown], rows, right)


def utc(unix_ms: int) -> str:
    """A time for people: "2026-01-02 03:04:05 UTC"."""
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def share(value: float) -> str:
    """A traffic share as a short percentage: 0.05 -> "5%", 0.125 -> "12.5%"."""
    return f"{100 * value:.3g}%"


def duration_text(seconds: float) -> str:
    """Seconds in the largest unit that divides them: 86400 -> "1d", 5400 -> "90m",
    90 -> "90s"; banditctl reads the same spellings."""
    for unit, size in _DURATION_UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def one_line(text: str) -> str:
    return " ".join(text.split())


def state_text(state: int) -> str:
    return ARM_STATE_NAMES.get(state, f"state {state}")


def policy_text(config: Any) -> str:
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


def reward_text(experiment: Any) -> str:
    name = REWARD_TYPE_NAMES.get(experiment.reward_type, "unspecified")
    if name == "continuous":
        return f"continuous [{experiment.reward_min:g}, {experiment.reward_max:g}]"
    return name


def _binary(experiment: Any) -> bool:
    return REWARD_TYPE_NAMES.get(experiment.reward_type) == "binary"


# -- promotion, timing, segments -----------------------------------------------------------


def promotion_text(rule: Any, binary: bool = True) -> str:
    """The promotion rule in force, defaults filled in: "P(best) ≥ 0.95, expected loss ≤ 1%,
    1000 decisions per live arm; promote by hand"."""
    prob_best = rule.prob_best or DEFAULT_PROB_BEST
    loss = rule.max_expected_loss or DEFAULT_MAX_EXPECTED_LOSS
    samples = rule.min_samples or DEFAULT_PROMOTION_MIN_SAMPLES
    unit = "decisions" if binary else "rewards"
    how = "banditd promotes the ready arm itself" if rule.auto_promote else "promote by hand"
    return (
        f"P(best) ≥ {prob_best:g}, expected loss ≤ {share(loss)}, "
        f"{samples} {unit} per live arm; {how}"
    )


def timing_text(timing: Any, binary: bool = True) -> str:
    """Reward wait and window, e.g. "wait 1d (then no reward counts 0), window 7d"; ""
    when neither is set (rewards count at once, the policy sees all history)."""
    parts = []
    has_default = timing.HasField("default_reward")
    if timing.reward_wait_s:
        if has_default or binary:
            then = f"then no reward counts {timing.default_reward if has_default else 0:g}"
        else:
            then = "then a decision without a reward is left out"
        parts.append(f"wait {duration_text(timing.reward_wait_s)} ({then})")
    elif has_default:
        parts.append(f"default reward {timing.default_reward:g}")
    if timing.window_s:
        parts.append(f"window {duration_text(timing.window_s)}")
    return ", ".join(parts)


def segmentation_text(config: Any) -> str:
    """The segmentation in force, e.g. "by 'region' (own statistics after 500 decisions, at
    most 64 values)"; "" when it is off."""
    if not config.attribute:
        return ""
    min_samples = config.min_samples or DEFAULT_SEGMENT_MIN_SAMPLES
    max_values = config.max_values or DEFAULT_SEGMENT_MAX_VALUES
    return (
        f"by {config.attribute!r} (own statistics after {min_samples} decisions, "
        f"at most {max_values} values)"
    )


def readiness_line(status: Any) -> str:
    """Which arm is ready for promotion and why, or why none is yet; "" when there is
    nothing to choose between (fewer than two live arms) or the server said nothing."""
    e = status.experiment
    ready = _ready_arm(status)
    readiness = one_line(status.readiness)
    if not ready:
        live = sum(a.state == _LIVE for a in status.arms)
        return readiness if live >= 2 else ""
    # The server's explanation names the arm first ("b is ready: P(best) ..."); keep it so.
    line = readiness if readiness.startswith(f"{ready} ") else f"{ready} is ready for promotion"
    if readiness and line != readiness:
        line += f" ({readiness})"
    if e.promotion.auto_promote:
        return f"{line}; auto-promotion is on: banditd promotes it"
    return f"{line}; promote it with: banditctl arm promote {e.name} {ready}"


# -- limits, ramps, rollbacks, guardrails ----------------------------------------------------


def bounds_text(cap: float, floor: float) -> str:
    """The bounds in force on an arm's share: "≤5%", "≥10%", "10–50%", or "=25%" while a
    ramp step pins it (cap == floor); "" when unbounded (cap 1 or unset, floor 0)."""
    capped = 0 < cap < 1
    if floor > 0 and math.isclose(cap, floor):
        return f"={share(cap)}"
    if floor > 0 and capped:
        return f"{share(floor)}–{share(cap)}"
    if capped:
        return f"≤{share(cap)}"
    if floor > 0:
        return f"≥{share(floor)}"
    return ""


def limits_text(limits: Any) -> str:
    """An arm's configured limits: "≤5% until 1000 rewards, ≥1%, ramp 5% → 25% (step 1 of 2)"."""
    parts = []
    if limits.HasField("cap"):
        cap = f"≤{share(limits.cap)}"
        if limits.cap_until_rewards:
            cap += f" until {limits.cap_until_rewards} rewards"
        parts.append(cap)
    if limits.HasField("floor"):
        parts.append(f"≥{share(limits.floor)}")
    ramp = limits.ramp
    if ramp.steps:
        steps = " → ".join(share(step) for step in ramp.steps)
        progress = (
            "done" if ramp.step >= len(ramp.steps) else f"step {ramp.step + 1} of {len(ramp.steps)}"
        )
        parts.append(f"ramp {steps} ({progress})")
    return ", ".join(parts)


def ramp_line(arm: str, ramp: Any) -> str:
    """Where a running ramp stands and what moves it on; "" when there is none or it is done."""
    if not ramp.steps or ramp.step >= len(ramp.steps):
        return ""
    line = f"{arm} at {share(ramp.steps[ramp.step])} (step {ramp.step + 1} of {len(ramp.steps)})"
    if ramp.step_started_unix_ms:
        line += f" since {utc(ramp.step_started_unix_ms)}"
    needs = []
    if ramp.min_decisions_per_step:
        needs.append(f"{ramp.min_decisions_per_step} decisions")
    if ramp.min_seconds_per_step:
        needs.append(f"{ramp.min_seconds_per_step:g} s")
    if ramp.step + 1 < len(ramp.steps):
        line += f"; {share(ramp.steps[ramp.step + 1])} next"
    else:
        line += "; the policy alone next"
    if needs:
        line += f", after {' and '.join(needs)} in this step"
    return line + " if every guardrail holds"


def rollback_line(arm: str, rollback: Any) -> str:
    """Why a guardrail rolled an arm back, with the evidence, on one line."""
    evidence = [f"P(breach) {100 * rollback.probability:.1f}%"]
    if rollback.samples:
        evidence.append(f"{rollback.samples} samples")
    if rollback.control_samples:
        evidence.append(f"control {rollback.control_samples}")
    line = f"{arm} by guardrail {rollback.guardrail!r}"
    if rollback.at_unix_ms:
        line += f" at {utc(rollback.at_unix_ms)}"
    line += f" ({', '.join(evidence)})"
    reason = one_line(rollback.reason)
    return f"{line}: {reason}" if reason else line


def guardrail_kind(guardrail: Any) -> str:
    kind = guardrail.WhichOneof("kind")
    return {"error_rate": "error rate", "latency": "latency"}.get(kind or "", "?")


def _quantile(value: float) -> str:
    return f"p{100 * (value or DEFAULT_QUANTILE):g}"


def guardrail_limit(guardrail: Any) -> str:
    kind = guardrail.WhichOneof("kind")
    if kind == "error_rate":
        return f"control +{guardrail.error_rate.max_increase:g}"
    if kind == "latency":
        latency = guardrail.latency
        return f"{_quantile(latency.quantile)} ≤ {latency.ceiling_ms:g} ms"
    return "-"


def _window(guardrail: Any) -> str:
    if not guardrail.HasField("window_s"):
        return "15m"
    seconds = guardrail.window_s
    if seconds == 0:
        return "all"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def guardrails_table(experiment: Any) -> str:
    """One row per guardrail, with the server's defaults filled in where a field is 0; a
    SEGMENT column when a guardrail judges one segment only."""
    guardrails = list(experiment.guardrails)
    controls = [
        g.error_rate.control_arm or f"{experiment.default_arm} (default arm)"
        if g.WhichOneof("kind") == "error_rate"
        else "-"
        for g in guardrails
    ]
    columns = [
        _Column("GUARDRAIL", [g.name for g in guardrails]),
        _Column("KIND", [guardrail_kind(g) for g in guardrails]),
        _Column("LIMIT", [guardrail_limit(g) for g in guardrails]),
        _Column("CONTROL", controls),
        _Column("SEGMENT", [g.segment or "-" for g in guardrails], optional=True),
        _Column(
            "MIN SAMPLES", [str(g.min_samples or DEFAULT_MIN_SAMPLES) for g in guardrails], True
        ),
        _Column("ROLLBACK AT", [share(g.level or DEFAULT_LEVEL) for g in guardrails], True),
        _Column("WINDOW", [_window(g) for g in guardrails], True),
    ]
    return _column_table(columns)


# -- whole views ---------------------------------------------------------------------------


def experiment_text(e: Any) -> str:
    """`experiment show`: configuration, arms with their limits, ramps, rollbacks, guardrails."""
    fields = [
        ("experiment", e.name),
        ("description", e.description or "-"),
        ("policy", policy_text(e.policy)),
        ("reward", reward_text(e)),
        ("default arm", e.default_arm),
        ("paused", "yes" if e.paused else "no"),
        ("epoch", str(e.epoch)),
        ("created", utc(e.created_unix_ms)),
        ("promotion", promotion_text(e.promotion, _binary(e))),
    ]
    # Timing and segments only when in use: a plain experiment reads as before.
    if timing := timing_text(e.timing, _binary(e)):
        fields.append(("reward timing", timing))
    if segments := segmentation_text(e.segmentation):
        fields.append(("segments", segments))
    columns = [
        _Column("ARM", [a.name for a in e.arms]),
        _Column("STATE", [state_text(a.state) for a in e.arms]),
        _Column("VERSION", [a.version or "-" for a in e.arms]),
        _Column("LIMITS", [limits_text(a.limits) for a in e.arms], optional=True),
        _Column("", ["default" if a.name == e.default_arm else "" for a in e.arms]),
    ]
    parts = [fields_text(fields), _column_table(columns)]
    notes = _notes(
        ("ramp", [ramp_line(a.name, a.limits.ramp) for a in e.arms]),
        ("rolled back", [rollback_line(a.name, a.rollback) for a in e.arms if _rolled_back(a)]),
    )
    if notes:
        parts.append(notes)
    parts.append(guardrails_table(e) if e.guardrails else "no guardrails")
    return "\n\n".join(parts)


def status_text(status: Any, requested_segment: str = "") -> str:
    """`status`: one row per arm (live, shadow, retired, rolled back side by side), then
    whether an arm is ready for promotion, and one line per running ramp, per rolled-back
    arm and per guardrail an arm may be breaching.

    Segmented experiments name the attribute and the segment shown in the header and list
    the segments that have statistics. requested_segment is the segment asked for: when the
    server answered with other statistics, a warning says so.
    """
    e = status.experiment
    header = (
        f"experiment {e.name}   policy {policy_text(e.policy)}   reward {reward_text(e)}   "
        f"epoch {e.epoch}   paused {'yes' if e.paused else 'no'}"
    )
    attribute = e.segmentation.attribute
    if status.segment:
        shown = f"{attribute}={status.segment}" if attribute else status.segment
        header += f"   segment {shown}"
    elif attribute:
        header += f"   segmented by {attribute} (all decisions)"
    binary = _binary(e)
    arms = list(status.arms)
    configured = {a.name: a for a in e.arms}
    ready = _ready_arm(status)
    columns = [
        _Column("ARM", [a.name for a in arms]),
        _Column("STATE", [_state_cell(a, ready) for a in arms]),
        _Column("VERSION", [a.version for a in arms]),
        _Column("PULLS", [str(a.pulls) for a in arms], right=True),
        _Column("REWARDS", [str(a.rewards) for a in arms], right=True),
        _Column("MEAN", [_mean(a, binary)[0] for a in arms], right=True),
        _Column("95% INTERVAL", [_mean(a, binary)[1] for a in arms]),
        _Column("SHARE", [_shadow_aware(a, a.traffic_share) for a in arms], right=True),
        _Column(
            "CAP",
            [bounds_text(a.cap, a.floor) if a.state == _LIVE else "" for a in arms],
            True,
            True,
        ),
        _Column("P(BEST)", [_shadow_aware(a, a.prob_best) for a in arms], right=True),
    ]
    # Expected loss compares live arms: it says something once two of them have data. All
    # zeros is a server that does not send it (two arms with data never both lose nothing).
    live = [a for a in arms if a.state == _LIVE]
    if sum(_has_data(a, binary) for a in live) >= 2 and any(a.expected_loss > 0 for a in live):
        columns.append(_Column("E[LOSS]", [_expected_loss(a) for a in arms], right=True))
    columns += [
        _Column("ERR", [_error_rate(a) for a in arms], right=True, optional=True),
        _Column("P95 MS", [_latency(a.latency_p95_ms) for a in arms], right=True, optional=True),
    ]
    rollbacks = []
    for a in arms:
        rollback = a.rollback if a.HasField("rollback") else None
        if rollback is None and a.name in configured and _rolled_back(configured[a.name]):
            rollback = configured[a.name].rollback
        if rollback is not None:
            rollbacks.append(rollback_line(a.name, rollback))
        elif a.state == _ROLLED_BACK:
            rollbacks.append(f"{a.name} (the server sent no rollback record)")
    levels = {g.name: g.level or DEFAULT_LEVEL for g in e.guardrails}
    warnings = [
        f"{a.name} may breach guardrail {check.guardrail!r}: P(breach) "
        f"{100 * check.breach_probability:.1f}% ({check.samples} samples; rollback at "
        f"{share(levels.get(check.guardrail, DEFAULT_LEVEL))})"
        for a in arms
        for check in a.guardrails
        if check.judged and check.breach_probability >= WARN_BREACH_PROBABILITY
    ]
    if requested_segment and status.segment != requested_segment:
        shown = f"segment {status.segment!r}" if status.segment else "all decisions"
        warnings.insert(
            0,
            f"segment {requested_segment!r} has no statistics of its own; "
            f"these statistics are of {shown}",
        )
    segments = []
    if attribute or status.segments:
        listed = ", ".join(status.segments)
        segments.append(
            f"{listed} (show one with --segment VALUE)"
            if listed
            else "none has statistics of its own yet"
        )
    timing = timing_text(e.timing, binary)
    if timing:
        timing += "; the policy decides from these, this table shows all history"
    parts = [header, _column_table(columns)]
    notes = _notes(
        ("promotion", [readiness_line(status)]),
        ("segments", segments),
        ("timing", [timing]),
        ("ramp", [ramp_line(a.name, a.limits.ramp) for a in e.arms]),
        ("rolled back", rollbacks),
        ("warning", warnings),
    )
    if notes:
        parts.append(notes)
    return "\n\n".join(parts)


def history_text(entries: Sequence[Any]) -> str:
    """`history`: one row per change, oldest first; the free-text detail comes last."""
    if not entries:
        return "no history yet"
    rows = [
        [
            utc(entry.at_unix_ms).removesuffix(" UTC"),
            entry.actor or "-",
            entry.action,
            entry.arm or "-",
            str(entry.epoch),
            one_line(entry.detail),
        ]
        for entry in entries
    ]
    return table(["TIME (UTC)", "ACTOR", "ACTION", "ARM", "EPOCH", "DETAIL"], rows, right={4})


# -- helpers -------------------------------------------------------------------------------


def _notes(*groups: tuple[str, list[str]]) -> str:
    """Labelled lines, e.g. "rolled back  v2 by guardrail ...", skipping empty ones."""
    lines = [(label, line) for label, group in groups for line in group if line]
    if not lines:
        return ""
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{label:<{width}}  {line}" for label, line in lines)


def _rolled_back(arm: Any) -> bool:
    return bool(arm.state == _ROLLED_BACK or arm.HasField("rollback"))


def _ready_arm(status: Any) -> str:
    return str(status.ready_arm) or next((a.name for a in status.arms if a.promotion_ready), "")


def _state_cell(arm: Any, ready: str) -> str:
    notes = [state_text(arm.state)]
    if arm.is_default:
        notes.append("default")
    if arm.promotion_ready or (ready and arm.name == ready):
        notes.append("ready")
    return ", ".join(notes)


def _has_data(arm: Any, binary: bool) -> bool:
    return bool(arm.pulls if binary else arm.rewards)


def _expected_loss(arm: Any) -> str:
    # Among live arms only: the others are not in the running.
    return f"{100 * arm.expected_loss:.2f}%" if arm.state == _LIVE else "-"


def _mean(arm: Any, binary: bool) -> tuple[str, str]:
    # Binary means are successes per pull; continuous ones are per reported reward.
    if not (arm.pulls if binary else arm.rewards):
        return "-", "-"
    if binary:
        return f"{arm.mean_reward:.4f}", f"[{arm.interval_low:.4f}, {arm.interval_high:.4f}]"
    return f"{arm.mean_reward:.6g}", f"[{arm.interval_low:.6g}, {arm.interval_high:.6g}]"


def _shadow_aware(arm: Any, value: float) -> str:
    # A shadow arm is never served and not in the running for best: "-" says so better than 0%.
    if arm.state == _SHADOW and value == 0:
        return "-"
    return f"{100 * value:.1f}%"


def _error_rate(arm: Any) -> str:
    if not arm.observations:
        return "-"
    return f"{100 * arm.errors / arm.observations:.2f}%"


def _latency(ms: float) -> str:
    return f"{ms:.1f}" if ms > 0 else "-"
