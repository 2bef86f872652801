"""Pieces that need no gRPC: tokens, the error table, settings, the store's exactly-once writes."""

from __future__ import annotations

import base64
import filecmp
import hmac
import inspect
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import redis

from bandit_service import errors, token_kernels
from bandit_service.config import Settings
from bandit_service.domain import PolicyConfig, PolicyName, RewardType, new_experiment
from bandit_service.guards import STATUS_FOR_ERROR
from bandit_service.history import HistoryEntry
from bandit_service.stats import ArmStats
from bandit_service.store import PullFlush, RedisStateStore
from bandit_service.tokens import DecisionSigner, DecisionToken, PresignedIds

ROOT = Path(__file__).resolve().parent.parent


def test_token_round_trip_and_expiry() -> None:
    signer = DecisionSigner(b"k" * 32, ttl_s=60)
    token = signer.sign(b"checkout", 3, 7, 1_000_000)
    decoded = signer.verify(token, 1_000_000 + 59_000)
    assert (decoded.experiment, decoded.arm_index, decoded.epoch) == ("checkout", 3, 7)
    assert decoded.decided_unix_ms == 1_000_000 and len(decoded.nonce) == 8
    with pytest.raises(errors.DecisionExpiredError):
        signer.verify(token, 1_000_000 + 61_000)
    assert signer.sign(b"checkout", 3, 7, 1_000_000) != token  # fresh nonce each time


def test_a_segmented_token_carries_its_segment() -> None:
    signer = DecisionSigner(b"k" * 32, ttl_s=60)
    longest = signer.sign(b"e" * 64, 127, 9, 1_000_000, "ü".encode() * 32)
    decoded = signer.verify(longest, 1_000_000)
    assert (decoded.experiment, decoded.segment) == ("e" * 64, "ü" * 32)
    assert signer.verify(signer.sign(b"exp", 0, 1, 5), 5).segment == ""


@pytest.mark.parametrize("segment", [b"", b"vip"])
def test_every_bit_of_a_token_is_covered_by_the_signature(segment: bytes) -> None:
    signer = DecisionSigner(b"k" * 32, ttl_s=60)
    token = signer.sign(b"exp", 1, 1, 5_000, segment)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(len(token) - 1):  # the last char may carry padding bits only
        swapped = alphabet[(alphabet.index(token[position]) + 1) % 64]
        altered = token[:position] + swapped + token[position + 1 :]
        with pytest.raises((errors.DecisionRejectedError, errors.InvalidArgumentError)):
            signer.verify(altered, 5_000)


def test_siphash_matches_the_reference_vectors() -> None:
    # Key 00..0f; messages 00..(n-1): the first vectors of the SipHash paper's appendix.
    k0, k1 = np.uint64(0x0706050403020100), np.uint64(0x0F0E0D0C0B0A0908)
    message = np.arange(15, dtype=np.uint8)
    assert int(token_kernels.siphash24(k0, k1, message[:0])) == 0x726FDB47DD0E0E31
    assert int(token_kernels.siphash24(k0, k1, message[:1])) == 0x74F839C593DC67FD
    assert int(token_kernels.siphash24(k0, k1, message[:8])) == 0x93F5F5799A932462
    assert int(token_kernels.siphash24(k0, k1, message)) == 0xA129CA6149BE45E5


