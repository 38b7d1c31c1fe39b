"""A worker loop that fails backs off (an outage is not hammered) and says why in one line."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from datetime import datetime

import pytest

from api.worker import MAX_RETRY_SECONDS, Loop, retry_delay, run_loop


def test_the_retry_delay_doubles_per_failure_up_to_a_minute() -> None:
    assert [retry_delay(0.5, n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert retry_delay(0.5, 30) == MAX_RETRY_SECONDS == 60
    assert retry_delay(600, 4) == 600  # a loop slower than the cap keeps its own pace


async def test_a_failing_loop_backs_off_then_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    calls: list[float] = []
    failures = [ConnectionRefusedError("connection refused")] * 3 + [ValueError("a bug")]

    async def step(_: datetime) -> int:
        calls.append(time.monotonic())
        if failures:
            raise failures.pop(0)
        stop.set()
        return 0

    with caplog.at_level(logging.WARNING, logger="api.worker"):
        await asyncio.wait_for(run_loop(Loop("flaky", 0.02, step), stop), timeout=10)

    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert len(gaps) == 4
    for gap, expected in zip(gaps, [0.02, 0.04, 0.08, 0.16], strict=True):
        assert gap >= expected * 0.9, gaps
    records = [r for r in caplog.records if r.name == "api.worker"]
    outage, bug = records[:3], records[3]
    assert all("database unavailable" in r.getMessage() and r.exc_info is None for r in outage)
    assert "retrying in 0.08s" in outage[2].getMessage()
    assert bug.exc_info is not None  # a bug keeps its stack trace
    assert "4 in a row" in bug.getMessage()
