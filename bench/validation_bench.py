"""Event validation throughput: parse_line + validate_event against a plain DuckDB scan of the same file.

    uv run python -m bench.validation_bench [--events 200000] [--python-subset 20000] [--out events.ndjson]

Generates realistic mixed events (about 2 % invalid, of every reason the validator decides) as NDJSON, then
measures events/s of (a) parse_line + validate_event with jsonschema_rs (the shipped registry), (b) the same code
with the schemas compiled by the pure-Python `jsonschema` package, on a subset, and (c) the reference: DuckDB
counting the file's JSON objects. Every figure includes reading the file. (a) and (b) must agree on every line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import jsonschema  # type: ignore[import-untyped]
import msgspec
from referencing import Registry, Resource

from event_contracts import ContractRegistry, Reason, Violation, load_registry, parse_line, primary_reason
from event_contracts import validate_event as validate
from event_contracts.json_paths import excerpt, json_path
from event_contracts.schema_check import JsonObject, SchemaCheck

CLIENT_MIX = {
    "feed_impression": 40,
    "project_view": 15,
    "video_play": 15,
    "app_open": 10,
    "support_cta_tap": 5,
    "notification_opened": 4,
    "upload_state_changed": 3,
    "checkout_started": 2,
}
SERVER_MIX = {"support_prepared": 2, "payment_succeeded": 1.5, "payment_failed": 0.5, "support_canceled": 0.5}
SERVER_MIX |= {"refund_issued": 0.2, "dispute_opened": 0.1, "dispute_closed": 0.1, "payout_released": 0.1}
PLATFORMS = {"ios": ("iPhone15,2", "18.1"), "android": ("Pixel 8", "15"), "web": ("desktop", "macOS 15.1")}
STATES = ["created", "uploading", "processing", "ready", "failed"]


class EventFactory:
    """Plausible events: a few thousand users and projects, sessions, the catalog's properties."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5_000)]
        self.projects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(800)]
        self.names = [*CLIENT_MIX, *SERVER_MIX]
        self.weights = [*CLIENT_MIX.values(), *SERVER_MIX.values()]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def properties(self, name: str) -> dict[str, Any]:
        rng = self.rng
        money = {"support_id": self.uid(), "amount_minor": rng.choice([500, 1000, 2500, 5000]), "currency": "EUR"}
        match name:
            case "app_open":
                return {"launch": rng.choice(["cold", "warm"])}
            case "feed_impression":
                return {"position": rng.randrange(60), "feed_id": rng.choice(["home", "trending", "nearby"])}
            case "project_view":
                return {"source": rng.choice(["feed", "search", "share_link", "profile", "notification"])}
            case "support_cta_tap":
                return {"tier_id": self.uid()} if rng.random() < 0.7 else {}
            case "checkout_started" | "refund_issued":
                return money
            case "payment_succeeded":
                return money | {"payment_intent_id": f"pi_{self.uid().replace('-', '')[:24]}"}
            case "support_prepared":
                return money | {"reward_type": "physical"}
            case "payment_failed":
                return {"support_id": self.uid(), "failure_code": rng.choice(["card_declined", "insufficient_funds"])}
            case "support_canceled":
                return {"support_id": self.uid()}
            case "dispute_opened":
                return money | {"dispute_id": self.uid()}
            case "dispute_closed":
                return {"dispute_id": self.uid(), "outcome": rng.choice(["won", "lost"])}
            case "payout_released":
                return {"payout_id": self.uid(), "amount_minor": rng.randrange(1, 10**7), "currency": "EUR"}
            case "video_play":
                watch_ms = rng.randrange(200_000)
                kbps = rng.choice([800, 1600, 2400, 4800])
                rendition = rng.choice(["360p", "540p", "720p", "1080p"])
                return {"video_id": self.uid(), "rendition": rendition, "watch_ms": watch_ms, "bitrate_kbps": kbps}
            case "upload_state_changed":
                step = rng.randrange(len(STATES) - 1)
                return {
                    "upload_id": f"up_{rng.getrandbits(40):x}",
                    "from_state": STATES[step],
                    "to_state": STATES[step + 1],
                }
            case "notification_opened":
                return {"notification_id": self.uid(), "channel": rng.choice(["push", "in_app", "email"])}
        raise ValueError(name)

    def event(self, index: int) -> dict[str, Any]:
        rng = self.rng
        name = rng.choices(self.names, self.weights)[0]
        occurred = (
            f"2026-11-27T{index // 36_000 % 24:02d}:{index // 600 % 60:02d}:{index // 10 % 60:02d}.{index % 1000:03d}Z"
        )
        event: dict[str, Any] = {
            "event_id": self.uid(),
            "event_name": name,
            "schema_version": "1.0",
            "occurred_at": occurred,
            "user_id": rng.choice(self.users),
            "project_id": None if name in {"app_open", "notification_opened"} else rng.choice(self.projects),
            "properties": self.properties(name),
        }
        if name == "video_play":
            event["properties"]["bytes_delivered"] = (
                event["properties"]["watch_ms"] * event["properties"]["bitrate_kbps"] // 8
            )
        if name in SERVER_MIX:
            return event | {"platform": "server"}
        platform = rng.choice(list(PLATFORMS))
        device, os_version = PLATFORMS[platform]
        signed_in = rng.random() < 0.6
        return event | {
            "sent_at": occurred,
            "platform": platform,
            "app_version": rng.choice(["3.14.0", "3.13.2", "3.15.0-beta.1"]),
            "user_id": event["user_id"] if signed_in else None,
            "anonymous_id": None if signed_in else f"anon-{rng.getrandbits(64):016x}",
            "session_id": f"sess-{rng.getrandbits(48):012x}",
            "context": {"device": device, "os_version": os_version, "locale": "de-DE", "network": "wifi"},
        }


