"""Faults under load: riders signing up through two app instances while a worker is killed, Redis is
restarted and PostgreSQL is frozen.

Starts its own Redis (``redis-server`` on a spare port, append-only file on) and its own throwaway
PostgreSQL cluster (``initdb`` + ``pg_ctl`` on a spare port, run as the ``postgres`` user when
started as root), and two ``unionbot serve`` instances (2 workers each, own ports) on them. For
each phase (none, kill a worker, restart Redis, freeze PostgreSQL) it drives riders through the
signup (scan, 同意, 同意, all fields, 确认) like WeChat: each request waits at most 5 s and is
retried up to twice with the same MsgId, on the other instance. A rider who sees no useful reply
sends the step again (a new message), as people do. Meanwhile one client asks FAQ questions
every 50 ms. The fault starts 1 s into the phase and ends after ``--fault-seconds``.

Per phase it prints: riders confirmed (saw 提交成功) against member rows, duplicated rows, stuck
riders (not confirmed when the phase ends), HTTP 5xx, the slowest reply, FAQ p99 while the fault
lasted (at the kill, for a killed worker), and the recovery time (fault end → first signup
confirmed after it). Loopback only;
every loop is bounded.

    .venv/bin/python bench/faults.py [--riders 60] [--clients 8] [--fault-seconds 8]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.signup import id_number, phone  # noqa: E402
from bench.webhook import children, free_port  # noqa: E402
from bot.cli.faq import percentile  # noqa: E402
from bot.config import WechatConfig  # noqa: E402
from bot.signup.privacy import generate_key  # noqa: E402
from bot.wechat.simulator import Simulator  # noqa: E402

TOKEN = "bench-faults-token"
WECHAT_TIMEOUT = 5.0
STEPS = (  # (what the rider sends next, a fragment of the reply that means this step is reached)
    ("同意", "请先看一下个人信息怎么用"),  # privacy notice shown: agree
    ("同意", "还要请您单独同意一项"),  # separate consent for the ID number
    ("FIELDS", "请发您的姓名"),  # asks for the name: send every field at once
    ("确认", "请核对您的信息"),  # summary: confirm
)
DONE = ("提交成功", "已经申请过入会")
FAQ = ("会费怎么交", "怎么入会", "欠薪了找谁", "工会能帮我请律师吗")
CONTENT = re.compile(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", re.S)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=120, **kw)


class Services:
    """A private Redis and PostgreSQL cluster for the run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis_port, self.pg_port = free_port(), free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.pgdata = tmp / "pg"
        self.redis: subprocess.Popen | None = None

    def start(self) -> None:
        self.start_redis()
        if self.as_postgres:
            shutil.chown(self.tmp, "postgres")
        run([*self.as_postgres, "initdb", "-D", str(self.pgdata), "-A", "trust", "-U", "bot", "--no-sync", "-E", "UTF8"])
        self.pg_ctl("start", "-w", "-l", str(self.tmp / "pg.log"), "-o",
                    f"-p {self.pg_port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off")
        engine = sa.create_engine(self.database_url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE unionbot")
        engine.dispose()

    def pg_ctl(self, *args: str) -> None:
        run([*self.as_postgres, "pg_ctl", "-D", str(self.pgdata), *args])

    def database_url(self, name: str = "unionbot") -> str:
        return f"postgresql+psycopg://bot@127.0.0.1:{self.pg_port}/{name}"

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _redis_up(self.redis_port), 10, "redis-server to start")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        self.redis.wait(10)

    def postgres_pids(self) -> list[int]:
        master = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return [master, *children(master)]

    def stop(self) -> None:
        for pid in self.postgres_pids():
            os.kill(pid, signal.SIGCONT)
        self.pg_ctl("stop", "-m", "immediate", "-w")
        if self.redis and self.redis.poll() is None:
            self.stop_redis()


