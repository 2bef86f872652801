"""Decision ids: self-describing signed tokens, so that no replica stores decisions.

An id is base64url text of: version 3 | config epoch (4 bytes) | decided at, unix ms (8) |
experiment name length (1) | name | segment length (1) | segment ("" without segmentation)
| zero padding to a multiple of 3 bytes | nonce (8) | arm index (2) | tag (8), where the
tag is SipHash-2-4 of everything before it under a key derived from the shared secret
(token_kernels.py signs and checks many ids per numba call). The nonce makes every
decision distinct: it is the key a reward is deduplicated on.

Versions 1 and 2 (HMAC-SHA256, 16-byte tag) were signed before version 3 and are still
verified, so that rewards for decisions made before an upgrade are not lost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from . import token_kernels as kernels
from .errors import (
    BanditError,
    DecisionExpiredError,
    DecisionRejectedError,
    InvalidArgumentError,
)

_LEGACY_VERSIONS = (1, 2)
_LEGACY_HEADER = struct.Struct(">BHIQ8s")
_LEGACY_TAG_BYTES = 16
# The longest id: a 64-byte name and a 64-byte segment make 162 bytes, 216 characters
# (a legacy one 224).
_MAX_TOKEN_CHARS = 240
_TAG_KEY_LABEL = b"banditd decision tag v3"
_REJECTED = (
    "decision_id signature does not verify: it was altered, forged, or signed with another "
    "secret (all replicas need the same BANDITD_DECISION_SECRET)"
)
_EMPTY = np.zeros(0, dtype=np.uint8)


class DecisionToken(NamedTuple):
    """What a verified decision id says (a tuple: thousands are built per reward batch)."""

    experiment: str
    arm_index: int
    epoch: int
    decided_unix_ms: int
    nonce: bytes
    # The segment the decision was made in ("" without segmentation).
    segment: str = ""


class DecisionSigner:
    """Signs and verifies decision ids with one secret shared by every replica."""

    def __init__(self, secret: bytes, ttl_s: int) -> None:
        if len(secret) < 16:
            raise ValueError("decision secret must be at least 16 bytes")
        self._secret = secret
        key = hmac.digest(secret, _TAG_KEY_LABEL, hashlib.sha256)
        self._k0 = np.uint64(int.from_bytes(key[:8], "little"))
        self._k1 = np.uint64(int.from_bytes(key[8:16], "little"))
        self._ttl_ms = ttl_s * 1000
        self._ttl_s = ttl_s
        self._random = random.Random(os.urandom(32))
        # Names and segments as kernel input, and decoded names, by their bytes.
        self._arrays: dict[bytes, NDArray[np.uint8]] = {}
        self._texts: dict[bytes, str] = {}

    def _nonces(self) -> np.uint64:
        """The first nonce of a call's decisions (the others follow it).

        Nonces must be unique, not secret (the tag protects the id), so a seeded
        generator serves: reading os.urandom for every call would cost more than signing.
        Two decisions collide with odds like 8 random bytes each, as before."""
        return np.uint64(self._random.getrandbits(64))

    def _array(self, value: bytes) -> NDArray[np.uint8]:
        if not value:
            return _EMPTY
        array = self._arrays.get(value)
        if array is None:
            if len(self._arrays) > 100_000:
                self._arrays.clear()
            array = self._arrays[value] = np.frombuffer(value, dtype=np.uint8)
        return array

    def sign_many(
        self,
        experiment: bytes,
        arms: NDArray[np.int64] | Sequence[int],
        epoch: int,
        now_ms: int,
        segment: bytes = b"",
    ) -> list[str]:
        """Ids of decisions of the arms (one each, fresh nonces), made at now_ms."""
        arms = np.asarray(arms, dtype=np.int64)
        if not arms.shape[0]:
            return []
        text = kernels.sign_ids(
            self._k0,
            self._k1,
            self._array(experiment),
            self._array(segment),
            epoch,
            now_ms,
            self._nonces(),
            arms,
        )
        ids: list[str] = text.tobytes().decode("ascii").split("\n")
        return ids

    def sign(
        self, experiment: bytes, arm_index: int, epoch: int, now_ms: int, segment: bytes = b""
    ) -> str:
        return self.sign_many(experiment, [arm_index], epoch, now_ms, segment)[0]

    def warm_up(self) -> None:
        """Compiles (or loads from numba's cache) the kernels, before the first decision."""
        for segment in (b"", b"warm-up"):
            self.verify_many(self.sign_many(b"warm-up", [0, 1], 1, 0, segment), 0)

    def verify(self, decision_id: str, now_ms: int) -> DecisionToken:
        """Returns the decoded token or raises why it cannot be rewarded."""
        (result,) = self.verify_many([decision_id], now_ms)
        if isinstance(result, BanditError):
            raise result
        return result

    def verify_many(
        self, decision_ids: Sequence[str], now_ms: int
    ) -> list[DecisionToken | BanditError]:
        """Checks many ids in one kernel call; per id its token or why it is refused."""
        n = len(decision_ids)
        lengths = np.fromiter(map(len, decision_ids), dtype=np.int64, count=n)
        bounds = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        # One byte per character: anything outside ASCII becomes '?', which is not base64.
        text = np.frombuffer("".join(decision_ids).encode("ascii", "replace"), dtype=np.uint8)
        raw = np.empty(text.shape[0], dtype=np.uint8)
        status = np.empty(n, dtype=np.int8)
        fields = np.empty((n, 7), dtype=np.int64)
        nonces = np.empty(n, dtype=np.uint64)
        kernels.verify_ids(self._k0, self._k1, text, bounds, raw, status, fields, nonces)
        raw_bytes = raw.tobytes()
        nonce_bytes = nonces.astype(">u8").tobytes()
        expired = ((now_ms - fields[:, 2]) > self._ttl_ms).tolist()
        results: list[DecisionToken | BanditError] = []
        rows = zip(status.tolist(), fields.tolist(), lengths.tolist(), expired, strict=True)
        for i, (code, row, length, too_old) in enumerate(rows):
            if not length:
                results.append(InvalidArgumentError("decision_id is required"))
            elif length > _MAX_TOKEN_CHARS:
                results.append(
                    InvalidArgumentError("decision_id is not a banditd decision id (too long)")
                )
            elif code == kernels.OK:
                arm, epoch, decided_ms, name_at, name_len, seg_at, seg_len = row
                if too_old:
                    results.append(self._expired(decided_ms))
                    continue
                name = self._text(raw_bytes[name_at : name_at + name_len])
                segment = self._text(raw_bytes[seg_at : seg_at + seg_len]) if seg_len else ""
                nonce = nonce_bytes[8 * i : 8 * i + 8]
                results.append(DecisionToken(name, arm, epoch, decided_ms, nonce, segment))
            elif code == kernels.LEGACY:
                try:
                    results.append(self._verify_legacy(decision_ids[i], now_ms))
                except BanditError as exc:
                    results.append(exc)
            elif code == kernels.BAD_TAG:
                results.append(DecisionRejectedError(_REJECTED))
            elif code == kernels.NOT_BASE64:
                results.append(
                    InvalidArgumentError("decision_id is not a banditd decision id (not base64url)")
                )
            else:
                results.append(InvalidArgumentError("decision_id is not a banditd decision id"))
        return results

    def _text(self, value: bytes) -> str:
        text = self._texts.get(value)
        if text is None:
            if len(self._texts) > 100_000:
                self._texts.clear()
            try:
                text = value.decode()
            except UnicodeDecodeError:
                # Only a signed id reaches here, and every signer encodes valid UTF-8.
                text = value.decode(errors="replace")
            self._texts[value] = text
        return text

    def _expired(self, decided_ms: int) -> DecisionExpiredError:
        decided = datetime.fromtimestamp(decided_ms / 1000, UTC).isoformat(timespec="seconds")
        return DecisionExpiredError(
            f"decision_id expired: decided at {decided}, rewards are accepted for "
            f"{self._ttl_s} s (decision_ttl_s)"
        )

    def _verify_legacy(self, decision_id: str, now_ms: int) -> DecisionToken:
        """Versions 1 and 2: HMAC-SHA256 with a 16-byte tag."""
        try:
            raw = base64.urlsafe_b64decode(decision_id + "=" * (-len(decision_id) % 4))
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(
                "decision_id is not a banditd decision id (not base64url)"
            ) from None
        if len(raw) <= _LEGACY_HEADER.size + _LEGACY_TAG_BYTES or raw[0] not in _LEGACY_VERSIONS:
            raise InvalidArgumentError("decision_id is not a banditd decision id")
        body, tag = raw[:-_LEGACY_TAG_BYTES], raw[-_LEGACY_TAG_BYTES:]
        expected = hmac.digest(self._secret, body, "sha256")[:_LEGACY_TAG_BYTES]
        if not hmac.compare_digest(tag, expected):
            raise DecisionRejectedError(_REJECTED)
        _, arm_index, epoch, decided_ms, nonce = _LEGACY_HEADER.unpack_from(body)
        if now_ms - decided_ms > self._ttl_ms:
            raise self._expired(decided_ms)
        tail = body[_LEGACY_HEADER.size :]
        segment = ""
        if raw[0] == 2:
            name_length = tail[0]
            tail, segment = tail[1 : 1 + name_length], tail[1 + name_length :].decode()
        return DecisionToken(tail.decode("ascii"), arm_index, epoch, decided_ms, nonce, segment)


class _Pool:
    __slots__ = ("ids", "signed_ms")

    def __init__(self, signed_ms: int, ids: list[str]) -> None:
        self.signed_ms = signed_ms
        self.ids = ids


class PresignedIds:
    """Decision ids signed a few at a time ahead of the decisions that take them.

    A single decision would otherwise pay a kernel call of its own (a few µs, far more
    with cold caches between requests); ids are signed in runs of `run` per experiment,
    epoch, segment and arm instead and handed out one by one. An id is at most max_age_ms
    older than its decision: its decided-at time says when it was signed. Every id still
    has its own nonce and is handed out once (list.pop is atomic).
    """

    def __init__(
        self, signer: DecisionSigner, run: int = 16, max_age_ms: int = 100, most_pools: int = 8192
    ) -> None:
        self._signer = signer
        self._run = run
        self._max_age_ms = max_age_ms
        self._most_pools = most_pools
        self._pools: dict[tuple[bytes, int, bytes, int], _Pool] = {}

    def take(self, experiment: bytes, arm: int, epoch: int, now_ms: int, segment: bytes) -> str:
        key = (experiment, epoch, segment, arm)
        pool = self._pools.get(key)
        if pool is not None and now_ms - pool.signed_ms <= self._max_age_ms:
            try:
                return pool.ids.pop()
            except IndexError:
                pass  # used up: sign the next run
        ids = self._signer.sign_many(experiment, [arm] * self._run, epoch, now_ms, segment)
        mine = ids.pop()
        if len(self._pools) >= self._most_pools:
            self._pools = {}  # many cold keys: start over rather than keep their ids
        self._pools[key] = _Pool(now_ms, ids)
        return mine