def test_a_batch_of_ids_verifies_in_one_call_with_a_verdict_each() -> None:
    signer = DecisionSigner(b"k" * 32, ttl_s=60)
    arms = [0, 9, 3, 3, 1]
    ids = signer.sign_many(b"exp", arms, 4, 1_000_000, b"eu")
    assert len(set(ids)) == len(ids)
    tokens = signer.verify_many(ids, 1_000_000)
    assert [t.arm_index for t in tokens if isinstance(t, DecisionToken)] == arms
    assert len({t.nonce for t in tokens if isinstance(t, DecisionToken)}) == len(arms)
    assert {(t.experiment, t.segment, t.epoch) for t in tokens if isinstance(t, DecisionToken)} == {
        ("exp", "eu", 4)
    }
    other = DecisionSigner(b"another secret of 32 bytes......", 60).sign(b"exp", 0, 4, 1_000_000)
    mixed = signer.verify_many(
        [ids[0], "", "x" * 300, "not base64!", "QUJD", other, "é" + ids[1][1:], ids[2]],
        1_000_000,
    )
    assert isinstance(mixed[0], DecisionToken) and isinstance(mixed[7], DecisionToken)
    assert [type(r) for r in mixed[1:7]] == [
        errors.InvalidArgumentError,
        errors.InvalidArgumentError,
        errors.InvalidArgumentError,
        errors.InvalidArgumentError,
        errors.DecisionRejectedError,
        errors.InvalidArgumentError,
    ]


def test_ids_signed_before_version_3_still_verify() -> None:
    # Version 1: HMAC-SHA256 over version | arm | epoch | decided ms | nonce | name.
    secret = b"k" * 32
    body = struct.pack(">BHIQ8s", 1, 2, 5, 1_000_000, b"n" * 8) + b"exp"
    tag = hmac.digest(secret, body, "sha256")[:16]
    legacy = base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()
    signer = DecisionSigner(secret, ttl_s=60)
    assert signer.verify(legacy, 1_000_000) == DecisionToken("exp", 2, 5, 1_000_000, b"n" * 8)
    with pytest.raises(errors.DecisionRejectedError):
        DecisionSigner(b"j" * 32, ttl_s=60).verify(legacy, 1_000_000)
    with pytest.raises(errors.DecisionExpiredError):
        signer.verify(legacy, 1_000_000 + 61_000)


def test_presigned_ids_are_distinct_verify_and_are_never_older_than_their_bound() -> None:
    signer = DecisionSigner(b"k" * 32, ttl_s=60)
    ids = PresignedIds(signer, run=8, max_age_ms=100)
    taken = [ids.take(b"exp", 2, 5, 1_000_000, b"") for _ in range(50)]
    assert len(set(taken)) == 50  # runs of 8, each id handed out once
    tokens = [signer.verify(t, 1_000_000) for t in taken]
    assert {(t.experiment, t.arm_index, t.epoch) for t in tokens} == {("exp", 2, 5)}
    assert len({t.nonce for t in tokens}) == 50
    later = signer.verify(ids.take(b"exp", 2, 5, 1_000_101, b""), 1_000_101)
    assert later.decided_unix_ms == 1_000_101  # the run signed at 1_000_000 is too old
    other = signer.verify(ids.take(b"exp", 3, 5, 1_000_101, b"eu"), 1_000_101)
    assert (other.arm_index, other.segment) == (3, "eu")


def test_a_prebuilt_decide_response_parses_to_the_built_one() -> None:
    from banditd.v1 import decisions_pb2

    from bandit_service import convert
    from bandit_service.engine import Decision, Engine

    experiment = new_experiment(
        name="bytes",
        policy=PolicyConfig(PolicyName.THOMPSON),
        reward_type=RewardType.BINARY,
        arms=[("a", "models/a:1"), ("b", "models/b:2")],
    )
    settings = Settings(redis_url="redis://127.0.0.1:1/0")
    totals = ArmStats.from_raw(experiment, {b"a:pulls": b"10", b"a:rewards": b"10", b"a:sum": b"3"})
    snapshot = Engine(None, DecisionSigner(b"k" * 32, 60), settings)._snapshot(  # type: ignore[arg-type]
        experiment, totals
    )
    # The longest ids (a 64-byte name and segment) take 216 characters: a two-byte length.
    for arm, token in ((0, "id-0" * 9), (1, "x" * 127), (1, "y" * 128), (0, "z" * 216)):
        decision = Decision(snapshot, snapshot.allocation, arm, token, [])
        parsed = decisions_pb2.DecideResponse.FromString(convert.decide_response_bytes(decision))
        assert parsed == convert.decide_response(decision)
        assert parsed.propensity == snapshot.allocation.shares[arm]
        assert parsed.decision_id == token