def _redis_up(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port, socket_connect_timeout=0.2).ping())
    except redis.RedisError:
        return False


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.1)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server_errors = 0
        self.slowest = 0.0
        self.faq: list[tuple[float, float]] = []  # (sent at, seconds)
        self.confirmed: dict[str, float] = {}  # openid -> when

    def reply(self, seconds: float, status: int) -> None:
        with self.lock:
            self.slowest = max(self.slowest, seconds)
            if status >= 500:
                self.server_errors += 1


def post(ports: list[int], sim: Simulator, xml: str, stats: Stats, first: int) -> str:
    """One message the way WeChat sends it: up to 3 tries, 5 s each, the same MsgId; the reply text."""
    for attempt in range(3):
        port = ports[(first + attempt) % len(ports)]
        params, body = sim.query(xml)
        started = time.monotonic()
        try:
            response = requests.post(f"http://127.0.0.1:{port}/wechat?{urlencode(params)}", data=body.encode(),
                                     timeout=WECHAT_TIMEOUT, headers={"Content-Type": "text/xml"})
        except requests.RequestException:
            stats.reply(time.monotonic() - started, 0)
            continue
        stats.reply(time.monotonic() - started, response.status_code)
        if response.status_code == 200:
            found = CONTENT.findall(response.text)
            return found[0] if found else ""
    return ""


def rider(ports: list[int], run_id: str, i: int, stats: Stats, until: float) -> None:
    sim = Simulator(WechatConfig(token=TOKEN), transport=lambda *a: (0, b""))
    user = f"o-fault-{run_id}-{i}"
    fields = f"张三 {phone(i)} {id_number(i)} 3 美团"
    step = -1  # -1: scan the poster
    while time.monotonic() < until:
        if step < 0:
            xml = sim.subscribe(user, f"join:ST00{i % 6 + 1}")
        else:
            text = STEPS[step][0]
            xml = sim.text(user, fields if text == "FIELDS" else text)
        reply = post(ports, sim, xml, stats, i)
        if any(done in reply for done in DONE):
            with stats.lock:
                stats.confirmed[user] = time.monotonic()
            return
        # a late reply may come first in the text: the step is the one whose marker comes last
        reached = max(((reply.rfind(fragment), n) for n, (_, fragment) in enumerate(STEPS)), default=(-1, -1))
        if reached[0] >= 0:
            step = reached[1]
        elif reply and "稍后" not in reply and "系统" not in reply and "处理" not in reply:
            step = -1  # the flow is gone (its state lost): start again from the poster
        else:
            time.sleep(0.5)  # nothing useful: try the step again in a moment


def faq_probe(ports: list[int], stats: Stats, stop: threading.Event) -> None:
    sim = Simulator(WechatConfig(token=TOKEN), transport=lambda *a: (0, b""))
    n = 0
    while not stop.is_set():
        sent = time.monotonic()
        post(ports, sim, sim.text(f"o-faq-{n % 20}", FAQ[n % len(FAQ)]), stats, n)
        with stats.lock:
            stats.faq.append((sent, time.monotonic() - sent))
        n += 1
        stop.wait(0.05)


Fault = Callable[[], Callable[[], None] | None]
"""Starts a fault; returns what ends it, or None for a fault that is over at once."""


