"""我的会员: the membership card and the review status of an application."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.conversation import Context, Incoming, Outcome, State
from bot.signup.privacy import mask_name
from bot.signup.validators import normalize

MEMBER_WORDS = frozenset(
    {
        "我的会员",
        "会员卡",
        "我的会员卡",
        "入会进度",
        "会员信息",
        "我的会员信息",
        "查询进度",
        "审核进度",
        "会员查询",
        "查会员",
        "电子会员卡",
        "入会查询",
    }
)
MENU_KEYS = frozenset({"MEMBER", "MY_MEMBER", "MEMBER_CARD"})
"""Menu click keys that open the card (the menu itself is configured elsewhere)."""

STATUS_ZH = {"pending": "待审核", "approved": "已通过", "rejected": "未通过", "withdrawn": "已退会"}

NEXT_STEPS = {
    "pending": "接下来：工作人员会审核您的申请，有结果会通知您。随时回复“我的会员”查看进度。",
    "approved": "您已是工会会员，可以享受会员服务和驿站服务。有问题随时回复“人工”。",
    "rejected": "信息有误的，改正后回复“入会”重新提交；有疑问请回复“人工”联系工作人员。",
    "withdrawn": "如需重新入会，回复“入会”重新申请；有疑问请回复“人工”联系工作人员。",
}


def member_card(member: Mapping[str, Any]) -> str:
    """The card: number, masked name, station, status in Chinese (with reason) and what comes next."""
    status = str(member.get("status") or "")
    status_zh = STATUS_ZH.get(status, status or "待审核")
    status_key = next((k for k, v in STATUS_ZH.items() if v == status_zh), "pending")
    name = mask_name(str(member.get("name_masked") or member.get("name") or ""))
    station = member.get("station_name") or member.get("station_code")
    reason = str(member.get("reason") or "").strip()

    lines = ["【工会会员卡】"]
    if member.get("number"):
        lines.append(f"会员编号：{member['number']}")
    if name:
        lines.append(f"姓名：{name}")
    if station:
        lines.append(f"驿站：{station}")
    if status_key != "approved" and reason:  # why it was rejected, withdrawn or sent back for review
        lines.append(f"状态：{status_zh}（原因：{reason}）")
    else:
        lines.append(f"状态：{status_zh}")
    lines.append(NEXT_STEPS[status_key])
    return "\n".join(lines)


def decision_text(member: Mapping[str, Any], union_name: str, hotline: str) -> str:
    """The message telling a worker the decision on their application (sent by staff tools)."""
    if member["status"] == "approved":
        return (f"您的入会申请已审核通过，欢迎加入{union_name}！会员号：{member['number']}。"
                f"回复“我的会员”可随时查看。")
    reason = member.get("reason") or "信息不完整或不符合入会条件"
    return (f"很抱歉，您的入会申请未通过审核。原因：{reason}。"
            f"如有疑问请拨打{hotline}，或回复“人工”咨询。")


def _word(text: str) -> str:
    return re.sub(r"[\s!！?？.。,，、~～…:：;；\"'“”‘’()（）【】\[\]]+", "", normalize(text)).lower()


def _asks_for_card(message: Incoming) -> bool:
    if message.is_text_like:
        return _word(message.text) in MEMBER_WORDS
    return (
        message.kind == "event"
        and message.event.lower() == "click"
        and message.event_key.upper() in MENU_KEYS
    )


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """我的会员 (会员卡/我的会员卡/入会进度): the card, or how to join; None for other messages."""
    if not _asks_for_card(message):
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
