"""numba kernels behind decision ids: SipHash-2-4 tags, base64url, many ids per call.

A decision id is base64url(prefix | nonce | arm | tag) where prefix (shared by every
decision of one call, zero-padded to a multiple of 3 bytes so that its base64 text is
shared too) is version 3 | config epoch (4) | decided at, unix ms (8) | name length (1) |
name | segment length (1) | segment, nonce is 8 bytes, arm 2 bytes, and tag is
SipHash-2-4 (64-bit) of everything before it under a key derived from the secret.

Signing a batch costs the prefix's SipHash blocks once and two or three blocks per
decision; verifying decodes and checks a whole batch of ids in one call. Multi-byte
integers are big-endian in the id; SipHash itself reads little-endian words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

_F = TypeVar("_F", bound=Callable[..., Any])


def njit(*, cache: bool, inline: str = "never") -> Callable[[_F], _F]:
    """numba.njit, typed so that mypy keeps each kernel's signature instead of seeing Any."""
    return cast(Callable[[_F], _F], numba.njit(cache=cache, inline=inline))


VERSION = 3
# nonce (8) + arm (2) + tag (8): 18 bytes, 24 base64 characters, no padding.
SUFFIX_BYTES = 18
SUFFIX_CHARS = 24
# version, epoch, decided-at, name length: the fixed head of the prefix.
HEAD_BYTES = 14

# Results of verify_ids per id.
OK, MALFORMED, NOT_BASE64, LEGACY, BAD_TAG = 0, 1, 2, 3, 4

