"""我的会员 shows what staff did in the console: withdrawn, and an approval sent back for review."""

from __future__ import annotations

from bot.signup.card import member_card


def test_withdrawn_member_sees_it_with_the_reason() -> None:
    card = member_card({"number": "GH2026000001", "name": "张三", "status": "withdrawn", "reason": "本人申请退会"})
    assert "状态：已退会（原因：本人申请退会）" in card and "重新申请" in card


def test_revoked_approval_shows_pending_with_the_reason() -> None:
    card = member_card({"number": "GH2026000001", "name": "张三", "status": "pending", "reason": "照片需重拍"})
    assert "状态：待审核（原因：照片需重拍）" in card


def test_approved_card_shows_no_reason() -> None:
    card = member_card({"number": "GH2026000001", "name": "张三", "status": "approved", "reason": "ok"})
    assert "状态：已通过" in card and "ok" not in card
