"""退订 / 订阅: stop or resume member notices (送清凉, 金秋助学…). Outcome notices about the worker's
own application still arrive either way.

The handler only asks; the effect's runner writes the choice and adds the reply, so a database that
is down never gets a false "已退订".
"""

from __future__ import annotations

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.core.words import Trigger

OPT_OUT = Trigger(frozenset({"退订", "取消订阅", "退订通知", "取消通知", "不再接收通知", "不要通知", "td"}))
OPT_IN = Trigger(frozenset({"订阅", "订阅通知", "恢复订阅", "重新订阅", "恢复通知", "接收通知"}))

OWN_APPLICATION = "您自己入会申请的审核结果仍会照常通知您。"
UNAVAILABLE = "系统繁忙，这次没能{what}，请过一会儿再回复“{word}”。"


def opted_out_text(ctx: Context) -> str:
    return f"已退订，{ctx.union_name}以后不再给您发会员通知。{OWN_APPLICATION}想再接收时回复“订阅”。"


def opted_in_text(ctx: Context) -> str:
    return f"已订阅，{ctx.union_name}的会员通知（如送清凉、金秋助学、新驿站开放）会发给您。不想接收时回复“退订”。"


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """退订 or 订阅 as the whole message (not inside a question); None for anything else."""
    if OPT_OUT(message):
        kind, done, unavailable = "notice_opt_out", opted_out_text(ctx), UNAVAILABLE.format(what="退订", word="退订")
    elif OPT_IN(message):
        kind, done, unavailable = "notice_opt_in", opted_in_text(ctx), UNAVAILABLE.format(what="订阅", word="订阅")
    else:
        return None
    return Outcome(state=state, effects=(Effect(kind, {"done": done, "unavailable": unavailable}),))
