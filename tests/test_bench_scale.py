"""loadtest.bench_scale: its bulk writes equal the admin API's, and a scaled-down run works.

Timings are never asserted: the suite runs on shared machines.
"""

from __future__ import annotations

import json
import random

import redis
from banditd.v1 import admin_pb2
from conftest import RunningServer
from wire import connect

from bandit_service.store import Keys, parse_stats
from loadtest import bench_scale


def test_bulk_writes_equal_what_the_admin_api_writes(
    server: RunningServer, redis_client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    stubs = connect(server.target)
    stubs.admin_call("CreateExperiment", bench_scale.create_request("via-api", 3))
    bench_scale.create_experiments(redis_url, ["bulk"], 3, key_prefix)
    imports = bench_scale.seed_statistics(
        redis_url, ["bulk"], 3, random.Random(1), key_prefix=key_prefix
    )
    assert imports == 3
    keys = Keys(key_prefix)
    # The same history through the RPC `banditctl arm import` sends.
    for arm, row in parse_stats(
        redis_client.hgetall(keys.stats("bulk")), ["v0", "v1", "v2"]
    ).items():
        stubs.admin_call(
            "ImportOutcomes",
            admin_pb2.ImportOutcomesRequest(
                experiment="via-api",
                arm=arm,
                pulls=int(row["pulls"]),
                rewards=int(row["rewards"]),
                reward_sum=row["sum"],
                reward_sum_squares=row["sumsq"],
                import_id=f"{bench_scale.ACTOR}-seed-{arm}",
            ),
        )
    stubs.channel.close()

    def written(name: str) -> dict[str, object]:
        config = redis_client.hgetall(keys.config(name))
        doc = json.loads(config[b"json"])
        doc.pop("name"), doc.pop("created_unix_ms")
        history = [json.loads(e) for e in redis_client.lrange(keys.history(name), 0, -1)]
        for entry in history:
            entry.pop("at_unix_ms"), entry.pop("actor")
        return {
            "config": doc,
            "epoch": config[b"epoch"],
            "history": history,
            "stats": redis_client.hgetall(keys.stats(name)),
            "imports": redis_client.hgetall(keys.imports(name)),
            "listed": redis_client.sismember(keys.experiments, name),
            "noticed": redis_client.zscore(keys.changes, name) is not None,
        }

    assert written("bulk") == written("via-api")


def test_scaled_down_refresh_measurement_runs() -> None:
    result = bench_scale.measure_refresh_at_scale(
        30, 3, idle_window_s=1.0, active_window_s=1.0, changed_per_interval=3, pinning=False
    )
    json.dumps(result)
    load = result["load"]
    assert isinstance(load, dict) and load["experiments_loaded"] == 30
    active = result["active"]
    assert isinstance(active, dict)
    assert active["writer"]["errors"] == [] and active["writer"]["ticks"] > 0
    assert result["refresh_cpu_fraction_10k_experiments"] == active["cpu_fraction"]
