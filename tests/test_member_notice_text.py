"""The pure part of member notices: audiences, the text members receive and WeChat's limits on it,
the template's fields, and the sending job's decisions (quota, pace, progress, the next day)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.notify import member_notice as mn
from bot.notify.member_notice import FOOTER, Audience, NoticeProblem, Progress
from bot.wechat.protocol import TEXT_LIMIT_BYTES

CHINA = dt.timezone(dt.timedelta(hours=8))
FIELDS = ("first={title}", "keyword1={union}", "keyword2={time}", "remark={text}")


def compose(title: str | None = "送清凉", body: str = "7月10日起免费发放防暑降温用品。", url: str | None = None):
    return mn.compose(title, body, "青溪县总工会", "2026-07-01 10:00", FIELDS, url)


def test_an_audience_is_exactly_one_choice() -> None:
    assert Audience.of(station=" ST001 ") == Audience("station", "ST001")
    assert Audience.of(occupation="快递员") == Audience("occupation", "快递员")
    assert Audience.of(everyone=True) == Audience("all")
    for wrong in ({}, {"station": "ST001", "everyone": True}, {"station": "ST001", "occupation": "快递员"}):
        with pytest.raises(NoticeProblem, match="选择一种发送范围"):
            Audience.of(**wrong)
    with pytest.raises(NoticeProblem):
        Audience("station", "")
    with pytest.raises(NoticeProblem):
        Audience("everyone")


def test_an_audience_is_kept_with_the_link_and_labelled_for_staff() -> None:
    audience = Audience("station", "ST001")
    assert Audience.from_json(audience.to_json("https://mp.weixin.qq.com/s/x")) == (audience, "https://mp.weixin.qq.com/s/x")
    assert Audience.from_json(Audience("all").to_json()) == (Audience("all"), "")
    assert audience.label({"ST001": "青溪驿站"}) == "驿站 ST001 青溪驿站" and audience.label() == "驿站 ST001"
    assert Audience("occupation", "快递员").label() == "职业 快递员" and Audience("all").label() == "全体会员"


def test_a_notice_ends_with_how_to_stop_them_in_every_form() -> None:
    notice = compose()
    assert notice.text == "【送清凉】\n7月10日起免费发放防暑降温用品。\n\n青溪县总工会\n" + FOOTER
    assert notice.fields == {"first": "送清凉", "keyword1": "青溪县总工会", "keyword2": "2026-07-01 10:00",
                             "remark": "7月10日起免费发放防暑降温用品。\n" + FOOTER}


def test_text_is_tidied_and_the_footer_added_once() -> None:
    notice = compose(title="  ", body="\ufeff第一行  \r\n第二行\n\n" + FOOTER + "\n")
    assert notice.title == mn.DEFAULT_TITLE and notice.body == "第一行\n第二行"
    assert notice.text.count(FOOTER) == 1


def test_a_link_goes_into_the_text_and_must_be_a_web_address() -> None:
    notice = compose(url=" https://mp.weixin.qq.com/s/abc ")
    assert notice.url == "https://mp.weixin.qq.com/s/abc" and "\n详情：https://mp.weixin.qq.com/s/abc\n" in notice.text
    for bad in ("javascript:alert(1)", "mp.weixin.qq.com/s/abc", "https://a b", "https://x/" + "a" * 500):
        with pytest.raises(NoticeProblem, match="详情链接"):
            compose(url=bad)


def test_wechats_limits_an_empty_text_a_long_title_a_long_text() -> None:
    with pytest.raises(NoticeProblem, match="不能为空"):
        compose(body=" \n\t")
    assert compose(title="字" * mn.TITLE_MAX).title == "字" * mn.TITLE_MAX
    with pytest.raises(NoticeProblem, match="标题最多 20 个字.*现在是 21 个字"):
        compose(title="字" * 21)
    frame = len(compose(body="x").text.encode()) - 1
    assert len(compose(body="x" * (TEXT_LIMIT_BYTES - frame)).text.encode()) == TEXT_LIMIT_BYTES
    with pytest.raises(NoticeProblem, match="通知太长.*2049 字节.*删掉约 1 个字"):
        compose(body="x" * (TEXT_LIMIT_BYTES - frame + 1))


def test_progress_from_the_recipients_rows() -> None:
    progress = Progress.of({"sent": 5, "shown": 1, "waiting": 2, "failed": 1, "skipped": 3, "pending": 4, "sending": 1})
    assert (progress.delivered, progress.not_delivered, progress.pending, progress.skipped) == (6, 3, 5, 3)
    assert (progress.total, progress.done) == (14, 9)
    assert mn.job_status(progress, paused=False) == "sending" and mn.job_status(progress, paused=True) == "paused"
    assert mn.job_status(Progress.of({"sent": 2, "skipped": 1}), paused=True) == "done"


def test_quota_pace_and_the_next_day() -> None:
    assert mn.quota_left(100, 98, uses_template=True) == 2 and mn.quota_left(100, 130, True) == 0
    assert mn.quota_left(100, 130, uses_template=False) is None  # customer-service messages have no daily quota
    assert mn.batch_size(20.0, 30.0, None) == 600 and mn.batch_size(20.0, 30.0, 7) == 7
    assert mn.batch_size(0.5, 1.0, None) == 1
    assert not mn.may_resume(dt.date(2026, 7, 1), dt.date(2026, 7, 1))
    assert mn.may_resume(dt.date(2026, 7, 1), dt.date(2026, 7, 2))
    late = dt.datetime(2026, 6, 30, 17, 30, tzinfo=dt.UTC)  # 01:30 on 1 July in China
    assert mn.start_of_day(late, CHINA) == dt.datetime(2026, 7, 1, tzinfo=CHINA)


def test_wechats_refusals_are_explained_to_staff() -> None:
    assert mn.reason("模板消息 errcode 43004；客服消息 errcode 45015") == \
        "模板消息 errcode 43004（未关注公众号）；客服消息 errcode 45015（超过48小时没发消息）"
    assert mn.reason("模板消息 errcode 99999") == "模板消息 errcode 99999" and mn.reason("") == ""
