"""Every setting of `banditd serve`, its default and its environment variable (BANDITD_*).

Sources, highest priority first: keyword arguments, environment variables, a
TOML file named by BANDITD_CONFIG_FILE (or `banditd serve --config`), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_ENV = "BANDITD_CONFIG_FILE"


class Settings(BaseSettings):
    """Settings of one banditd replica."""

    model_config = SettingsConfigDict(env_prefix="BANDITD_", extra="forbid", frozen=True)

    listen: str = Field(
        "127.0.0.1:50051",
        description="host:port the gRPC server binds; port 0 picks a free port.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis to keep state in, e.g. redis://host:6379/0. Unset: banditd starts "
        "and manages its own redis-server (data in data_dir, append-only file on).",
    )
    redis_key_prefix: str = Field(
        "banditd",
        description="Prefix of every Redis key, so several deployments can share a Redis.",
    )
    data_dir: Path = Field(
        Path(".banditd"), description="Where the embedded redis-server keeps its data."
    )
    redis_server_bin: str = Field(
        "redis-server", description="The redis-server binary the embedded mode runs."
    )
    admin_token: SecretStr | None = Field(
        None, description="Bearer token every admin RPC must carry. Unset: admin RPCs are open."
    )
    decision_secret: SecretStr | None = Field(
        None,
        description="Secret the key that signs decision ids is derived from; every replica needs "
        "the same one. Unset: "
        "a random key is created once and kept in Redis, shared by every replica on it.",
    )
    decision_ttl_s: int = Field(
        7 * 24 * 3600,
        ge=60,
        description="How long after a decision its rewards are accepted.",
    )
    refresh_interval_ms: int = Field(
        100,
        ge=5,
        le=60_000,
        description="How often a replica reloads arm statistics and config from Redis; admin "
        "changes reach every replica within this interval.",
    )
    full_refresh_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often a replica reloads the config of every experiment it holds "
        "and the statistics of those it is deciding from, changed or not (between, it "
        "reloads only those the changes feed names).",
    )
    min_rebuild_interval_ms: int = Field(
        250,
        ge=0,
        le=60_000,
        description="A replica rebuilds an experiment's snapshot from new statistics at most "
        "this often (config changes apply at the next refresh regardless); bounds the "
        "refresh's CPU when many experiments change all the time.",
    )
    idle_rebuild_delay_ms: int = Field(
        1000,
        ge=0,
        le=60_000,
        description="New statistics of an experiment this replica has not decided from since "
        "its last rebuild wait at least this long after the change is noticed, so that the "
        "changes of that time make one rebuild (config changes apply at once).",
    )
    idle_reloads_per_s: int = Field(
        100,
        ge=1,
        le=1_000_000,
        description="At most this many experiments a replica has not decided from since "
        "their last rebuild are reloaded per second after their statistics change, oldest "
        "change first (a decision here moves one to the next refresh; config changes apply "
        "at once); bounds the refresh's CPU when other replicas change many experiments "
        "that this one rarely serves.",
    )
    flush_interval_ms: int = Field(
        100,
        ge=5,
        le=60_000,
        description="How often a replica writes its decision counts to Redis.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes sharing the listen port (SO_REUSEPORT), each a full "
        "replica; use about one per core.",
    )
    reuse_port: bool = Field(
        False,
        description="Let several processes bind the listen port (set for the workers of "
        "'--workers'; off so that two servers never share a port by mistake).",
    )
    max_workers: int = Field(
        32,
        ge=2,
        le=1024,
        description="Threads serving RPCs (a reward stream holds one while open).",
    )
    share_draws: int = Field(
        4096,
        ge=256,
        le=1_000_000,
        description="Resolution of the floor on Thompson sampling's traffic shares: a live arm "
        "keeps at least 0.5 / (share_draws + 0.5 * live arms) of the traffic.",
    )
    status_draws: int = Field(
        20_000, ge=1000, le=1_000_000, description="Monte Carlo draws behind P(best) in status."
    )
    autopilot_interval_ms: int = Field(
        250,
        ge=10,
        le=60_000,
        description="How often a replica judges guardrails and ramp steps (automatic rollback "
        "and ramp advance).",
    )
    guardrail_draws: int = Field(
        10_000,
        ge=1000,
        le=1_000_000,
        description="Monte Carlo draws behind each guardrail's breach probability.",
    )
    shutdown_grace_s: float = Field(
        5.0, ge=0, description="How long in-flight RPCs may finish on shutdown."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )

    @field_validator("redis_key_prefix")
    @classmethod
    def _prefix_has_no_hash_tag(cls, value: str) -> str:
        if not value or any(c in value for c in "{}"):
            raise ValueError("must be non-empty and contain no '{' or '}' (used for hash tags)")
        return value

    @field_validator("listen")
    @classmethod
    def _listen_is_host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"must be host:port, got {value!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise ValueError(f"{CONFIG_FILE_ENV}={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def redacted(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for the start-up log line."""
        values = self.model_dump()
        for name, value in values.items():
            if isinstance(value, SecretStr):
                values[name] = "********"
            elif isinstance(value, Path):
                values[name] = str(value)
        return values
