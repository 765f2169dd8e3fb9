"""The membership card: what a worker sees of their application or membership, masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.signup.privacy import mask_name

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

