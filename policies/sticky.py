"""Sticky assignment: a unit (user, session) keeps its arm while shares drift, with no state.

Weighted rendezvous hashing: every (unit, arm) pair gets a fixed pseudo-random u in (0, 1) and
the unit goes to the arm with the smallest -log(u) / share. Hashes are uint64 everywhere, both
as numpy arrays and as numba sees them, so that an XOR never mixes signed and unsigned types.
"""

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies import _kernels
from policies._checks import (
    count_within,
    distinct_names,
    hash_array,
    nonempty_text,
    salt_table,
)
from policies.allocation import Allocation

# blake2b accepts keys of at most 64 bytes; longer experiment names are hashed down to 64 bytes
# instead of truncated, so two long names sharing a prefix still get unrelated unit hashes.
_MAX_KEY_BYTES = 64
# Arm salts live in their own hash domain, so an arm named like a unit id shares nothing with it.
_ARM_SALT_PERSON = b"banditd-arm-salt"
_UINT64_MAX = 2**64 - 1


def _hash64(data: bytes, *, key: bytes = b"", person: bytes = b"") -> int:
    # blake2b is in hashlib on every platform and, unlike hash(), the same in every process.
    digest = hashlib.blake2b(data, digest_size=8, key=key, person=person).digest()
    return int.from_bytes(digest, "little")


def unit_hash(experiment: str, unit_id: str) -> int:
    """A 64-bit unsigned hash (0 <= h < 2**64) of a unit within an experiment.

    blake2b(unit_id, digest_size=8, key=experiment) read little-endian (an experiment name over
    64 bytes is keyed by its 64-byte blake2b digest instead); stable across processes, machines
    and Python versions. Keyed by experiment so that a user's arms in two experiments are
    independent. Pass it to the kernels as np.uint64 (the drivers do).
    """
    experiment = nonempty_text("experiment", experiment)
    unit_id = nonempty_text("unit_id", unit_id)
    key = experiment.encode()
    if len(key) > _MAX_KEY_BYTES:
        key = hashlib.blake2b(key, digest_size=_MAX_KEY_BYTES).digest()
    return _hash64(unit_id.encode(), key=key)


def arm_salts(arm_names: Sequence[str]) -> NDArray[np.uint64]:
    """A stable uint64 salt per arm, from its name alone: adding or removing arms moves no salt.

    Read-only, like an Allocation's arrays, since it is shared by every serving thread.
    """
    names = distinct_names("arm_names", arm_names)
    salts = np.array([_hash64(n.encode(), person=_ARM_SALT_PERSON) for n in names], np.uint64)
    salts.flags.writeable = False
    return salts


def choose_sticky(allocation: Allocation, salts: NDArray[np.uint64], unit_hash: int) -> int:
    """The arm for this unit: arm i with probability share i over random units, -1 if none.

    The same unit gets the same arm for as long as the shares stay the same. When one arm's
    share grows and the others shrink in proportion, units only move to that arm, never
    between the others, and the fraction that moves equals the growth in expectation: the
    fewest moves any assignment with these shares can make. (If the other shares change
    unevenly, units can move between them too.) Decisions use allocation.shares for either
    mode: a Thompson allocation's shares are P(best), the rate Thompson sampling serves each arm.
    """
    checked_salts = salt_table(salts, allocation.shares.shape[0])
    # This is the per-decision path: a plain int in range skips the general (slower) check.
    if type(unit_hash) is not int or not 0 <= unit_hash <= _UINT64_MAX:
        unit_hash = count_within("unit_hash", unit_hash, 0, _UINT64_MAX)
    return _kernels.sticky_index(allocation.shares, checked_salts, np.uint64(unit_hash))


def choose_sticky_many(
    allocation: Allocation, salts: NDArray[np.uint64], unit_hashes: ArrayLike
) -> NDArray[np.int64]:
    """choose_sticky for each unit hash (a 1-D uint64 array, or int64 with no negative entry)."""
    checked_salts = salt_table(salts, allocation.shares.shape[0])
    checked_hashes = hash_array("unit_hashes", unit_hashes)
    out = np.empty(checked_hashes.shape[0], dtype=np.int64)
    _kernels.sticky_index_many(allocation.shares, checked_salts, checked_hashes, out)
    return out
