"""Soak test of `tunesmith serve`: 20 clients on real sockets for five minutes, and not one error.

    python -m benchmarks.soak                          # 20 clients x 300 s, the shipped model
    python -m benchmarks.soak --seconds 60 --model runs/small --clients 20

The server is `python -m tunesmith serve` in its own process on a free port, with TUNESMITH_HOME in a
temporary folder, started and waited for as benchmarks.bench_serve does. Each client (its own
httpx.AsyncClient, so its own connections) repeats a round: generate two tunes, render one of them
edited, fetch the options menus, the health check, and every fourth round keep a tune and list the kept
tunes. Reported: requests, errors (a 5xx answer, or none: a refused or dropped connection, a timeout),
the other answers that were not 2xx by status (429 means the queue was full), and per route the p50,
p95 and p99 latency. Written to benchmarks/results/soak-<date>.json (--json elsewhere); the exit status
is 1 when there was any error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import httpx

from benchmarks.bench_serve import (
    KEYS,
    METERS,
    Recorder,
    free_port,
    latency_ms,
    peak_rss_mb,
    start_server,
    wait_until_up,
)

RESULTS = Path(__file__).parent / "results"
KEEP_EVERY = 4  # rounds: a person keeps a tune now and then, not every time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="run directory, or 'default' (the shipped model)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--timeout", type=float, default=120, help="seconds a request may take before it counts "
                                                                   "as an error")
    parser.add_argument("--json", type=Path, help="where to write the figures (default: results/soak-<date>.json)")
    return parser.parse_args(argv)


def result_path(folder: Path, day: date) -> Path:
    return folder / f"soak-{day.isoformat()}.json"


def is_error(status: int) -> bool:
    """A 5xx, or no answer at all (Recorder writes 0 for a failed connection or a timeout)."""
    return status == 0 or status >= 500


def route_figures(samples: list[tuple[str, float, int]]) -> dict:
    seconds = [s for _, s, _ in samples]
    return {
        "requests": len(samples),
        "errors": sum(is_error(status) for _, _, status in samples),
        **latency_ms(seconds),
    }


def summarise(samples: list[tuple[str, float, int]], elapsed: float) -> dict:
    """The soak's figures from (route, seconds, status) samples: totals, and latency per route."""
    routes = sorted({route for route, _, _ in samples})
    other = Counter(str(status) for _, _, status in samples if not is_error(status) and not 200 <= status < 300)
    return {
        "seconds": round(elapsed, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 2) if elapsed else None,
        "errors": sum(is_error(status) for _, _, status in samples),
        "other_non_2xx": dict(sorted(other.items())),
        "by_route": {route: route_figures([s for s in samples if s[0] == route]) for route in routes},
    }


def write_report(figures: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")


async def one_round(client: httpx.AsyncClient, record: Recorder, rng: random.Random, round_: int) -> None:
    """What a person does on the page, once."""
    settings = {"num": 2, "seed": rng.randrange(2**31), "key": rng.choice(KEYS), "meter": rng.choice(METERS),
                "max_chars": 400}
    made = await record.call(client, "generate", "POST", "/api/generate", json=settings)
    tunes = made.json()["tunes"] if made is not None else []
    if tunes:
        edited = tunes[0]["abc"].replace("T:", "T:Soaked ", 1)
        await record.call(client, "render", "POST", "/api/render", json={"abc": edited, "parent": tunes[0]["id"]})
    await record.call(client, "options", "GET", "/api/options")
    await record.call(client, "health", "GET", "/api/health")  # the check the page makes
    if tunes and round_ % KEEP_EVERY == 0:
        await record.call(client, "keep", "POST", "/api/keep", json={"id": tunes[1]["id"]})
        await record.call(client, "kept", "GET", "/api/kept")


async def client_loop(url: str, record: Recorder, seed: int, deadline: float, timeout: float) -> int:
    rng = random.Random(seed)
    rounds = 0
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        while time.monotonic() < deadline:
            await one_round(client, record, rng, rounds)
            rounds += 1
    return rounds


async def soak(url: str, clients: int, seconds: float, timeout: float) -> tuple[Recorder, int, float]:
    record = Recorder()
    started = time.monotonic()
    rounds = await asyncio.gather(*(client_loop(url, record, seed, started + seconds, timeout)
                                    for seed in range(clients)))
    return record, sum(rounds), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tunesmith-soak-") as tmp:
        folder = Path(tmp)
        port, log = free_port(), folder / "server.log"
        server = start_server(Path(args.model), folder / "home", port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server, log)
            record, rounds, elapsed = asyncio.run(soak(url, args.clients, args.seconds, args.timeout))
            rss = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
        server_log = log.read_text()[-2000:]
    figures = {"model": args.model, "clients": args.clients, "rounds": rounds, **summarise(record.samples, elapsed),
               "first_non_2xx": record.errors[:10],
               "server_peak_rss_mib": rss, "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
               "server_log_tail": server_log}
    path = args.json or result_path(RESULTS, date.today())
    write_report(figures, path)
    print(json.dumps({k: v for k, v in figures.items() if k != "server_log_tail"}, indent=2))
    print(f"wrote {path}", file=sys.stderr)
    return 1 if figures["errors"] or not figures["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
