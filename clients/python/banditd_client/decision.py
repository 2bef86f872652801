"""Decision: which arm serves one request, as the client hands it to the application."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShadowDecision:
    """A shadow arm the request should be mirrored to; its response is never served.

    Report the shadow's outcomes (reward, error, latency) against its own `decision_id`.
    """

    arm: str
    version: str
    decision_id: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The arm chosen for one request of an experiment.

    Report rewards against `decision_id`. When `fallback` is True the service could not be
    reached and the client served the experiment's default arm itself: there is no
    decision id to reward (it is ""), the propensity is 1.0 and the policy "fixed".

    `shadows` names the experiment's shadow arms: send the same request to each of them
    too (without serving their answer) so that they are measured next to the live arms.
    """

    experiment: str
    arm: str
    version: str
    decision_id: str
    # Probability with which the policy chose this arm (for off-policy evaluation).
    propensity: float
    # "thompson", "gaussian_thompson", "ucb1", "kl_ucb", "epsilon_greedy" or "fixed".
    policy: str
    paused: bool
    # Config epoch of the experiment the decision was made under (0 for a fallback).
    epoch: int
    fallback: bool = False
    shadows: tuple[ShadowDecision, ...] = ()