def spoil(event: dict[str, Any], rng: random.Random) -> bytes:
    """One realistic mistake per invalid line."""
    encode = msgspec.json.encode
    mistake = rng.choices(range(10), weights=[2, 2, 1, 3, 3, 3, 4, 2, 2, 2])[0]
    if mistake == 0:
        return encode(event)[: rng.randrange(10, 200)]  # a truncated write
    if mistake == 1:
        return encode([event])  # a batch where an event was expected
    if mistake == 2:
        return encode(event | {"context": {"blob": "x" * 33_000}})  # oversize
    spoiled = dict(event)
    if mistake == 3:
        spoiled["event_name"] = event["event_name"].replace("_", "")
    elif mistake == 4:
        spoiled["schema_version"] = "2.0"
    elif mistake == 5:
        spoiled["occurred_at"] = event["occurred_at"].rstrip("Z")
    elif mistake == 6:
        spoiled["properties"] = {
            key: 7 if isinstance(value, str) else str(value) for key, value in event["properties"].items()
        }
    elif mistake == 7:
        spoiled["received_at"] = event["occurred_at"]
    elif mistake == 8:
        spoiled |= {"user_id": None, "anonymous_id": None}
    else:
        spoiled["platform"] = "server" if event["platform"] != "server" else "web"
    return encode(spoiled)


def write_events(path: Path, count: int, invalid_rate: float, seed: int) -> int:
    rng = random.Random(seed)
    factory = EventFactory(rng)
    invalid = 0
    with path.open("wb") as out:
        for index in range(count):
            event = factory.event(index)
            if rng.random() < invalid_rate:
                invalid += 1
                out.write(spoil(event, rng) + b"\n")
            else:
                out.write(msgspec.json.encode(event) + b"\n")
    return invalid


def compile_with_jsonschema(resources: Mapping[str, JsonObject], schema: JsonObject) -> SchemaCheck:
    """The pure-Python engine behind the same SchemaCheck interface (paths and messages, not the exact wording)."""
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(contents)) for uri, contents in resources.items()
    )
    validator = jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )

    def violations(document: object) -> list[Violation]:
        if validator.is_valid(document):
            return []
        return [
            Violation(Reason.SCHEMA_VIOLATION, json_path(error.absolute_path), excerpt(error.message))
            for error in validator.iter_errors(document)
        ]

    return SchemaCheck(violations, validator.is_valid)


def lines_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        for line in source:
            yield line.rstrip(b"\n")


