"""Load: many users chatting (streamed and not), deciding and polling status against `doppel serve`.

    make demo                                   # once: trains the demo twin in $DOPPEL_HOME
    python benchmarks/load.py [--users 50] [--seconds 120] [--backend llamacpp]
    python benchmarks/load.py --users 5 --seconds 10     # quick check that it runs

Starts `doppel serve` (no worker) on the demo twin with the chosen backend, warms it with one reply,
then runs ``--users`` concurrent users for ``--seconds``. Each user repeats a seeded random choice of
chat (40%), streamed chat (20%), decide (20%), training status (10%) and health (10%), with a short
pause between requests, as a person clicking would. Every prompt differs (a counter in it), so no
reply comes from a cache.

Goals (issue 14): no 5xx; every refusal is a 429 with Retry-After (the twin's `inference.max_concurrent`
running, `max_queued` waiting); `/api/health` p99 under 100 ms throughout; the server's memory flat
(resident size over the last tenth of the run against the first tenth after warm-up).

Prints a table and, with ``--write``, replaces the Load section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

from doppel.config import load_settings
from doppel.registry import Registry

ACTIONS = (("chat", 0.4), ("chat-stream", 0.2), ("decide", 0.2), ("status", 0.1), ("health", 0.1))
RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- load:start -->", "<!-- load:end -->"


def serve(settings, twin: str, backend: str, port: int, folder: Path) -> subprocess.Popen:
    config = folder / "doppel.toml"
    config.write_text(
        f'home = "{settings.home}"\ndatabase_url = "{settings.database_url}"\nlog_level = "warning"\n'
        f'[schedule]\nenabled = false\n[[twins]]\nname = "{twin}"\n'
        f'[twins.inference]\nbackend = "{backend}"\nmax_new_tokens = 32\n'
    )
    log = (folder / "serve.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "doppel", "serve", "--config", str(config), "--port", str(port), "--no-worker"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(proc: psutil.Process) -> float:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


class Tally:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.retry_after_missing = 0
        self.transport_errors: Counter = Counter()


async def user(i: int, base: str, deadline: float, tally: Tally, twin: str) -> None:
    rng = random.Random(i)
    names, weights = zip(*ACTIONS, strict=True)
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        n = 0
        while time.monotonic() < deadline:
            action = rng.choices(names, weights)[0]
            n += 1
            question = f"User {i}, question {n}: should we offer the renewal discount?"
            t0 = time.perf_counter()
            try:
                if action == "chat":
                    r = await client.post("/api/chat", json={"message": question, "personality": twin})
                elif action == "chat-stream":
                    async with client.stream(
                        "POST", "/api/chat", json={"message": question, "personality": twin, "stream": True}
                    ) as r:
                        async for _ in r.aiter_bytes():
                            pass
                elif action == "decide":
                    r = await client.post(
                        "/api/decide",
                        json={"context": question, "options": ["Offer it", "Hold the price"], "rationale": False},
                    )
                elif action == "status":
                    r = await client.get("/api/training/status")
                else:
                    r = await client.get("/api/health")
            except httpx.TransportError as exc:
                tally.transport_errors[type(exc).__name__] += 1
                continue
            tally.status[action][r.status_code] += 1
            if r.status_code < 400:  # latency of answers; refusals are counted, and answered in ms
                tally.latency[action].append(time.perf_counter() - t0)
            if r.status_code == 429:
                retry = r.headers.get("retry-after", "")
                if not retry.isdigit():
                    tally.retry_after_missing += 1
                await asyncio.sleep(int(retry or 1))  # as a well-behaved client does
            await asyncio.sleep(rng.uniform(0.1, 0.5))


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(base: str, users: int, seconds: float, twin: str, server: psutil.Process) -> tuple[Tally, list]:
    tally, memory = Tally(), []
    deadline = time.monotonic() + seconds

    async def sample():
        while time.monotonic() < deadline:
            memory.append((time.monotonic(), rss_mib(server)))
            await asyncio.sleep(1)

    await asyncio.gather(sample(), *(user(i, base, deadline, tally, twin) for i in range(users)))
    return tally, memory


def probe(base: str, seconds: float) -> None:
    """`/api/health` five times a second from a process of its own, latencies (ms) as JSON on stdout.

    The users' process runs 50 clients on one event loop on the same 2 cores, so its own timings include
    its own scheduling; this one measures what a load balancer would see.
    """
    import json

    latencies, deadline = [], time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            client.get("/api/health").raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.2)
    print(json.dumps(latencies))


def report(tally: Tally, memory: list, users: int, seconds: float, backend: str, probed: list[float]) -> str:
    lines = [
        f"{users} users for {seconds:.0f} s against `doppel serve` ({backend} backend, demo twin, 2 cores, "
        "max_concurrent 2, max_queued 16):",
        "",
        "Latency is of answered requests (2xx); a refused one (429) is answered at once and the user waits its",
        "`Retry-After` before asking again, as a well-behaved client does.",
        "",
        "| request | answered | answered/s | p50 ms | p95 ms | p99 ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for action, _ in ACTIONS:
        lat = tally.latency[action]
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(tally.status[action].items()))
        lines.append(
            f"| {action} | {len(lat)} | {len(lat) / seconds:.1f} | {quantile(lat, 0.5) * 1000:.0f} | "
            f"{quantile(lat, 0.95) * 1000:.0f} | {quantile(lat, 0.99) * 1000:.0f} | {statuses} |"
        )
    codes = Counter()
    for c in tally.status.values():
        codes.update(c)
    five = sum(n for code, n in codes.items() if code >= 500)
    refusals = {code: n for code, n in codes.items() if 400 <= code < 500}
    tenth = max(1, len(memory) // 10)
    early = statistics.median(m for _, m in memory[:tenth]) if memory else float("nan")
    late = statistics.median(m for _, m in memory[-tenth:]) if memory else float("nan")
    health_p99 = quantile(probed, 0.99)
    users_p99 = quantile(tally.latency["health"], 0.99) * 1000
    lines += [
        "",
        f"- 5xx: {five}; 4xx: {refusals or 'none'} (429 without Retry-After: {tally.retry_after_missing}); "
        f"transport errors: {dict(tally.transport_errors) or 'none'}",
        f"- /api/health from a separate probe (5 a second, {len(probed)} checks): p50 {quantile(probed, 0.5):.0f} ms, "
        f"p99 {health_p99:.0f} ms, max {max(probed, default=float('nan')):.0f} ms (goal: p99 < 100); from the users' "
        f"own process (its event loop shared by {users} clients) p99 {users_p99:.0f} ms",
        f"- server memory (RSS, with children): {early:.0f} MiB in the first tenth, {late:.0f} MiB in the last "
        f"({late - early:+.0f} MiB); by tenths: {', '.join(f'{m:.0f}' for m in tenths(memory))} MiB",
        f"- goals: {'met' if five == 0 and set(refusals) <= {429} and health_p99 < 100 else 'NOT met'}",
    ]
    return "\n".join(lines)


def tenths(memory: list) -> list[float]:
    """Median RSS in each tenth of the run: flat, or growing all the way?"""
    size = max(1, len(memory) // 10)
    return [statistics.median(m for _, m in memory[i : i + size]) for i in range(0, len(memory), size)][:10]


def write_results(text: str) -> None:
    old = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"{START}\n## Load (benchmarks/load.py)\n\n{text}\n{END}"
    if START in old:
        head, rest = old.split(START, 1)
        new = head + section + rest.split(END, 1)[1]
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--backend", default="llamacpp", choices=["llamacpp", "transformers"])
    parser.add_argument("--twin", default=None)
    parser.add_argument("--write", action="store_true", help="Replace the Load section of benchmarks/RESULTS.md")
    parser.add_argument("--probe", metavar="URL", help=argparse.SUPPRESS)  # the health probe's own process
    args = parser.parse_args()
    if args.probe:
        return probe(args.probe, args.seconds)
    settings = load_settings()
    twin = settings.twin(args.twin).name
    if Registry(settings.resolved_models_dir).final(twin) is None:
        raise SystemExit(f"no final version of {twin} in {settings.resolved_models_dir}: run `make demo` first")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        proc = serve(settings, twin, args.backend, port, Path(folder))
        try:
            for _ in range(240):
                try:
                    if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit((Path(folder) / "serve.log").read_text()[-3000:])
                time.sleep(0.5)
            # Every kind of request once before timing: decide loads the base model's scoring on first use.
            for path, body in (
                ("/api/chat", {"message": "Warm up.", "personality": twin}),
                ("/api/decide", {"context": "Warm up.", "options": ["Yes", "No"], "rationale": False}),
            ):
                httpx.post(f"{base}{path}", json=body, timeout=300).raise_for_status()
            prober = subprocess.Popen(
                [sys.executable, __file__, "--probe", base, "--seconds", str(args.seconds)], stdout=subprocess.PIPE
            )
            tally, memory = asyncio.run(run(base, args.users, args.seconds, twin, psutil.Process(proc.pid)))
            probed = json.loads(prober.communicate(timeout=120)[0])
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    text = report(tally, memory, args.users, args.seconds, args.backend, probed)
    print(text)
    if args.write:
        write_results(text)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
