"""``unionbot chat``: type as a worker; real signed WeChat XML goes to the bot, replies come back."""

from __future__ import annotations

import logging
import shlex
import time

import click

from bot.cli.faq import show_gaps
from bot.cli.options import pass_config
from bot.config import Config
from bot.storage.store import Store, StoreUnavailable
from bot.wechat.simulator import Reply, Simulator, flask_transport, http_transport

HELP = """命令 (commands):
  /scan CODE          扫驿站二维码 (scan a station QR: ST001, join:ST001 or unionbot:join:ST001)
  /location LAT LON   发送位置 (send a location)
  /voice TEXT         发送语音, TEXT 是微信识别出的文字 (voice; without TEXT: not recognised)
  /image              发送图片
  /follow | /unfollow 关注 / 取消关注
  /user NAME          换一个用户 (switch to another worker)
  /gaps               机器人没答上来的问题 (the unanswered questions, as `unionbot faq gaps` lists them)
  /help  /quit
其他输入按文字消息发送 (anything else is sent as a text message)."""


def scene_of(code: str) -> str:
    """Accept a station code, a scene string, or the payload of a local poster QR code."""
    code = code.strip()
    code = code.removeprefix("unionbot:")
    return code if code.startswith("join:") else f"join:{code}"


@click.command()
@pass_config
@click.option("--url", help="A running server (e.g. http://127.0.0.1:8000); default: the bot in this process.")
@click.option("--user", "user", default="worker-demo", show_default=True, help="The worker's openid.")
def chat(config: Config, url: str | None, user: str) -> None:
    """Chat with the bot as a worker would, without a WeChat account."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger().setLevel(logging.WARNING)  # keep the conversation readable; -v shows all
        logging.getLogger("bot.faq.semantic").setLevel(logging.INFO)  # but say why a first start takes seconds
    store: Store | None = None  # where the bot records unanswered questions, when this process can see it
    if url:
        transport = http_transport(url)
        shared = Store.from_config(config)
        store = None if shared.embedded else shared
    else:
        from bot.cli.serve import prepare_embedded
        from bot.web.app import create_app

        prepare_embedded(config)
        app = create_app(config)  # a knowledge problem shows before the first question
        transport = flask_transport(app)
        store = app.extensions["unionbot"].store
    sim = Simulator(config.wechat, transport, clock=time.time)
    following: set[str] = set()
    click.echo(f"unionbot chat as {user} ({url or 'in-process'}). /help for commands.")
    while True:
        try:
            line = input(f"{user}> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if not line.strip():
            continue
        if line.strip() == "/gaps":
            _gaps(store)
            continue
        try:
            body, user = _message(sim, line.strip(), user, following)
        except ValueError as exc:
            click.echo(str(exc))
            continue
        if body is None:
            if line.strip() in ("/quit", "/exit"):
                return
            continue
        _show(sim.post(body))


def _message(sim: Simulator, line: str, user: str, following: set[str]) -> tuple[str | None, str]:
    if not line.startswith("/"):
        return sim.text(user, line), user
    command, *args = shlex.split(line)
    if command == "/help":
        click.echo(HELP)
    elif command == "/user" and args:
        click.echo(f"now chatting as {args[0]}")
        return None, args[0]
    elif command == "/scan" and args:
        scene = scene_of(args[0])
        if user in following:
            return sim.scan(user, scene), user
        following.add(user)
        return sim.subscribe(user, scene), user
    elif command == "/follow":
        following.add(user)
        return sim.subscribe(user), user
    elif command == "/unfollow":
        following.discard(user)
        return sim.event(user, "unsubscribe"), user
    elif command == "/location" and len(args) == 2:
        try:
            return sim.location(user, float(args[0]), float(args[1])), user
        except ValueError:
            raise ValueError("usage: /location LAT LON (numbers)") from None
    elif command == "/voice":
        return sim.voice(user, " ".join(args) if args else None), user
    elif command == "/image":
        return sim.image(user), user
    elif command not in ("/quit", "/exit"):
        raise ValueError(f"unknown command {command}; /help lists them")
    return None, user


def _gaps(store: Store | None) -> None:
    if store is None:
        click.echo("this chat's config has a memory:// store, not the server's: "
                   "run `unionbot faq gaps --config` with the server's config")
        return
    try:
        show_gaps(store.unanswered())
    except StoreUnavailable as exc:
        click.echo(f"store unavailable: {exc}")


def _show(reply: Reply) -> None:
    if reply.status != 200:
        click.echo(f"[HTTP {reply.status}] {reply.body.decode('utf-8', 'replace').strip()}")
    elif reply.msg_type == "transfer_customer_service":
        click.echo("机器人> [已转接人工客服]")
    elif reply.text:
        click.echo("机器人> " + reply.text.replace("\n", "\n        "))
    else:
        click.echo("机器人> (无回复)")
