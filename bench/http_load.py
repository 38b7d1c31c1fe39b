"""A small keep-alive HTTP/1.1 load generator for loopback benchmarks (bounded count, stops by itself).

Each of `concurrency` connections sends its share of requests one after another; latency is per
request, throughput is requests over wall time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _connection(
    host: str, port: int, requests: list[Request], latencies: list[float], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for method, path, headers, body in requests:
            head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(name: str, host: str, port: int, make: Callable[[int], Request], total: int, concurrency: int) -> Result:
    requests = [make(i) for i in range(total)]
    shares = [requests[i::concurrency] for i in range(concurrency)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, share, latencies, statuses) for share in shares if share))
    return Result(name, total, time.perf_counter() - started, latencies, statuses)
