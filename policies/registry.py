"""Policies by name, as experiments configure them."""

import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType

from policies.allocation import Policy
from policies.epsilon_greedy import EpsilonGreedy
from policies.fixed import FixedWeights
from policies.gaussian_thompson import GaussianThompson
from policies.thompson import ThompsonSampling
from policies.ucb import KLUCB, UCB1

POLICIES: Mapping[str, Callable[..., Policy]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (ThompsonSampling, UCB1, KLUCB, EpsilonGreedy, FixedWeights, GaussianThompson)
    }
)


@functools.cache
def _parameters(factory: Callable[..., Policy]) -> list[str]:
    # Cached: a replica builds a policy for every snapshot it rebuilds.
    return list(inspect.signature(factory).parameters)


def make_policy(name: str, **params: object) -> Policy:
    """The policy called name, built from params; ValueError names whatever is wrong."""
    factory = POLICIES.get(name)
    if factory is None:
        raise ValueError(f"unknown policy {name!r} (policies: {', '.join(sorted(POLICIES))})")
    accepted = _parameters(factory)
    for param in params:
        if param not in accepted:
            raise ValueError(
                f"policy {name!r} has no parameter {param!r} "
                f"(parameters: {', '.join(accepted) or 'none'})"
            )
    return factory(**params)
