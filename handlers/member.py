"""我的会员: the membership card and the review status of an application."""

from __future__ import annotations

from bot.core.conversation import Context, Incoming, Outcome, State
from bot.core.words import Trigger
from bot.signup.card import member_card

TRIGGER = Trigger(
    words=frozenset({
        "我的会员", "会员卡", "我的会员卡", "入会进度", "会员信息", "我的会员信息", "查询进度", "审核进度", "会员查询", "查会员", "电子会员卡",
        "入会查询"
    }),
    menu_keys=frozenset({"MEMBER", "MY_MEMBER", "MEMBER_CARD"}),
)
"""我的会员 typed, or the 我的会员卡 menu button (the menu itself is ``knowledge/menu.yaml``)."""


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """我的会员 (会员卡/我的会员卡/入会进度): the card, or how to join; None for other messages."""
    if not TRIGGER(message):
        return None
    if ctx.members is None:
        text = "会员信息暂时查不到，请过一会儿再试；着急的话回复“人工”。"
        return Outcome(state=state, replies=(text,))
    found = ctx.members.find_by_openid(message.user)
    if found:
        return Outcome(state=state, replies=(member_card(found),))
    if state.get("flow") == "join":
        text = "您还不是会员，入会申请还没填完。回复“入会”接着填，几步就好。"
    else:
        text = "您还不是会员。回复“入会”就能在线申请，几步就好；也可以在职工驿站扫码申请。"
    return Outcome(state=state, replies=(text,))