def validate_file(path: Path, registry: ContractRegistry, limit: int | None = None) -> list[Reason | None]:
    outcomes: list[Reason | None] = []
    for number, raw in enumerate(lines_of(path)):
        if number == limit:
            break
        document, violations = parse_line(raw)
        if document is not None:
            violations = violations + validate(document, registry=registry)
        outcomes.append(primary_reason(violations))
    return outcomes


def parse_file(path: Path) -> list[Reason | None]:
    return [primary_reason(parse_line(raw)[1]) for raw in lines_of(path)]


@dataclass
class Row:
    workload: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def measure(workload: str, events: int, run: Callable[[], object], repeat: int) -> tuple[Row, object]:
    timings: list[float] = []
    result: object = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return Row(workload, events, statistics.median(timings)), result


def duckdb_count(path: Path, function: str, threads: int | None) -> int:
    with duckdb.connect() as connection:
        if threads:
            connection.execute(f"set threads = {threads}")
        query = f"select count(*) from {function}(?, ignore_errors = true)"  # noqa: S608 - one of two table functions
        row = connection.execute(query, [str(path)]).fetchone()
    return int(row[0]) if row else 0


def report(rows: list[Row], reference: Row) -> str:
    lines = ["| workload | events | seconds | events/s | ratio to DuckDB scan |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.workload} | {row.events:,} | {row.seconds:.3f} | {row.rate:,.0f} | {row.rate / reference.rate:.3f} |"
        )
    return "\n".join(lines)


def main(count: int, python_subset: int, invalid_rate: float, out: Path | None, seed: int, repeat: int) -> None:
    directory = tempfile.TemporaryDirectory(prefix="validation-bench-")
    path = out or Path(directory.name) / "events.ndjson"
    invalid = write_events(path, count, invalid_rate, seed)
    print(f"{count:,} events ({invalid:,} spoiled, {path.stat().st_size / 2**20:.1f} MiB) in {path}")

    started = time.perf_counter()
    rust = load_registry()
    python = load_registry(compile_with_jsonschema)
    print(f"both registries loaded and compiled in {time.perf_counter() - started:.3f} s")

    scan, counted = measure(
        "DuckDB read_ndjson_objects count(*) (reference)",
        count,
        lambda: duckdb_count(path, "read_ndjson_objects", None),
        repeat,
    )
    assert counted == count, counted
    rows = [
        scan,
        measure(
            "DuckDB read_ndjson_objects count(*), 1 thread",
            count,
            lambda: duckdb_count(path, "read_ndjson_objects", 1),
            repeat,
        )[0],
        measure("DuckDB read_json_auto count(*)", count, lambda: duckdb_count(path, "read_json_auto", None), repeat)[0],
        measure("parse_line only (msgspec)", count, lambda: parse_file(path), repeat)[0],
    ]
    fast, rust_outcomes = measure(
        "parse_line + validate_event, jsonschema_rs", count, lambda: validate_file(path, rust), repeat
    )
    subset = min(python_subset, count)
    slow, python_outcomes = measure(
        "parse_line + validate_event, jsonschema (pure Python)", subset, lambda: validate_file(path, python, subset), 1
    )
    rows += [fast, slow]
    assert isinstance(rust_outcomes, list)
    assert isinstance(python_outcomes, list)
    disagreements = sum(a != b for a, b in zip(rust_outcomes, python_outcomes, strict=False))

    print(report(rows, scan))
    print(f"\njsonschema_rs / pure-Python jsonschema: {fast.rate / slow.rate:.1f}x")
    print(f"engines disagree on {disagreements} of the first {subset:,} lines")
    reasons = Counter(reason.value if reason else "accepted" for reason in rust_outcomes)
    print("outcomes (jsonschema_rs): " + ", ".join(f"{name} {total:,}" for name, total in reasons.most_common()))
    directory.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--python-subset", type=int, default=20_000, help="lines validated with pure-Python jsonschema")
    parser.add_argument("--invalid-rate", type=float, default=0.02)
    parser.add_argument("--out", type=Path, default=None, help="keep the NDJSON file here instead of a temp dir")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (median); the Python one runs once")
    arguments = parser.parse_args()
    main(
        arguments.events,
        arguments.python_subset,
        arguments.invalid_rate,
        arguments.out,
        arguments.seed,
        arguments.repeat,
    )
