"""Load test of `tunesmith serve`: N clients use the workshop at once for S seconds.

    python -m benchmarks.bench_serve                      # 20 clients x 60 s, a tiny model trained first
    python -m benchmarks.bench_serve --model runs/small --clients 20 --seconds 20

The server runs as its own process (`python -m tunesmith serve`), exactly as a user starts
it, with TUNESMITH_HOME in a temporary folder. Each client repeats what a person does on
the page: generate two tunes, draw both scores, edit one (render), fetch its MIDI, play
one (WAV), check the health line, and every fourth round keep a tune and list the book.
Reports requests/s, p50/p95/p99 latency (overall and per endpoint), errors (any status other
than 2xx, 429 included, or a failed connection), the server's peak resident memory
(VmHWM), and whether kept.abc holds exactly the tunes kept. Rounds still running at the
deadline are finished, so `seconds` is a little over --seconds; requests/s divides by it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import report

KEYS = ["G", "D", "Ador", "Em", "Bm", "Dmix", "C", "F#m", "Bb"]
METERS = ["6/8", "C|", "3/4", "9/8", "2/4"]


def tiny_model(folder: Path) -> Path:
    """The tiny preset trained on O'Neill's for its default few hundred steps (seconds)."""
    from tunesmith.learn.training import train

    run = folder / "tiny"
    train("oneills", run, "tiny", show_progress=False, log=lambda _: None)
    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, home: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TUNESMITH_HOME": str(home)}
    argv = [sys.executable, "-m", "tunesmith", "serve", "--model", str(model), "--port", str(port)]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_until_up(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> dict:
    """The health answer once the server is up and has indexed its training tunes (that takes CPU)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            health = httpx.get(f"{url}/api/health", timeout=2).json()
            if health["novelty"] != "building":
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:g} s:\n{log.read_text()[-2000:]}")


def peak_rss_mb(pid: int) -> float | None:
    """The process's resident-memory high-water mark (Linux /proc), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


class Recorder:
    def __init__(self) -> None:
        self.samples: list[tuple[str, float, int]] = []  # (endpoint, seconds, status; 0 = no answer)
        self.errors: list[str] = []
        self.kept = 0
        self.sampling: list[float] = []  # the server's own timing of each generate call, queue left out

    async def call(
        self, client: httpx.AsyncClient, label: str, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.samples.append((label, time.perf_counter() - started, 0))
            self.errors.append(f"{label}: {type(error).__name__}: {error}")
            return None
        self.samples.append((label, time.perf_counter() - started, response.status_code))
        if not response.is_success:
            self.errors.append(f"{label}: {response.status_code} {response.text[:200]}")
            return None
        return response


async def session(client: httpx.AsyncClient, record: Recorder, rng: random.Random, round_: int, audio: bool) -> None:
    """One person's round on the page."""
    settings = {"num": 2, "seed": rng.randrange(2**31), "key": rng.choice(KEYS), "meter": rng.choice(METERS),
                "max_chars": 400, "top_p": 0.95}
    response = await record.call(client, "generate", "POST", "/api/generate", json=settings)
    if response is None:
        return
    tunes = response.json()["tunes"]
    record.sampling.append(response.json()["seconds"])
    await asyncio.gather(*(record.call(client, "svg", "GET", t["urls"]["svg"]) for t in tunes))
    edited = tunes[0]["abc"].replace("T:", "T:Edited ", 1)
    rendered = await record.call(client, "render", "POST", "/api/render",
                                 json={"abc": edited, "parent": tunes[0]["id"]})
    if rendered is not None:
        await record.call(client, "mid", "GET", rendered.json()["urls"]["mid"])
    if audio:
        await record.call(client, "wav", "GET", tunes[1]["urls"]["wav"])
    await record.call(client, "health", "GET", "/api/health")
    if round_ % 4 == 0:
        if await record.call(client, "keep", "POST", "/api/keep", json={"id": tunes[0]["id"]}) is not None:
            record.kept += 1
        await record.call(client, "kept", "GET", "/api/kept")


async def client_loop(url: str, record: Recorder, seed: int, deadline: float, audio: bool) -> int:
    rng = random.Random(seed)
    rounds = 0
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        while time.monotonic() < deadline:
            await session(client, record, rng, rounds, audio)
            rounds += 1
    return rounds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


SHARES = (50, 95, 99)  # the latency percentiles every load figure reports, beside the max


def latency_ms(values: list[float]) -> dict:
    """p50, p95, p99 and max of values (seconds) in milliseconds; None for each when there are none."""
    if not values:
        return {**{f"p{share}_ms": None for share in SHARES}, "max_ms": None}
    return {**{f"p{share}_ms": round(1000 * percentile(values, share / 100), 1) for share in SHARES},
            "max_ms": round(1000 * max(values), 1)}


def latency(values: list[float]) -> dict:
    return {"count": len(values), **latency_ms(values)}


def figures(record: Recorder, args: argparse.Namespace, elapsed: float, rounds: list[int], rss: float | None,
            book_count: int, model: Path) -> dict:
    seconds = [s for _, s, _ in record.samples]
    endpoints = sorted({label for label, _, _ in record.samples})
    return {
        "model": str(model),
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "rounds": sum(rounds),
        "requests": len(seconds),
        "requests_per_s": round(len(seconds) / elapsed, 2),
        **{k: v for k, v in latency(seconds).items() if k != "count"},
        "generate_sampling_p50_ms": latency(record.sampling)["p50_ms"],  # the rest of generate's latency is queue
        "errors": len(record.errors),
        "first_errors": record.errors[:5],
        "server_peak_rss_mib": rss,
        "kept": record.kept,
        "kept_book_has_them_all": book_count == record.kept,
        "by_endpoint": {label: latency([s for lab, s, _ in record.samples if lab == label]) for label in endpoints},
    }


async def run_clients(url: str, args: argparse.Namespace) -> tuple[Recorder, list[int], float]:
    record = Recorder()
    started = time.monotonic()
    deadline = started + args.seconds
    rounds = await asyncio.gather(*(client_loop(url, record, seed, deadline, not args.no_audio)
                                    for seed in range(args.clients)))
    return record, list(rounds), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="run directory (default: train the tiny preset first, ~10 s)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--no-audio", action="store_true", help="leave out the WAV request of each round")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-serve-") as tmp:
        folder = Path(tmp)
        model = Path(args.model) if args.model else tiny_model(folder)
        port, log = free_port(), folder / "server.log"
        server = start_server(model, folder / "home", port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, server, log)
            record, rounds, elapsed = asyncio.run(run_clients(url, args))
            rss = peak_rss_mb(server.pid)
            book_count = len(httpx.get(f"{url}/api/kept", timeout=30).json()["tunes"])
        finally:
            server.terminate()
            server.wait(30)
        report(figures(record, args, elapsed, rounds, rss, book_count, model if args.model else Path("tiny")),
               args.json)


if __name__ == "__main__":
    main()