_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
).copy()
_DECODE = np.full(256, 255, dtype=np.uint8)
_DECODE[_ALPHABET] = np.arange(64, dtype=np.uint8)

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, inline="always")
def _rotl(x: np.uint64, b: int) -> np.uint64:
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit(cache=True, inline="always")
def _round(
    v0: np.uint64, v1: np.uint64, v2: np.uint64, v3: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit(cache=True, inline="always")
def _compress(
    v0: np.uint64, v1: np.uint64, v2: np.uint64, v3: np.uint64, m: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    v3 ^= m
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= m
    return v0, v1, v2, v3


@njit(cache=True, inline="always")
def _word(data: NDArray[np.uint8], at: int) -> np.uint64:
    m = np.uint64(0)
    for j in range(8):
        m |= np.uint64(data[at + j]) << np.uint64(8 * j)
    return m


@njit(cache=True)
def _init(k0: np.uint64, k1: np.uint64) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    return (
        k0 ^ np.uint64(0x736F6D6570736575),
        k1 ^ np.uint64(0x646F72616E646F6D),
        k0 ^ np.uint64(0x6C7967656E657261),
        k1 ^ np.uint64(0x7465646279746573),
    )


@njit(cache=True)
def _absorb(
    state: tuple[np.uint64, np.uint64, np.uint64, np.uint64],
    data: NDArray[np.uint8],
    start: int,
    n_blocks: int,
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    v0, v1, v2, v3 = state
    for b in range(n_blocks):
        v0, v1, v2, v3 = _compress(v0, v1, v2, v3, _word(data, start + 8 * b))
    return v0, v1, v2, v3


@njit(cache=True)
def _finish(
    state: tuple[np.uint64, np.uint64, np.uint64, np.uint64],
    data: NDArray[np.uint8],
    start: int,
    length: int,
    total: int,
) -> np.uint64:
    """Absorbs data[start:start+length], the message's last bytes (total in all), and
    returns the tag."""
    v0, v1, v2, v3 = _absorb(state, data, start, length // 8)
    last = np.uint64(total & 0xFF) << np.uint64(56)
    tail = start + (length // 8) * 8
    for j in range(length % 8):
        last |= np.uint64(data[tail + j]) << np.uint64(8 * j)
    v0, v1, v2, v3 = _compress(v0, v1, v2, v3, last)
    v2 ^= np.uint64(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


@njit(cache=True)
def siphash24(k0: np.uint64, k1: np.uint64, data: NDArray[np.uint8]) -> np.uint64:
    """SipHash-2-4 of data under the key (k0, k1), as the reference defines it."""
    return _finish(_init(k0, k1), data, 0, data.shape[0], data.shape[0])


@njit(cache=True, inline="always")
def _put_be(out: NDArray[np.uint8], at: int, value: np.uint64, n_bytes: int) -> None:
    for j in range(n_bytes):
        out[at + j] = (value >> np.uint64(8 * (n_bytes - 1 - j))) & np.uint64(0xFF)


@njit(cache=True, inline="always")
def _get_be(data: NDArray[np.uint8], at: int, n_bytes: int) -> np.uint64:
    value = np.uint64(0)
    for j in range(n_bytes):
        value = (value << np.uint64(8)) | np.uint64(data[at + j])
    return value


@njit(cache=True)
def _b64_encode(
    data: NDArray[np.uint8], start: int, length: int, out: NDArray[np.uint8], at: int
) -> None:
    """length must be a multiple of 3 (the ids are laid out so that it always is)."""
    for g in range(length // 3):
        i = start + 3 * g
        word = (int(data[i]) << 16) | (int(data[i + 1]) << 8) | int(data[i + 2])
        o = at + 4 * g
        out[o] = _ALPHABET[(word >> 18) & 63]
        out[o + 1] = _ALPHABET[(word >> 12) & 63]
        out[o + 2] = _ALPHABET[(word >> 6) & 63]
        out[o + 3] = _ALPHABET[word & 63]


@njit(cache=True)
def sign_ids(
    k0: np.uint64,
    k1: np.uint64,
    name: NDArray[np.uint8],
    segment: NDArray[np.uint8],
    epoch: int,
    decided_ms: int,
    nonce_base: np.uint64,
    arms: NDArray[np.int64],
) -> NDArray[np.uint8]:
    """The ids of decisions arms[i] (nonce nonce_base + i), newline-separated ASCII."""
    body = HEAD_BYTES + name.shape[0] + 1 + segment.shape[0]
    prefix = np.zeros(body + (-body) % 3, dtype=np.uint8)
    prefix[0] = VERSION
    _put_be(prefix, 1, np.uint64(epoch & 0xFFFFFFFF), 4)
    _put_be(prefix, 5, np.uint64(decided_ms), 8)
    prefix[13] = name.shape[0]
    prefix[HEAD_BYTES : HEAD_BYTES + name.shape[0]] = name
    prefix[HEAD_BYTES + name.shape[0]] = segment.shape[0]
    prefix[HEAD_BYTES + name.shape[0] + 1 : body] = segment
    n_prefix = prefix.shape[0]
    n_text = n_prefix // 3 * 4
    stride = n_text + SUFFIX_CHARS + 1
    n = arms.shape[0]
    out = np.empty(max(n * stride - 1, 0), dtype=np.uint8)
    if n == 0:
        return out
    _b64_encode(prefix, 0, n_prefix, out, 0)
    n_blocks = n_prefix // 8
    shared = _absorb(_init(k0, k1), prefix, 0, n_blocks)
    rest = n_prefix - 8 * n_blocks
    # The prefix's last partial block, then this decision's nonce and arm.
    message = np.empty(rest + 10, dtype=np.uint8)
    message[:rest] = prefix[8 * n_blocks :]
    suffix = np.empty(SUFFIX_BYTES, dtype=np.uint8)
    total = n_prefix + 10
    for i in range(n):
        _put_be(suffix, 0, nonce_base + np.uint64(i), 8)
        _put_be(suffix, 8, np.uint64(arms[i]), 2)
        message[rest:] = suffix[:10]
        _put_be(suffix, 10, _finish(shared, message, 0, rest + 10, total), 8)
        at = i * stride
        if i > 0:
            out[at : at + n_text] = out[:n_text]
        _b64_encode(suffix, 0, SUFFIX_BYTES, out, at + n_text)
        if i + 1 < n:
            out[at + stride - 1] = 10  # newline
    return out


@njit(cache=True)
def _b64_decode(
    text: NDArray[np.uint8], start: int, end: int, out: NDArray[np.uint8], at: int
) -> int:
    """Decodes unpadded base64url text[start:end] into out[at:]; the byte count, or -1."""
    n = end - start
    if n % 4 == 1:
        return -1
    o = at
    acc = 0
    bits = 0
    for i in range(start, end):
        value = _DECODE[text[i]]
        if value == 255:
            return -1
        acc = ((acc << 6) | int(value)) & 0xFFFFFF
        bits += 6
        if bits >= 8:
            bits -= 8
            out[o] = (acc >> bits) & 0xFF
            o += 1
    return o - at


@njit(cache=True)
def verify_ids(
    k0: np.uint64,
    k1: np.uint64,
    text: NDArray[np.uint8],
    bounds: NDArray[np.int64],
    raw: NDArray[np.uint8],
    status: NDArray[np.int8],
    fields: NDArray[np.int64],
    nonces: NDArray[np.uint64],
) -> None:
    """Checks the ids text[bounds[i]:bounds[i + 1]], decoding each into raw at the same
    offsets (raw is as long as text). status[i] is OK or why not; for OK ids, fields[i]
    holds (arm, epoch, decided unix ms, name start, name length, segment start, segment
    length), offsets into raw, and nonces[i] the nonce."""
    state = _init(k0, k1)
    for i in range(bounds.shape[0] - 1):
        start, end = bounds[i], bounds[i + 1]
        n = _b64_decode(text, start, end, raw, start)
        if n < 0:
            status[i] = NOT_BASE64
            continue
        if n > 0 and raw[start] != VERSION:
            status[i] = LEGACY
            continue
        if n < HEAD_BYTES + 1 + SUFFIX_BYTES:
            status[i] = MALFORMED
            continue
        name_len = int(raw[start + 13])
        seg_at = start + HEAD_BYTES + name_len
        if seg_at >= start + n - SUFFIX_BYTES:
            status[i] = MALFORMED
            continue
        seg_len = int(raw[seg_at])
        body = HEAD_BYTES + name_len + 1 + seg_len
        padded = body + (-body) % 3
        if padded + SUFFIX_BYTES != n or name_len == 0:
            status[i] = MALFORMED
            continue
        zero_pad = True
        for j in range(start + body, start + padded):
            zero_pad = zero_pad and raw[j] == 0
        if not zero_pad:
            status[i] = MALFORMED
            continue
        tag = _finish(state, raw, start, padded + 10, padded + 10)
        if tag != _get_be(raw, start + padded + 10, 8):
            status[i] = BAD_TAG
            continue
        status[i] = OK
        fields[i, 0] = int(_get_be(raw, start + padded + 8, 2))
        fields[i, 1] = int(_get_be(raw, start + 1, 4))
        fields[i, 2] = int(_get_be(raw, start + 5, 8))
        fields[i, 3] = start + HEAD_BYTES
        fields[i, 4] = name_len
        fields[i, 5] = seg_at + 1
        fields[i, 6] = seg_len
        nonces[i] = _get_be(raw, start + padded, 8)
