"""Messages from staff to the bot: 绑定 <code> binds this WeChat account to a console account, so
it gets staff alerts. The code is checked by the effect's runner (it lives in the store)."""

from __future__ import annotations

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.core.words import CodeCommand

BIND = CodeCommand("绑定")
"""绑定 483920: the one-time code the console's 我的微信提醒 page shows."""


def bind(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    code = BIND.code(message)
    if code is None:
        return None
    return Outcome(state=state, effects=(Effect("bind_staff_wechat", {"openid": message.user, "code": code}),))