def test_arm_stats_are_the_same_only_when_every_number_is() -> None:
    experiment = new_experiment(
        name="same",
        policy=PolicyConfig(PolicyName.THOMPSON),
        reward_type=RewardType.BINARY,
        arms=[("a", "models/a:1"), ("b", "models/b:2")],
    )
    raw = {b"a:pulls": b"10", b"a:rewards": b"4", b"b:sum": b"3", b"b:sumsq": b"5"}
    stats = ArmStats.from_raw(experiment, raw)
    # Fields of arms the experiment doesn't have (any more) don't count.
    assert stats.same_as(ArmStats.from_raw(experiment, {**raw, b"gone:pulls": b"7"}))
    for field, value in raw.items():
        changed = ArmStats.from_raw(experiment, {**raw, field: b"%d" % (int(value) + 1)})
        assert not stats.same_as(changed), field
        assert not changed.same_as(stats), field


def test_every_domain_error_has_a_status_code() -> None:
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.BanditError) and cls is not errors.BanditError
    ]
    assert classes and all(cls in STATUS_FOR_ERROR for cls in classes)


def test_generated_protocol_code_is_current(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    committed = ROOT / "clients" / "python" / "banditd" / "v1"
    fresh = tmp_path / "banditd" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.suffix in (".py", ".pyi"))
    _, mismatch, missing = filecmp.cmpfiles(fresh, committed, names, shallow=False)
    assert not mismatch and not missing, f"run 'make proto': stale {mismatch + missing}"


def test_settings_from_environment_and_config_file(monkeypatch, tmp_path: Path) -> None:
    config = tmp_path / "banditd.toml"
    config.write_text('refresh_interval_ms = 250\nlisten = "127.0.0.1:6000"\n')
    monkeypatch.setenv("BANDITD_CONFIG_FILE", str(config))
    monkeypatch.setenv("BANDITD_LISTEN", "127.0.0.1:7000")
    monkeypatch.setenv("BANDITD_ADMIN_TOKEN", "hunter2")
    settings = Settings()
    assert settings.refresh_interval_ms == 250  # from the file
    assert settings.listen == "127.0.0.1:7000"  # the environment wins over the file
    assert settings.redacted()["admin_token"] == "********"
    assert "hunter2" not in repr(settings.redacted())


@pytest.mark.parametrize(
    ("field", "value"),
    [("refresh_interval_ms", 0), ("listen", "nohost"), ("redis_key_prefix", "a{b}")],
)
def test_bad_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})


def test_unknown_setting_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="refresh_interval"):
        Settings(refresh_interval=5)  # type: ignore[call-arg]


def test_a_flush_retried_with_the_same_seq_counts_once(redis_url: str, key_prefix: str) -> None:
    store = RedisStateStore.from_url(redis_url, key_prefix)
    flush = PullFlush("exp", seq=1, counts={"a": 5, "b": 2})
    store.flush_pulls("replica-1", [flush])
    store.flush_pulls("replica-1", [flush])  # e.g. the reply was lost and the engine resent
    store.flush_pulls("replica-2", [PullFlush("exp", seq=1, counts={"a": 1})])
    store.flush_pulls("replica-1", [PullFlush("exp", seq=2, counts={"a": 1})])
    raw = redis.Redis.from_url(redis_url).hgetall(f"{key_prefix}:{{exp}}:stats")
    assert raw == {b"a:pulls": b"7", b"b:pulls": b"2"}
    store.close()


