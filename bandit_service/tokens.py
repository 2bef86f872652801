"""Decision ids: self-describing tokens signed with HMAC-SHA256, so no replica stores decisions.

Layout before base64url: version (1 byte) | arm index (2) | config epoch (4) |
decided at, unix ms (8) | nonce (8) | experiment name (1-64) | tag (16, truncated HMAC).
Version 2, for decisions of a segment, puts the name's length (1 byte) before the name
and the segment value (1-64 bytes) after it. The nonce makes every decision distinct: it
is the key a reward is deduplicated on.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import DecisionExpiredError, DecisionRejectedError, InvalidArgumentError

_VERSION = 1
_VERSION_SEGMENTED = 2
_HEADER = struct.Struct(">BHIQ8s")
_TAG_BYTES = 16
_MAX_TOKEN_CHARS = 240  # the longest name and segment: 168 bytes, 224 characters


@dataclass(frozen=True, slots=True)
class DecisionToken:
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
        self._ttl_ms = ttl_s * 1000
        self._ttl_s = ttl_s

    def sign(
        self, experiment: bytes, arm_index: int, epoch: int, now_ms: int, segment: bytes = b""
    ) -> str:
        version = _VERSION_SEGMENTED if segment else _VERSION
        body = _HEADER.pack(version, arm_index, epoch & 0xFFFFFFFF, now_ms, os.urandom(8))
        if segment:
            body += bytes((len(experiment),)) + experiment + segment
        else:
            body += experiment
        tag = hmac.digest(self._secret, body, "sha256")[:_TAG_BYTES]
        return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode("ascii")

    def verify(self, decision_id: str, now_ms: int) -> DecisionToken:
        """Returns the decoded token or raises why it cannot be rewarded."""
        if not decision_id:
            raise InvalidArgumentError("decision_id is required")
        if len(decision_id) > _MAX_TOKEN_CHARS:
            raise InvalidArgumentError("decision_id is not a banditd decision id (too long)")
        try:
            raw = base64.urlsafe_b64decode(decision_id + "=" * (-len(decision_id) % 4))
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(
                "decision_id is not a banditd decision id (not base64url)"
            ) from None
        if len(raw) <= _HEADER.size + _TAG_BYTES or raw[0] not in (_VERSION, _VERSION_SEGMENTED):
            raise InvalidArgumentError("decision_id is not a banditd decision id")
        body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        expected = hmac.digest(self._secret, body, "sha256")[:_TAG_BYTES]
        if not hmac.compare_digest(tag, expected):
            raise DecisionRejectedError(
                "decision_id signature does not verify: it was altered, forged, or signed with "
                "another secret (all replicas need the same BANDITD_DECISION_SECRET)"
            )
        _, arm_index, epoch, decided_ms, nonce = _HEADER.unpack_from(body)
        if now_ms - decided_ms > self._ttl_ms:
            decided = datetime.fromtimestamp(decided_ms / 1000, UTC).isoformat(timespec="seconds")
            raise DecisionExpiredError(
                f"decision_id expired: decided at {decided}, rewards are accepted for "
                f"{self._ttl_s} s (decision_ttl_s)"
            )
        tail = body[_HEADER.size :]
        segment = ""
        if raw[0] == _VERSION_SEGMENTED:
            name_length = tail[0]
            tail, segment = tail[1 : 1 + name_length], tail[1 + name_length :].decode()
        return DecisionToken(
            experiment=tail.decode("ascii"),
            arm_index=arm_index,
            epoch=epoch,
            decided_unix_ms=decided_ms,
            nonce=nonce,
            segment=segment,
        )
