"""Webhook throughput and latency: signed text messages through gunicorn (2 workers) + real Redis.

Runs the same load against a bare Flask view that answers ``success`` on the same server setup
and prints the ratio, for two connection patterns: each message on a new connection (how
separate WeChat pushes arrive) and a few keep-alive connections (how a proxy in front would
talk). Also prints the server's CPU per message and how it split between the two workers:
gunicorn leaves a keep-alive connection with the worker that accepted it, and with a handful
of connections one worker often gets most of them. All traffic stays on 127.0.0.1; every loop
is bounded in count and time.

    .venv/bin/python bench/webhook.py [--requests 3000] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli.faq import percentile  # noqa: E402
from bot.config import WechatConfig  # noqa: E402
from bot.wechat.simulator import Simulator  # noqa: E402

QUESTIONS = ["会费怎么交", "怎么入会", "欠薪了找谁", "送外卖摔伤了怎么办", "附近有没有职工驿站", "12351是干啥的",
             "今天天气怎么样", "帮助", "工会能帮我请律师吗", "我没签合同能入会吗"]
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(target: str, env: dict[str, str], port: int, threads: int = 4) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", str(threads), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", target],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server {target} did not start")


def children(pid: int) -> list[int]:
    """The gunicorn workers of arbiter ``pid``."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_for(count: int, seed: int) -> list[tuple[str, bytes]]:
    sim = Simulator(WechatConfig(token=TOKEN), transport=lambda *a: (0, b""))
    out = []
    for i in range(count):
        xml = sim.text(f"bench-user-{seed}-{i % 50}", QUESTIONS[i % len(QUESTIONS)], msg_id=seed * 10_000_000 + i)
        params, body = sim.query(xml)
        out.append(("/wechat?" + urlencode(params), body.encode("utf-8")))
    return out


def worker(port: int, jobs: list[tuple[str, bytes]], interval: float, start_at: float, keep_alive: bool,
           queue: mp.Queue) -> None:
    """Send ``jobs`` over one keep-alive connection, or one connection each; ``interval`` > 0 paces
    them (open loop)."""
    headers = {"Content-Type": "text/xml"} if keep_alive else {"Content-Type": "text/xml", "Connection": "close"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    for i, (path, body) in enumerate(jobs):
        scheduled = start_at + i * interval if interval else time.time()
        delay = scheduled - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        # latency from the scheduled send time: a late start counts against us (no coordinated omission)
        latencies.append((time.time() - scheduled) * 1000)
    queue.put((latencies, errors))


def run_load(port: int, total: int, clients: int, rate: float | None, seed: int,
             keep_alive: bool = True) -> dict[str, float]:
    jobs = requests_for(total, seed)
    queue: mp.Queue = mp.Queue()
    start_at = time.time() + 0.5
    interval = clients / rate if rate else 0.0
    procs = [mp.Process(target=worker, args=(port, jobs[i::clients], interval, start_at, keep_alive, queue))
             for i in range(clients)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(10)
    elapsed = time.time() - start_at
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    return {
        "requests": len(latencies), "errors": errors, "throughput": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="messages in the throughput run")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections in the throughput run")
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s in the latency run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--redis", default=os.environ.get("UNIONBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="unionbot-bench-"))
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    config = tmp / "config.toml"
    config.write_text(
        f'[wechat]\ntoken = "{TOKEN}"\n[store]\nurl = "{args.redis}"\nkey_prefix = "{prefix}"\n'
        f'[database]\nurl = "sqlite:///{tmp}/bench.db"\n[knowledge]\ndir = "{ROOT / "knowledge"}"\nsemantic = "off"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, UNIONBOT_CONFIG=str(config), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)

    for keep_alive in (False, True):
        pattern = "keep-alive connections" if keep_alive else "a new connection per message"
        print(f"-- {pattern}")
        figures = {}
        for name, target in (("bare flask", "bench.bare_flask:app"), ("unionbot", "bot.web.app:wsgi_app()")):
            port = free_port()
            server = start(target, env, port, args.threads)
            try:
                run_load(port, 200, args.clients, None, seed=1, keep_alive=keep_alive)  # warm up
                seed = (2 if name == "unionbot" else 3) + (20 if keep_alive else 0)
                processes = [server.pid, *children(server.pid)]
                cpu_before = [cpu_seconds(p) for p in processes]
                throughput = run_load(port, args.requests, args.clients, None, seed=seed, keep_alive=keep_alive)
                cpu_used = [cpu_seconds(p) - c for p, c in zip(processes, cpu_before, strict=True)]
                paced = run_load(port, int(args.rate * args.seconds), 4, args.rate, seed=seed + 10,
                                 keep_alive=keep_alive)
            finally:
                server.terminate()
                server.wait(10)
            figures[name] = throughput
            workers = sorted(cpu_used[1:], reverse=True)
            print(f"{name:>10}: {throughput['throughput']:7.0f} msg/s over {throughput['requests']} messages "
                  f"({args.clients} clients, {throughput['errors']} errors), p50 {throughput['p50_ms']:.1f} ms, "
                  f"p99 {throughput['p99_ms']:.1f} ms | at {args.rate:.0f} msg/s: p50 {paced['p50_ms']:.1f} ms, "
                  f"p99 {paced['p99_ms']:.1f} ms ({paced['errors']} errors) | server CPU "
                  f"{sum(cpu_used) / throughput['requests'] * 1000:.2f} ms/msg, workers "
                  + " / ".join(f"{c:.1f}" for c in workers) + " s")
        ratio = figures["unionbot"]["throughput"] / figures["bare flask"]["throughput"]
        print(f"throughput ratio unionbot / bare flask ({pattern}): {ratio:.2f}")
    import redis

    client = redis.Redis.from_url(args.redis)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