def test_experiment_config_compare_and_set(redis_url: str, key_prefix: str) -> None:
    store = RedisStateStore.from_url(redis_url, key_prefix)
    experiment = new_experiment(
        name="cas",
        policy=PolicyConfig(PolicyName.THOMPSON),
        reward_type=RewardType.BINARY,
        arms=[("a", "1")],
    )
    created = store.create_experiment(experiment, HistoryEntry(1, "ann", "create_experiment"))
    assert created.epoch == 1
    saved = store.save_experiment(created, HistoryEntry(2, "bob", "pause"))
    assert saved.epoch == 2
    with pytest.raises(errors.ConflictError):
        store.save_experiment(created, HistoryEntry(3, "cy", "resume"))  # still at epoch 1
    with pytest.raises(errors.AlreadyExistsError):
        store.create_experiment(experiment, HistoryEntry(4, "dee", "create_experiment"))
    assert store.get_experiment("cas") == saved
    # Only the changes that landed are in the history, each with the epoch it produced.
    assert store.read_history("cas", 10) == [
        HistoryEntry(1, "ann", "create_experiment", epoch=1),
        HistoryEntry(2, "bob", "pause", epoch=2),
    ]
    assert store.read_history("cas", 1) == [HistoryEntry(2, "bob", "pause", epoch=2)]
    store.close()


def test_the_changes_feed_names_exactly_what_changed_since_a_number(
    redis_url: str, key_prefix: str
) -> None:
    store = RedisStateStore.from_url(redis_url, key_prefix)
    assert store.changed_since(None) == ([], [], 0)  # a fresh start only learns the number
    store.note_changed(["a", "b"])
    names, configured, first = store.changed_since(0)
    assert sorted(names) == ["a", "b"] and configured == [] and first == 1
    store.note_changed(["b"], config=True)
    store.note_changed(["c"])
    names, configured, last = store.changed_since(first)
    assert sorted(names) == ["b", "c"] and configured == ["b"] and last == 3
    assert store.changed_since(last) == ([], [], 3)
    assert store.changed_since(None) == ([], [], 3)
    store.close()


def test_store_reports_an_unreachable_redis_clearly() -> None:
    from bandit_service.embedded_redis import free_port

    store = RedisStateStore.from_url(f"redis://127.0.0.1:{free_port()}/0", "x")
    with pytest.raises(errors.StoreUnavailableError, match="redis unavailable"):
        store.ping()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"| `{name}` |" not in readme]
    assert not missing, f"settings missing from the README's table: {missing}"


def test_guardrails_judge_the_observations_of_their_window() -> None:
    from bandit_service.domain import Guardrail, GuardrailKind
    from bandit_service.guardrails import Evidence, ObservationHistory

    experiment = new_experiment(
        name="w",
        policy=PolicyConfig(PolicyName.THOMPSON),
        reward_type=RewardType.BINARY,
        arms=[("a", "1"), ("b", "2")],
        guardrails=[Guardrail("recent", GuardrailKind.ERROR_RATE, 0.01, window_s=60.0)],
    )
    history = ObservationHistory()

    def counters(n: int, errors: int) -> dict[bytes, bytes]:
        return {b"b:errn": str(n).encode(), b"b:err": str(errors).encode()}

    history.record(experiment, "", 1000.0, counters(10_000, 10))
    history.record(experiment, "", 1001.0, counters(10_100, 10))  # under a step: not kept
    history.record(experiment, "", 1030.0, counters(12_000, 12))
    (guardrail,) = experiment.guardrails
    # Not watched for a whole window yet: all history.
    early = Evidence(experiment, counters(13_000, 40), None, history, 1050.0)
    assert early.for_guardrail(guardrail)[1].error_reports == 13_000
    # A window later: only what came since the snapshot taken 60 s before.
    late = Evidence(experiment, counters(13_000, 40), None, history, 1095.0)
    recent = late.for_guardrail(guardrail)[1]
    assert (recent.error_reports, recent.errors) == (1000, 28)
