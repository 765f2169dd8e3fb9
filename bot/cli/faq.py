"""``unionbot faq``: check the knowledge, try a question, evaluate the matcher, list gaps."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

from bot.cli.options import config_option, current_config, pass_config
from bot.config import Config
from bot.curation.cases import Failure, failures
from bot.faq.gaps import Row, group_gaps
from bot.faq.knowledge import KnowledgeError, check_knowledge, knowledge_warnings, load_knowledge
from bot.faq.matcher import Matcher


class CasesError(ValueError):
    """A cases file problem, phrased ``file:line: message``."""


@dataclass(frozen=True)
class Case:
    q: str
    expect: str | None
    line: int = 0


def load_cases(path: str | Path, known_ids: Iterable[str] | None = None) -> list[Case]:
    """Read an evaluation cases file (see the knowledge format spec); raise :class:`CasesError`."""
    p = Path(path)
    try:
        root = yaml.compose(p.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except OSError as exc:
        raise CasesError(f"{p}:0: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CasesError(f"{p}:1: not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CasesError(f"{p}:{mark.line + 1 if mark else 1}: malformed YAML: {exc.problem or exc.context}") from None
    if not isinstance(root, yaml.SequenceNode):
        line = root.start_mark.line + 1 if root is not None else 1
        raise CasesError(f"{p}:{line}: expected a list of cases (- q: …  expect: …)")
    ids = set(known_ids) if known_ids is not None else None
    problems: list[str] = []
    cases: list[Case] = []
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            problems.append(f"{p}:{line}: a case must be a mapping with q and expect")
            continue
        values: dict[str, Any] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else "?"
            if key not in ("q", "expect"):
                problems.append(f"{p}:{k.start_mark.line + 1}: unknown key '{key}' (expected q, expect)")
                continue
            if not isinstance(v, yaml.ScalarNode):
                problems.append(f"{p}:{v.start_mark.line + 1}: {key} must be a text")
                continue
            is_null = v.tag == "tag:yaml.org,2002:null" and v.style is None
            values[key] = None if is_null else str(v.value)
        if "q" not in values or not (values.get("q") or "").strip():
            problems.append(f"{p}:{line}: missing or empty q")
            continue
        if "expect" not in values:
            problems.append(f"{p}:{line}: missing expect (an entry id, or null for out of scope)")
            continue
        expect = values["expect"]
        if ids is not None and expect is not None and expect not in ids:
            problems.append(f"{p}:{line}: expect '{expect}' is not an entry id in the knowledge")
            continue
        cases.append(Case(values["q"], expect, line))
    if problems:
        raise CasesError("\n".join(problems))
    if not cases:
        raise CasesError(f"{p}:1: no cases")
    return cases


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of already sorted values (NaN when there are none); also
    used by the benchmarks, so every p99 in this project means the same thing."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def evaluate(matcher: Matcher, cases: list[Case]) -> dict[str, Any]:
    """The figures of the spec's ``faq eval`` for ``cases`` against ``matcher``.

    Timing is warm: a first pass over the cases loads what is loaded once (pinyin and character
    tables, the embedding model); then what was remembered per question is forgotten, so each
    timed match does all its own work, the question's embedding included.
    """
    for c in cases:
        matcher.match(c.q)
    matcher.forget_questions()
    in_scope = [c for c in cases if c.expect]
    out_scope = [c for c in cases if not c.expect]
    top1 = top3 = wrong = rejected = none = 0
    times: list[float] = []
    for c in cases:
        t0 = time.perf_counter()
        r = matcher.match(c.q)
        times.append((time.perf_counter() - t0) * 1000)
        ids = [x.entry_id for x in r.candidates]
        if c.expect:
            answered = r.outcome == "answer" and bool(ids)
            top1 += answered and ids[0] == c.expect
            wrong += answered and ids[0] != c.expect
            top3 += c.expect in ids[:3] and r.outcome in ("answer", "suggest")
        else:
            rejected += r.outcome != "answer"
            none += r.outcome == "none"
    times.sort()

    def share(n: int, d: int) -> float:
        return round(n / d, 4) if d else 0.0

    return {
        "top1": share(top1, len(in_scope)),
        "top3": share(top3, len(in_scope)),
        "wrong": share(wrong, len(in_scope)),
        "oos_rejected": share(rejected, len(out_scope)),
        "oos_none": share(none, len(out_scope)),
        "p50_ms": round(statistics.median(times), 3) if times else 0.0,
        "p99_ms": round(percentile(times, 0.99), 3) if times else 0.0,
        "cases": len(cases),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_scope),
    }


# -- commands --------------------------------------------------------------------------------


@click.group()
def faq() -> None:
    """FAQ knowledge: check it, try questions, evaluate the matcher, see what was not answered."""


@faq.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@config_option
def check_cmd(directory: str | None) -> None:
    """Validate the knowledge folder (default: the config's knowledge.dir).

    Prints every problem as file:line: message and exits 1 when there is any; warnings
    (placeholders left, a word in two synonym groups) are printed but exit 0.
    """
    directory = directory or current_config().knowledge.dir
    problems = check_knowledge(directory)
    warnings = knowledge_warnings(directory) if Path(directory, "faq").is_dir() else []
    for line in warnings:
        click.echo(f"{line}（警告）", err=True)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo(f"{directory}：有 {len(problems)} 处问题", err=True)
        sys.exit(1)
    k = load_knowledge(directory)
    click.echo(f"检查通过：{directory} 有 {len(k.entries)} 条问答、{len(k.synonyms)} 组同义词"
               f"（指纹 {k.fingerprint}）" + (f"，{len(warnings)} 条警告" if warnings else ""))


def _load_matcher(directory: str) -> Matcher:
    """The matcher of the knowledge in ``directory``, with the config's meaning signal setting
    (``knowledge.semantic``, ``knowledge.cache_dir``)."""
    settings = current_config().knowledge
    try:
        knowledge = load_knowledge(directory)
    except KnowledgeError as exc:
        raise click.ClickException(f"knowledge in {directory} is not valid:\n{exc}") from None
    return Matcher(knowledge, semantic=settings.semantic_switch, cache_dir=settings.cache_dir or None)


@faq.command("try")
@click.argument("question")
@click.option("--knowledge", "directory", type=click.Path(file_okay=False),
              help="Knowledge folder (default: the config's knowledge.dir).")
@click.option("--top", default=5, show_default=True, help="How many candidates to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@config_option
def try_cmd(question: str, directory: str | None, top: int, as_json: bool) -> None:
    """Show what the bot would do with QUESTION, and the top candidates with their scores."""
    directory = directory or current_config().knowledge.dir
    info = _load_matcher(directory).explain(question, top=top)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    click.echo(f"question:   {question}")
    click.echo(f"normalized: {info['normalized']}")
    click.echo(f"matched as: {info['prepared']}" + (f"   (repairs: {', '.join(info['repairs'])})"
                                                      if info["repairs"] else ""))
    outcome = info["outcome"]
    if outcome == "answer":
        outcome += f" → {info['answer']}"
    elif outcome == "suggest":
        outcome += " → " + ", ".join(info["suggestions"])
    click.echo(f"outcome:    {outcome}")
    first = info["candidates"][0] if info["candidates"] else {}
    if "p_answer" in first:
        click.echo(f"confidence: {first['p_answer']:.2f} that {first['id']} is right "
                   f"(answered directly from {info['threshold']:.2f})")
    meaning = info["semantic"]
    header = f"{'id':<24} {'score':>6} {'cover':>6} {'phrase':>6} {'fuzzy':>6} {'kw':>5}"
    click.echo(header + (f" {'meaning':>7} {'fused':>6}" if meaning else "") + "  question")
    for c in info["candidates"]:
        row = (f"{c['id']:<24} {c['score']:>6.3f} {c['coverage']:>6.3f} {c['phrase']:>6.3f} "
               f"{c['fuzzy']:>6.3f} {c['keyword']:>5.2f}")
        if meaning:
            row += f" {c['semantic']:>7.3f} {c['fused']:>6.2f}"
        click.echo(f"{row}  {c['question']}")


@faq.command("eval")
@click.option("--knowledge", "directory", required=True, type=click.Path(file_okay=False),
              help="Knowledge folder (its faq/ and optional synonyms.yaml).")
@click.option("--cases", "cases_file", required=True, type=click.Path(dir_okay=False),
              help="Cases file: a list of {q, expect} (expect: an entry id or null).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--show-failures", is_flag=True, help="Also list the failed cases: question, expected, got.")
@config_option
def eval_cmd(directory: str, cases_file: str, as_json: bool, show_failures: bool) -> None:
    """Evaluate the matcher on a cases file: top1, top3, wrong, oos_rejected, oos_none, timing.

    The meaning signal is used as the config says (knowledge.semantic; for the lexical matcher
    alone: UNIONBOT_KNOWLEDGE_SEMANTIC=off)."""
    t0 = time.perf_counter()
    matcher = _load_matcher(directory)
    click.echo(f"loaded {len(matcher.entries)} entries in {(time.perf_counter() - t0) * 1000:.0f} ms",
               err=True)
    try:
        cases = load_cases(cases_file, matcher.knowledge.by_id)
    except CasesError as exc:
        raise click.ClickException(f"cases file {cases_file} is not valid:\n{exc}") from None
    result = evaluate(matcher, cases)
    failed = failures(matcher, cases) if show_failures else []
    if as_json:
        _show_failures(failed, err=True)  # stdout stays exactly one JSON object
        click.echo(json.dumps(result))
        return
    click.echo(f"{'cases':<14}{result['cases']} ({result['in_scope']} in scope, "
               f"{result['out_of_scope']} out of scope)")
    for key, label in (("top1", "answered right"), ("top3", "right among answer/suggestions"),
                       ("wrong", "answered with another entry"), ("oos_rejected", "out of scope not answered"),
                       ("oos_none", "out of scope: none")):
        click.echo(f"{key:<14}{result[key]:.3f}   {label}")
    click.echo(f"{'p50_ms':<14}{result['p50_ms']:.3f}")
    click.echo(f"{'p99_ms':<14}{result['p99_ms']:.3f}")
    _show_failures(failed)


def _show_failures(failed: list[Failure], err: bool = False) -> None:
    for f in failed:
        got = f"{f.outcome} {', '.join(f.got)}".strip()
        click.echo(f"FAIL  {f.q}  expected: {f.expect or 'null'}  got: {got}", err=err)


def show_gaps(rows: list[Row], limit: int = 20) -> None:
    """Print recorded unanswered questions (``Store.unanswered``), similar ones grouped, most asked
    first, each with how its asks ended and the entries picked from its lists."""
    groups = group_gaps(rows)
    if not groups:
        click.echo("没有记录到没答上来的问题")
    for g in groups[:limit]:
        click.echo(f"{g.count:>5}  {g.question}  [{g.outcome_text}]")
        if g.picks:
            click.echo(f"{'':>7}列表里选的：" + "、".join(f"{entry}（{n} 次）" for entry, n in g.picks.most_common()))
        for text, n in g.variants[1:6]:
            click.echo(f"{'':>7}{n:>3} × {text}")
        if len(g.variants) > 6:
            click.echo(f"{'':>7}… 还有 {len(g.variants) - 6} 种问法")


@faq.command("gaps")
@click.option("--limit", default=20, show_default=True, help="How many groups to show.")
@click.option("--clear", is_flag=True, help="Forget the recorded questions after showing them.")
@pass_config
def gaps_cmd(cfg: Config, limit: int, clear: bool) -> None:
    """Questions the bot could not answer, similar ones grouped, most asked first.

    Wordings already handled (faq attach, add, ignore, dismiss) are left out.

    Read from the shared store (store.url). With the embedded memory:// store each process
    has its own copy, so this command sees nothing: point it at the production Redis.
    """
    from bot.storage.curation import CurationLog
    from bot.storage.store import Store, StoreUnavailable

    store = Store.from_config(cfg)
    if store.embedded:
        click.echo("提示：store.url 是 memory://（每个进程各一份），这里看不到机器人记录的问题；"
                   "请把 store.url 设为共用的 Redis，或在 `unionbot chat` 里输入 /gaps。", err=True)
    try:
        rows = store.unanswered()
        handled = CurationLog(store).marks()
    except StoreUnavailable as exc:
        raise click.ClickException(f"连不上存储（Redis）：{exc}") from None
    show_gaps([r for r in rows if r.question not in handled], limit)
    if clear:
        store.clear_unanswered()
        click.echo(f"已清除 {len(rows)} 条记录", err=True)


@faq.command("warm")
@pass_config
def warm_cmd(cfg: Config) -> None:
    """Embed the knowledge now (at deploy), so no worker does it on its first start.

    The embeddings land in the on-disk cache of bot/faq/semantic.py, one file per knowledge
    content and model: workers of the same knowledge version read them instead of computing.
    """
    from bot.services import matcher_factory

    try:
        knowledge = load_knowledge(cfg.knowledge.dir)
    except KnowledgeError as exc:
        raise click.ClickException(f"knowledge in {cfg.knowledge.dir} is not valid:\n{exc}") from None
    started = time.monotonic()
    matcher = matcher_factory(cfg)(knowledge)
    if matcher.semantic is None:
        click.echo(f"nothing to warm: the semantic signal is off or not installed (knowledge {knowledge.fingerprint})")
        return
    click.echo(f"warm: {len(knowledge.entries)} entries of knowledge {knowledge.fingerprint} embedded and "
               f"cached on disk in {time.monotonic() - started:.1f} s")
