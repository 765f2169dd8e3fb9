"""Complete signups per second through /wechat: gunicorn (2 workers) + real Redis + real PostgreSQL.

Each simulated rider sends what a real one does after scanning a station poster: the subscribe
event (``qrscene_join:ST00x``), 同意, 同意, every field in one message (name, a distinct phone, a
distinct valid 18-digit ID number, ``3 美团``), 确认. Several client processes, one keep-alive
connection each, run riders one after another. At the end the registry must hold exactly N members
(one per rider, one ``submitted`` and two consent audit events each).

A fresh PostgreSQL database ``unionbot_bench_<random>`` is created for the run and dropped at
the end; Redis keys live under a unique prefix and are deleted at the end. Loopback only; the
run is bounded by ``--signups`` and ``--max-seconds``.

    .venv/bin/python bench/signup.py [--signups 1000] [--clients 6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing as mp
import os
import shutil
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

import sqlalchemy as sa  # noqa: E402

from bench.webhook import children, cpu_seconds, free_port, start  # noqa: E402
from bot.cli.faq import percentile  # noqa: E402
from bot.config import WechatConfig  # noqa: E402
from bot.signup.privacy import generate_key  # noqa: E402
from bot.signup.validators import id_check_char  # noqa: E402
from bot.wechat.simulator import Simulator  # noqa: E402

TOKEN = "bench-signup-token"
NAMES = ("张三", "李四", "王五", "赵六", "陈静", "刘洋", "周杰", "吴芳")
STATIONS = 6
EXPECT = (  # a fragment each reply must contain (UTF-8, inside the reply's CDATA)
    "同意".encode(),  # privacy notice
    "身份证号".encode(),  # separate consent for the ID number
    "姓名".encode(),  # asks for the name
    "请核对您的信息".encode(),  # every field taken: the summary
    "提交成功".encode(),  # the card
)


def id_number(i: int) -> str:
    """A valid ID number (GB 11643 check character), distinct for every i < 10 000 000."""
    birth = dt.date(1970, 1, 1) + dt.timedelta(days=i % 10_000)
    first17 = f"330522{birth:%Y%m%d}{i // 10_000 % 1000:03d}"
    return first17 + id_check_char(first17)


def phone(i: int) -> str:
    return f"139{i:08d}"


def rider_messages(sim: Simulator, run: str, i: int) -> list[tuple[str, bytes]]:
    """The five signed requests of rider ``i``."""
    user = f"o-bench-{run}-{i}"
    xmls = [
        sim.subscribe(user, f"join:ST00{i % STATIONS + 1}"),
        sim.text(user, "同意"),
        sim.text(user, "同意"),
        sim.text(user, f"{NAMES[i % len(NAMES)]} {phone(i)} {id_number(i)} 3 美团"),
        sim.text(user, "确认"),
    ]
    out = []
    for xml in xmls:
        params, body = sim.query(xml)
        out.append(("/wechat?" + urlencode(params), body.encode("utf-8")))
    return out


def client(port: int, run: str, riders: list[int], start_at: float, deadline: float, queue: mp.Queue) -> None:
    """Sign up ``riders`` one after another over one keep-alive connection."""
    sim = Simulator(WechatConfig(token=TOKEN), transport=lambda *a: (0, b""))
    work = [rider_messages(sim, run, i) for i in riders]  # signed before the clock starts
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    errors: list[str] = []
    completed = 0
    while time.time() < start_at:
        time.sleep(0.001)
    for rider, requests in zip(riders, work, strict=True):
        if time.time() > deadline:
            break
        ok = True
        for step, (path, body) in enumerate(requests):
            sent = time.perf_counter()
            try:
                conn.request("POST", path, body, {"Content-Type": "text/xml"})
                response = conn.getresponse()
                reply = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                status, reply = 0, repr(exc).encode()
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            latencies.append((time.perf_counter() - sent) * 1000)
            if status != 200 or EXPECT[step] not in reply:
                errors.append(f"rider {rider} step {step}: {status} {reply[:200].decode('utf-8', 'replace')}")
                ok = False
                break
        completed += ok
    conn.close()
    queue.put((completed, latencies, errors, time.time(), time.process_time()))


def cpu_by_role(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the gunicorn processes, PostgreSQL and Redis (Linux /proc; else empty)."""
    if not Path("/proc").is_dir():
        return {}
    roles = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    try:  # every CPU's busy time, to show what else ran on the machine meanwhile
        jiffies = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        roles["machine busy"] = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    roles["gunicorn"] = sum(cpu_seconds(p) for p in [server_pid, *children(server_pid)])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith("postgres"):
                roles["postgres"] += cpu_seconds(int(entry.name))
            elif comm.startswith("redis-server"):
                roles["redis"] += cpu_seconds(int(entry.name))
    return roles


