"""``unionbot faq attach/add/ignore/dismiss/history/publish/cases``: curation from a terminal.

Thin shell over :class:`bot.curation.actions.Curation`, the API the staff console calls too.
Output is for staff, in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from bot.cli.faq import faq
from bot.cli.options import config_option, current_config
from bot.curation.actions import Curation, Outcome
from bot.curation.cases import export_cases
from bot.faq.editing import EditError
from bot.faq.knowledge import KnowledgeError, load_knowledge
from bot.storage.store import Store, StoreUnavailable

knowledge_option = click.option("--knowledge", "directory", type=click.Path(file_okay=False),
                                help="Knowledge folder (default: the config's knowledge.dir).")
by_option = click.option("--by", default="cli", show_default=True, help="Who did it, for the history.")


def _curation(directory: str | None) -> Curation:
    cfg = current_config()
    store = Store.from_config(cfg)
    return Curation(Path(directory or cfg.knowledge.dir), store)


def _report(outcome: Outcome) -> None:
    click.echo(outcome.handled.summary)
    if len(outcome.handled.questions) > 1:
        click.echo(f"同一组的 {len(outcome.handled.questions)} 种问法都已标记为处理过")
    if outcome.published is not None:
        click.echo(f"已发布第 {outcome.published.version} 版，各服务器几秒内生效")
    if outcome.notice:
        click.echo(outcome.notice, err=True)


def _run(action: Callable[[], None]) -> None:
    """Run a command's work; staff-facing failures become one message and exit 1."""
    try:
        action()
    except EditError as exc:
        raise click.ClickException(str(exc)) from None
    except KnowledgeError as exc:
        raise click.ClickException(f"知识库检查不通过，没有发布：\n{exc}") from None
    except StoreUnavailable as exc:
        raise click.ClickException(f"共享存储连不上：{exc}") from None


@faq.command("attach")
@click.argument("question")
@click.argument("entry_id")
@knowledge_option
@by_option
@config_option
def attach_cmd(question: str, entry_id: str, directory: str | None, by: str) -> None:
    """Add QUESTION to entry ENTRY_ID's similar questions (and publish, with a shared store)."""
    _run(lambda: _report(_curation(directory).attach(question, entry_id, by)))


@faq.command("add")
@click.option("--id", "entry_id", required=True, help="The new entry's id ([a-z0-9._-]+).")
@click.option("--file", "file", required=True, help="Topic file under faq/, without .yaml (created if new).")
@click.option("--topic", help="The topic name, needed when the file is new.")
@click.option("--question", required=True, help="The standard question.")
@click.option("--answer", required=True, help="The reply.")
@click.option("--similar", multiple=True, help="Another way of asking (repeatable).")
@click.option("--keyword", "keywords", multiple=True, help="A keyword (repeatable).")
@knowledge_option
@by_option
@config_option
def add_cmd(entry_id: str, file: str, topic: str | None, question: str, answer: str, similar: tuple[str, ...],
            keywords: tuple[str, ...], directory: str | None, by: str) -> None:
    """Create a new FAQ entry (and publish, with a shared store)."""
    _run(lambda: _report(_curation(directory).new_entry(
        question, entry_id=entry_id, answer=answer, file=file, topic=topic, similar=similar,
        keywords=keywords, by=by)))


@faq.command("ignore")
@click.argument("question")
@by_option
@config_option
def ignore_cmd(question: str, by: str) -> None:
    """Mark QUESTION's group out of scope: hidden from gaps, exported as an expect: null case."""
    _run(lambda: _report(_curation(None).out_of_scope(question, by)))


@faq.command("dismiss")
@click.argument("question")
@by_option
@config_option
def dismiss_cmd(question: str, by: str) -> None:
    """Hide QUESTION's group from gaps without further action (not exported as a case)."""
    _run(lambda: _report(_curation(None).dismiss(question, by)))


@faq.command("history")
@click.option("--limit", default=30, show_default=True, help="How many records to show.")
@config_option
def history_cmd(limit: int) -> None:
    """What was done with unanswered questions, newest first."""
    import datetime as dt

    def show() -> None:
        rows = _curation(None).history(limit)
        if not rows:
            click.echo("还没有处理记录")
        for h in rows:
            when = dt.datetime.fromtimestamp(h.at).strftime("%Y-%m-%d %H:%M")
            click.echo(f"{when}  {h.by:<10} {h.summary}（{len(h.questions)} 种问法）")

    _run(show)


@faq.command("publish")
@knowledge_option
@by_option
@config_option
def publish_cmd(directory: str | None, by: str) -> None:
    """Validate the knowledge folder and publish it: every host serves it within seconds."""
    def go() -> None:
        result = _curation(directory).publish(by)
        if result.unchanged:
            click.echo(f"与已发布的第 {result.version} 版相同，不用再发布")
        else:
            click.echo(f"已发布第 {result.version} 版（{result.entries} 条，指纹 {result.fingerprint}），"
                       "各服务器几秒内生效")

    _run(go)


@faq.group("cases")
def cases() -> None:
    """Evaluation cases from the union's own traffic."""


@cases.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@knowledge_option
@config_option
def export_cmd(out: str | None, directory: str | None) -> None:
    """Attached and out-of-scope questions as a cases file for faq eval and bench/calibrate_matcher.py."""
    def go() -> None:
        curation = _curation(directory)
        text, skipped = export_cases(curation.log.marks(), load_knowledge(curation.directory).by_id)
        if out:
            Path(out).write_text(text, encoding="utf-8")
            click.echo(f"已写入 {out}", err=True)
        else:
            click.echo(text, nl=False)
        if skipped:
            click.echo(f"{skipped} 条的条目已不存在，没有导出", err=True)

    _run(go)