def phase(name: str, ports: list[int], fault: Fault | None, args: argparse.Namespace,
          engine: sa.Engine, first_rider: int) -> None:
    stats = Stats()
    run_id = uuid.uuid4().hex[:6]
    started = time.monotonic()
    until = started + args.fault_seconds + args.max_seconds
    stop = threading.Event()
    probe = threading.Thread(target=faq_probe, args=(ports, stats, stop))
    probe.start()
    riders = list(range(first_rider, first_rider + args.riders))
    pending = list(riders)
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not pending:
                    return
                i = pending.pop(0)
            rider(ports, run_id, i, stats, until)

    clients = [threading.Thread(target=client) for _ in range(args.clients)]
    for c in clients:
        c.start()
    fault_start = fault_end = None
    if fault is not None:
        time.sleep(1.0)
        fault_start = time.monotonic()
        resume = fault()
        if resume is not None:  # a fault that lasts (else, like a killed worker, it is over at once)
            time.sleep(args.fault_seconds)
            resume()
        fault_end = time.monotonic()
    for c in clients:
        c.join(max(1.0, until - time.monotonic() + 10))
    stop.set()
    probe.join(15)

    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT openid, count(*) FROM members WHERE openid LIKE :p GROUP BY openid"),
                            {"p": f"o-fault-{run_id}-%"}).all()
    per_user = dict(rows)
    confirmed = set(stats.confirmed)
    lost = [u for u in confirmed if u not in per_user]
    duplicated = sum(c - 1 for c in per_user.values() if c > 1)
    stuck = len(riders) - len(confirmed)
    # while the fault lasts; for one over at once, the 5 s after it, when WeChat's retries come
    window_end = None if fault_start is None else max(fault_end or fault_start, fault_start + WECHAT_TIMEOUT)
    window = [s for t, s in stats.faq if fault_start is None or fault_start <= t <= window_end]
    faq_p99 = percentile(sorted(window), 0.99) if window else float("nan")
    after = [t for t in stats.confirmed.values() if fault_end is not None and t >= fault_end]
    recovery = f"{min(after) - fault_end:.1f} s" if after else ("-" if fault_end is None else "never")
    print(f"{name:<22} confirmed {len(confirmed):>3} / rows {sum(per_user.values()):>3} | lost {len(lost)} | "
          f"duplicated {duplicated} | stuck {stuck} | 5xx {stats.server_errors} | slowest reply "
          f"{stats.slowest:.2f} s | FAQ p99 {'during fault' if fault else 'overall'} {faq_p99:.2f} s "
          f"({len(window)} asked) | recovery {recovery} | took {time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--riders", type=int, default=60, help="riders signing up in each phase")
    parser.add_argument("--clients", type=int, default=8, help="riders at once")
    parser.add_argument("--fault-seconds", type=float, default=8.0, help="how long Redis is down or PostgreSQL frozen")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="after the fault, time to finish the riders")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="unionbot-faults-"))
    services = Services(tmp)
    servers: list[subprocess.Popen] = []
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; private Redis on "
          f":{services.redis_port}, private PostgreSQL cluster on :{services.pg_port}", flush=True)
    try:
        services.start()
        config = tmp / "config.toml"
        config.write_text(
            f'[wechat]\ntoken = "{TOKEN}"\n[store]\nurl = "redis://127.0.0.1:{services.redis_port}/0"\n'
            f'[database]\nurl = "{services.database_url()}"\n'
            f'[knowledge]\ndir = "{ROOT / "knowledge"}"\nsemantic = "off"\n'
            f'[registry]\nid_key = "{generate_key()}"\n', encoding="utf-8")
        env = dict(os.environ, UNIONBOT_CONFIG=str(config), PYTHONPATH=str(ROOT))
        for command in (["db", "upgrade"], ["stations", "import"]):
            run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=ROOT)
        ports = [free_port(), free_port()]
        for port in ports:
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"],
                env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(tmp / f"serve-{port}.log", "w")))  # noqa: SIM115 - lives as long as the server
        for port in ports:
            wait_until(lambda p=port: _ready(p), 90, f"the instance on :{port}")
        engine = sa.create_engine(services.database_url())

        def kill_worker() -> None:
            os.kill(children(servers[0].pid)[0], signal.SIGKILL)

        def restart_redis() -> Callable[[], None]:
            services.stop_redis()
            return services.start_redis

        def freeze_postgres() -> Callable[[], None]:
            pids = services.postgres_pids()
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)

            def thaw() -> None:
                for pid in pids:
                    os.kill(pid, signal.SIGCONT)

            return thaw

        phases = (("no fault", None), ("kill a worker", kill_worker), ("restart Redis", restart_redis),
                  ("freeze PostgreSQL", freeze_postgres))
        for n, (name, fault) in enumerate(phases):
            phase(name, ports, fault, args, engine, first_rider=n * 100_000)
        engine.dispose()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(20)
        services.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