def run_signups(port: int, run: str, riders: range, clients: int, max_seconds: float) -> dict:
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()
    start_at = time.time() + 1.0 + 0.002 * len(riders)  # time to sign every request first
    deadline = start_at + max_seconds
    chunks = [list(riders)[i::clients] for i in range(clients)]
    procs = [ctx.Process(target=client, args=(port, run, chunk, start_at, deadline, queue)) for chunk in chunks]
    for p in procs:
        p.start()
    results = [queue.get(timeout=max_seconds + 120) for _ in procs]
    for p in procs:
        p.join(10)
    finished = max(r[3] for r in results)
    elapsed = finished - start_at
    latencies = sorted(x for r in results for x in r[1])
    return {
        "signups": sum(r[0] for r in results),
        "messages": len(latencies),
        "errors": [e for r in results for e in r[2]],
        "elapsed": elapsed,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "client_cpu": sum(r[4] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=1000, help="riders signing up in the measured run")
    parser.add_argument("--warmup", type=int, default=60, help="riders signing up before the measured run")
    parser.add_argument("--clients", type=int, default=6, help="client processes (keep-alive connections)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (2 workers)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long")
    parser.add_argument("--postgres", default=os.environ.get("UNIONBOT_BENCH_POSTGRES",
                                                            "postgresql+psycopg://root@127.0.0.1:5432/postgres"),
                        help="a database on the server to create the bench database from")
    parser.add_argument("--redis", default=os.environ.get("UNIONBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if not 0 < args.signups + args.warmup <= 1_000_000:
        parser.error("--signups + --warmup must be between 1 and 1 000 000")

    import redis

    admin_url = sa.engine.make_url(args.postgres)
    dbname = f"unionbot_bench_{uuid.uuid4().hex[:10]}"
    database_url = admin_url.set(database=dbname).render_as_string(hide_password=False)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = f"bench-signup-{uuid.uuid4().hex[:8]}:"
    redis_client = redis.Redis.from_url(args.redis)
    tmp = Path(tempfile.mkdtemp(prefix="unionbot-bench-signup-"))
    server = None
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} / {os.getloadavg()[1]:.2f} "
          f"(1 / 5 min) before the run")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{dbname}"')
        config = tmp / "config.toml"
        config.write_text(
            f'[wechat]\ntoken = "{TOKEN}"\n'
            f'[store]\nurl = "{args.redis}"\nkey_prefix = "{prefix}"\n'
            f'[database]\nurl = "{database_url}"\n'
            f'[knowledge]\ndir = "{ROOT / "knowledge"}"\n'
            f'[registry]\nid_key = "{generate_key()}"\n',
            encoding="utf-8",
        )
        env = dict(os.environ, UNIONBOT_CONFIG=str(config), PYTHONPATH=str(ROOT))
        for command in (["db", "upgrade"], ["stations", "import"]):
            subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, timeout=60)
        port = free_port()
        server = start("bot.web.app:wsgi_app()", env, port, args.threads)
        run = uuid.uuid4().hex[:6]
        if args.warmup:
            warm = run_signups(port, run, range(args.warmup), min(args.clients, args.warmup), args.max_seconds)
            if warm["errors"]:
                print("warm-up errors:", *warm["errors"][:5], sep="\n  ")
        cpu_before = cpu_by_role(server.pid)
        figures = run_signups(port, run, range(args.warmup, args.warmup + args.signups), args.clients,
                              args.max_seconds)
        cpu_after = cpu_by_role(server.pid)
        load_after = os.getloadavg()

        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            members = conn.exec_driver_sql("SELECT count(*), count(DISTINCT openid), count(DISTINCT number) "
                                           "FROM members").one()
            submitted = conn.exec_driver_sql("SELECT count(*) FROM signup_events WHERE action = 'submitted'").scalar()
            consents = conn.exec_driver_sql(
                "SELECT count(*) FROM signup_events WHERE action IN ('consented_privacy', 'consented_id_number')").scalar()
            plain = conn.execute(sa.text("SELECT count(*) FROM members WHERE id_cipher LIKE :plain"),
                                 {"plain": "330522%"}).scalar()
        engine.dispose()

        expected = args.warmup + args.signups
        elapsed = figures["elapsed"]
        print(f"{figures['signups']} signups of {args.signups} in {elapsed:.2f} s with {args.clients} client "
              f"processes, gunicorn 2 workers x {args.threads} threads")
        print(f"  {figures['signups'] / elapsed:7.1f} signups/s   {figures['messages'] / elapsed:7.1f} messages/s")
        print(f"  per message: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
              f"max {figures['max_ms']:.1f} ms")
        print(f"  errors: {len(figures['errors'])}", *figures["errors"][:5], sep="\n  " if figures["errors"] else "")
        cpu = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
        cpu["clients (incl. signing)"] = figures["client_cpu"]
        if "machine busy" in cpu:
            busy = cpu.pop("machine busy")
            cpu["everything else on the machine"] = max(0.0, busy - sum(cpu.values()))
        done = max(figures["signups"], 1)
        print("  CPU per signup: " + ", ".join(f"{role} {seconds / done * 1000:.1f} ms" for role, seconds in cpu.items())
              + f"; the machine has {(os.cpu_count() or 1) * elapsed / done * 1000:.1f} CPU-ms per signup"
              " at this rate")
        print(f"  load average after: {load_after[0]:.2f} (1 min)")
        ok = tuple(members) == (expected,) * 3 and submitted == expected and consents == 2 * expected and plain == 0
        verdict = "OK" if ok else "MISMATCH"
        print(f"registry: {members[0]} members ({members[1]} openids, {members[2]} numbers), {submitted} "
              f"submitted and {consents} consent events, expected {expected} (warm-up included): {verdict}")
        if verdict != "OK" or figures["errors"]:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.dispose()
        keys = list(redis_client.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 1000):
            redis_client.delete(*keys[i:i + 1000])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
