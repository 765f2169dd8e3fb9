"""The scan-to-join flow, message by message, with the state round-tripped through JSON each time."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fakes import FakeMembers, FakeStations
from support.ids import make_id
from support.messages import USER, scan, text

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.core.router import route
from bot.signup import texts
from bot.signup.validators import id_check_char
from handlers import join, member, stations

CHINA = timezone(timedelta(hours=8))
NOW = datetime(2024, 6, 1, 10, 0, tzinfo=CHINA).timestamp()
ID = "11010519491231002X"
ID_MASKED = "110105********002X"
PHONE = "13812345678"
ALL_THREE = f"张三 {PHONE} {ID}"
ST001 = {"code": "ST001", "name": "城关职工驿站", "address": "城关镇人民路1号", "hours": "8:00-20:00"}


def make_ctx(**kw: Any) -> Context:
    base: dict[str, Any] = {"now": NOW, "members": FakeMembers(), "stations": FakeStations([ST001])}
    base.update(kw)
    return Context(**base)


class Chat:
    """One worker's conversation: entry when no flow is active, else the flow; state via JSON."""

    def __init__(self, ctx: Context | None = None, state: State | None = None) -> None:
        self.ctx = ctx or make_ctx()
        self.state: State = state if state is not None else {"suggestions": ["faq-1", "faq-2"]}
        self.outcomes: list[Outcome] = []

    def send(self, message: Incoming | str) -> Outcome:
        if isinstance(message, str):
            message = text(message)
        if self.state.get("flow") == join.FLOW:
            outcome = join.handle(self.state, message, self.ctx)
        else:
            outcome = join.entry(self.state, message, self.ctx)
        assert outcome is not None, f"nobody took {message}"
        for reply in outcome.replies:
            assert len(reply.encode("utf-8")) <= 2048, "longer than one WeChat text message"
        self.state = json.loads(json.dumps(outcome.state, ensure_ascii=False))
        self.outcomes.append(outcome)
        return outcome

    @property
    def reply(self) -> str:
        return "\n".join(self.outcomes[-1].replies)

    @property
    def step(self) -> str | None:
        return (self.state.get("join") or {}).get("step")

    @property
    def answers(self) -> dict[str, Any]:
        return (self.state.get("join") or {}).get("answers", {})


def at_step(step: str, ctx: Context | None = None) -> Chat:
    """A chat advanced to ``step`` along the plain path."""
    chat = Chat(ctx)
    script = [scan(), "同意", "同意", "张三", PHONE, ID, "其他", "代驾", "美团"]
    order = [
        join.Step.PRIVACY,
        join.Step.ID_CONSENT,
        join.Step.NAME,
        join.Step.PHONE,
        join.Step.ID_NUMBER,
        join.Step.OCCUPATION,
        join.Step.OCCUPATION_OTHER,
        join.Step.EMPLOYER,
        join.Step.SUMMARY,
    ]
    for message in script:
        chat.send(message)
        if chat.step == step:
            return chat
    assert chat.step == step == order[-1]
    return chat


def at_summary(ctx: Context | None = None) -> Chat:
    chat = Chat(ctx)
    for message in (scan(), "同意", "同意", ALL_THREE, "3", "美团"):
        chat.send(message)
    assert chat.step == join.Step.SUMMARY
    return chat


# -- entry points ----------------------------------------------------------------------------------


def test_entry_points() -> None:
    ctx = make_ctx()
    for message in (
        scan(event="scan"),
        scan(event="subscribe"),
        Incoming(user=USER, kind="event", event="SCAN", event_key="join:ST001"),
        Incoming(user=USER, kind="event", event="subscribe", event_key="qrscene_join:ST001"),
        text("入会"),
        text("我要入会"),
        text("申请入会！"),
        Incoming(user=USER, kind="voice", text="我要入会。"),
    ):
        outcome = join.entry({}, message, ctx)
        assert outcome is not None, message
        assert outcome.state["flow"] == "join"
        assert outcome.state["join"]["step"] == join.Step.PRIVACY
        assert "同意" in outcome.replies[0]


def test_not_entry_points() -> None:
    ctx = make_ctx()
    for message in (
        text("你好"),
        text("怎么入会费"),
        Incoming(user=USER, kind="event", event="subscribe"),
        Incoming(user=USER, kind="event", event="scan", event_key="promo:abc"),
        Incoming(user=USER, kind="event", event="click", event_key="join:ST001"),
        Incoming(user=USER, kind="location", latitude=30.0, longitude=120.0),
    ):
        assert join.entry({}, message, ctx) is None
    assert join.handle({}, text("同意"), ctx) is None  # no flow active


def test_scan_attributes_the_station_and_text_entry_has_none() -> None:
    chat = Chat()
    chat.send(scan())
    assert chat.state["join"]["station"] == {"code": "ST001", "name": "城关职工驿站"}
    assert "城关职工驿站" in chat.reply
    assert chat.state["suggestions"] == ["faq-1", "faq-2"]  # other keys untouched
    typed = Chat()
    typed.send("入会")
    assert typed.state["join"]["station"] is None


def test_privacy_notice_says_what_why_how_long_and_how_to_withdraw() -> None:
    chat = Chat()
    chat.send(scan())
    for words in (
        "姓名",
        "手机号",
        "身份证号",
        "职业",
        "单位/平台",
        "入会审核和会员服务",
        "加密",
        "打码",
        "会员期间",
        "人工",
        "同意",
        "不同意",
        "县总工会",
    ):
        assert words in chat.reply, words
    chat.send("同意")
    assert chat.step == join.Step.ID_CONSENT
    for words in ("单独同意", "身份证号", "为什么", "影响", "现场办理", "不同意"):
        assert words in chat.reply, words


def test_unknown_station_code_continues_without_station() -> None:
    chat = Chat()
    chat.send(scan("NOPE9"))
    assert chat.step == join.Step.PRIVACY
    assert chat.state["join"]["station"] is None
    assert "没认出驿站编号“NOPE9”" in chat.reply
    for message in ("同意", "同意", ALL_THREE, "3 美团", "确认"):
        chat.send(message)
    assert chat.outcomes[-1].effects[0].data["station_code"] is None


def test_station_service_missing_keeps_the_scanned_code() -> None:
    chat = Chat(make_ctx(stations=None))
    chat.send(scan("ST777"))
    assert chat.state["join"]["station"] == {"code": "ST777", "name": ""}
    for message in ("同意", "同意", ALL_THREE, "3 美团", "确认"):
        chat.send(message)
    assert chat.outcomes[-1].effects[0].data["station_code"] == "ST777"


def test_already_a_member_sees_the_card() -> None:
    member = {
        "number": "GH2024000007",
        "name": "张*",
        "status": "pending",
        "station_code": "ST001",
        "station_name": "城关职工驿站",
        "reason": "",
    }
    ctx = make_ctx(members=FakeMembers({USER: member}))
    for message in (scan(), text("入会")):
        outcome = join.entry({"suggestions": [1]}, message, ctx)
        assert outcome is not None
        assert outcome.state == {"suggestions": [1]}
        assert "GH2024000007" in outcome.replies[0] and "待审核" in outcome.replies[0]
        assert "不用重复" in outcome.replies[0]


def test_a_rejected_applicant_may_apply_again() -> None:
    member = {"number": "GH2024000008", "name": "张*", "status": "rejected", "station_code": "ST001",
              "station_name": "城关职工驿站", "reason": "姓名与身份证号不符"}
    ctx = make_ctx(members=FakeMembers({USER: member}))
    outcome = join.entry({}, text("入会"), ctx)
    assert outcome is not None and outcome.state["flow"] == "join"
    assert "没有通过" in outcome.replies[0] and "姓名与身份证号不符" in outcome.replies[0]
    assert "同意" in outcome.replies[0]  # the privacy notice: a fresh application


def test_members_service_missing_still_starts() -> None:
    outcome = join.entry({}, scan(), make_ctx(members=None))
    assert outcome is not None and outcome.state["join"]["step"] == join.Step.PRIVACY


# -- the happy path ----------------------------------------------------------------------------------


def test_happy_path_step_by_step() -> None:
    chat = Chat()
    chat.send(scan())
    assert chat.step == join.Step.PRIVACY
    chat.send("同意")
    assert chat.step == join.Step.ID_CONSENT
    assert chat.state["join"]["consented_at"] == NOW
    privacy_notice = texts.notice_digest(texts.privacy_text("县总工会"))
    assert chat.state["join"]["privacy_notice"] == privacy_notice
    chat.send("同意")
    assert chat.step == join.Step.NAME and "姓名" in chat.reply
    assert chat.state["join"]["id_consented_at"] == NOW
    id_notice = texts.notice_digest(texts.ID_CONSENT_TEXT)
    assert chat.state["join"]["id_notice"] == id_notice != privacy_notice
    chat.send("张三")
    assert chat.step == join.Step.PHONE and "手机号" in chat.reply
    chat.send("138-1234-5678")
    assert chat.step == join.Step.ID_NUMBER and "身份证号" in chat.reply
    assert "出生日期" not in chat.answers  # derived, never asked
    chat.send("11010519491231002x")
    assert chat.step == join.Step.OCCUPATION
    assert "3 网约送餐员（外卖骑手）" in chat.reply and "10 其他" in chat.reply
    assert chat.answers["birth_date"] == "1949-12-31" and chat.answers["gender"] == "female"
    chat.send("3")
    assert chat.step == join.Step.EMPLOYER
    chat.send("美团")
    assert chat.step == join.Step.SUMMARY
    summary = chat.reply
    for words in (
        "1 姓名：张三",
        "2 手机号：138****5678",
        f"3 身份证号：{ID_MASKED}（女）",
        "4 职业：网约送餐员（外卖骑手）",
        "5 单位/平台：美团",
        "驿站：城关职工驿站",
        "确认",
        "修改",
        "取消",
    ):
        assert words in summary, words
    assert PHONE not in summary and ID not in summary  # masked
    before = chat.state
    outcome = chat.send("确认")
    assert outcome.replies == ()
    assert outcome.effects == (
        Effect(
            "register_member",
            {
                "openid": USER,
                "name": "张三",
                "phone": PHONE,
                "id_number": ID,
                "birth_date": "1949-12-31",
                "gender": "female",
                "occupation": "网约送餐员",
                "employer": "美团",
                "station_code": "ST001",
                "consents": [
                    {"what": "privacy", "at": NOW, "notice": privacy_notice},
                    {"what": "id_number", "at": NOW, "notice": id_notice},
                ],
            },
        ),
    )
    assert chat.state == json.loads(json.dumps(before))  # unchanged: answers kept for a retry


def count_to(messages: list[Incoming | str]) -> tuple[int, Chat]:
    """How many messages after the scan it takes to see the summary."""
    chat = Chat()
    chat.send(messages[0])
    for n, message in enumerate(messages[1:], 1):
        chat.send(message)
        if chat.step == join.Step.SUMMARY:
            return n, chat
    raise AssertionError("never reached the summary")


def test_fewest_messages_to_the_summary() -> None:
    # Two consents are required and separate (PIPL art. 29), so two messages are the floor.
    separate, _ = count_to([scan(), "同意", "同意", ALL_THREE, "3", "美团"])
    assert separate == 5
    combined, _ = count_to([scan(), "同意", "同意", ALL_THREE, "3 美团"])
    assert combined == 4
    fewest, chat = count_to([scan(), "同意", "同意", f"{ALL_THREE} 3 美团"])
    assert fewest == 3
    assert chat.answers["occupation"] == "网约送餐员" and chat.answers["employer"] == "美团"
    chat.send("确认")
    assert chat.outcomes[-1].effects[0].kind == "register_member"  # 4 messages after the scan in all


def test_platform_name_fills_occupation_and_employer() -> None:
    n, chat = count_to([scan(), "同意", "同意", ALL_THREE, "美团骑手"])
    assert n == 4
    assert chat.answers["occupation"] == "网约送餐员" and chat.answers["employer"] == "美团"


def test_fields_with_labels_in_one_message() -> None:
    chat = at_step(join.Step.NAME)
    chat.send("我叫张三，电话138-1234-5678，身份证11010519491231002x")
    assert chat.step == join.Step.OCCUPATION
    assert (
        chat.answers["name"] == "张三" and chat.answers["phone"] == PHONE and chat.answers["id_number"] == ID
    )
    assert "已记下：姓名、手机号、身份证号" in chat.reply


def test_partial_fields_go_to_the_first_missing_step() -> None:
    chat = at_step(join.Step.NAME)
    chat.send(f"张三 {ID}")
    assert chat.step == join.Step.PHONE
    assert "已记下：姓名、身份证号" in chat.reply and "手机号" in chat.reply
    chat.send(PHONE)
    assert chat.step == join.Step.OCCUPATION


def test_phone_first_at_the_name_step() -> None:
    chat = at_step(join.Step.NAME)
    chat.send(PHONE)
    assert chat.step == join.Step.NAME
    assert chat.answers["phone"] == PHONE
    assert "已记下：手机号" in chat.reply and "姓名" in chat.reply
    chat.send("张三")
    assert chat.step == join.Step.ID_NUMBER


def test_voice_answers_work_like_text() -> None:
    chat = at_step(join.Step.NAME)
    chat.send(Incoming(user=USER, kind="voice", text="张三。"))
    assert chat.answers["name"] == "张三"


# -- corrections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("张三3", "不能有数字"),
        ("张", "至少两个字"),
        ("同意", "真实姓名"),
        ("张三@#", "只能是汉字"),
        ("", "姓名"),
    ],
)
def test_bad_name(answer: str, words: str) -> None:
    chat = at_step(join.Step.NAME)
    chat.send(answer)
    assert chat.step == join.Step.NAME
    assert words in chat.reply
    assert "name" not in chat.answers


@pytest.mark.parametrize(
    ("answer", "words"),
    [("1381234567", "10位"), ("12812345678", "1开头"), ("好的", "11位数字"), ("138123456789", "12位")],
)
def test_bad_phone_keeps_the_name(answer: str, words: str) -> None:
    chat = at_step(join.Step.PHONE)
    chat.send(answer)
    assert chat.step == join.Step.PHONE
    assert words in chat.reply
    assert chat.answers["name"] == "张三" and "phone" not in chat.answers


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("1101051949123100", "18位，您发的是16位"),
        ("110105194912310", "15位的老身份证号"),
        ("11010519491231002A", "只有数字"),
        ("110105194912310021", "最后一位校验不对"),
        ("110105" + "19491331" + "002" + id_check_char("11010519491331002"), "出生日期"),
        (make_id(date(2030, 1, 1), 11, "110105"), "比今天还晚"),
        (make_id(date(2010, 1, 1), 11, "110105"), "年满16周岁"),
        ("不知道", "只有数字"),
    ],
)
def test_bad_id_number_keeps_name_and_phone(answer: str, words: str) -> None:
    chat = at_step(join.Step.ID_NUMBER)
    chat.send(answer)
    assert chat.step == join.Step.ID_NUMBER
    assert words in chat.reply
    assert (
        chat.answers["name"] == "张三" and chat.answers["phone"] == PHONE and "id_number" not in chat.answers
    )


def test_age_uses_the_injected_clock() -> None:
    number = make_id(date(2008, 6, 2), 11, "110105")  # 16 on 2024-06-02, China time
    early = at_step(join.Step.ID_NUMBER, make_ctx(now=NOW))
    early.send(number)
    assert early.step == join.Step.ID_NUMBER and "16周岁" in early.reply
    later = at_step(join.Step.ID_NUMBER, make_ctx(now=NOW + 86400))
    later.send(number)
    assert later.step == join.Step.OCCUPATION and later.answers["gender"] == "male"


def test_bad_fields_in_a_combined_message_keep_the_good_ones() -> None:
    chat = at_step(join.Step.NAME)
    chat.send(f"张三 1381234567 {ID}")
    assert chat.step == join.Step.PHONE
    assert "10位" in chat.reply and "请发您的手机号" in chat.reply
    assert chat.answers["name"] == "张三" and chat.answers["id_number"] == ID
    chat2 = at_step(join.Step.NAME)
    chat2.send(f"张三 {PHONE} 110105194912310021")
    assert chat2.step == join.Step.ID_NUMBER and "最后一位校验不对" in chat2.reply
    assert chat2.answers["phone"] == PHONE


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("11", "没有第11类"),
        ("0", "没有第0类"),
        ("开挖掘机", "没认出“开挖掘机”"),
        ("司机", "1 货车司机，4 网约车司机"),
        ("快递外卖", "您是哪一类"),
    ],
)
def test_bad_occupation(answer: str, words: str) -> None:
    chat = at_step(join.Step.OCCUPATION)
    chat.send(answer)
    assert chat.step == join.Step.OCCUPATION
    assert words in chat.reply
    assert "occupation" not in chat.answers


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("1", "货车司机"),
        ("３", "网约送餐员"),
        ("3号", "网约送餐员"),
        ("第2个", "快递员"),
        ("外卖", "网约送餐员"),
        ("骑手", "网约送餐员"),
        ("我是送外卖的", "网约送餐员"),
        ("网约送餐员", "网约送餐员"),
        ("滴滴司机", "网约车司机"),
        ("货车司机", "货车司机"),
        ("保安", "保安员"),
        ("月嫂", "家政服务员"),
        ("9", "保安员"),
    ],
)
def test_occupation_by_number_or_word(answer: str, label: str) -> None:
    chat = at_step(join.Step.OCCUPATION)
    chat.send(answer)
    assert chat.answers["occupation"] == label
    assert chat.step in (join.Step.EMPLOYER, join.Step.SUMMARY)


def test_other_occupation() -> None:
    chat = at_step(join.Step.OCCUPATION)
    chat.send("10")
    assert chat.step == join.Step.OCCUPATION_OTHER and "跳过" in chat.reply
    chat.send("代驾")
    assert chat.step == join.Step.EMPLOYER
    assert chat.answers["occupation"] == "其他" and chat.answers["occupation_note"] == "代驾"
    skip = at_step(join.Step.OCCUPATION)
    skip.send("其他")
    skip.send("跳过")
    assert skip.step == join.Step.EMPLOYER and "occupation_note" not in skip.answers
    direct = at_step(join.Step.OCCUPATION)
    direct.send("其他 代驾")
    assert direct.step == join.Step.EMPLOYER and direct.answers["occupation_note"] == "代驾"
    long = at_step(join.Step.OCCUPATION_OTHER)
    long.send("我" * 30)
    assert long.step == join.Step.OCCUPATION_OTHER and "20个字以内" in long.reply


def test_other_occupation_reaches_the_payload() -> None:
    chat = at_step(join.Step.SUMMARY)
    chat.send("确认")
    assert chat.outcomes[-1].effects[0].data["occupation"] == "其他（代驾）"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("", "至少两个字"),
        ("  ", "至少两个字"),
        ("无", "个体"),
        ("美" * 41, "40个字以内"),
        ("13812345678", "号码"),
    ],
)
def test_bad_employer(answer: str, words: str) -> None:
    chat = at_step(join.Step.EMPLOYER)
    chat.send(answer)
    assert chat.step == join.Step.EMPLOYER
    assert words in chat.reply
    assert "employer" not in chat.answers and chat.answers["occupation"] == "其他"


def test_employer_accepted_and_trimmed() -> None:
    chat = at_step(join.Step.EMPLOYER)
    chat.send(" 顺丰速运。 ")
    assert chat.answers["employer"] == "顺丰速运" and chat.step == join.Step.SUMMARY


def test_unknown_command_at_the_summary_shows_it_again() -> None:
    chat = at_summary()
    before = chat.state
    chat.send("好的吧")
    assert chat.state == before
    assert "没看懂" in chat.reply and "请核对您的信息" in chat.reply
    chat.send("修改9")
    assert "没有第9项" in chat.reply and chat.step == join.Step.SUMMARY


def test_consent_needs_a_clear_answer() -> None:
    chat = Chat()
    chat.send(scan())
    chat.send("随便")
    assert chat.step == join.Step.PRIVACY and "请回复“同意”" in chat.reply and "收集" not in chat.reply
    chat.send("同意")
    chat.send("随便吧")
    assert chat.step == join.Step.ID_CONSENT and "请回复“同意”" in chat.reply and "单独同意" not in chat.reply


# -- consent refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["不同意", "我不同意。", "不"])
def test_refusing_the_privacy_notice(refusal: str) -> None:
    chat = Chat()
    chat.send(scan())
    chat.send(refusal)
    assert chat.state == {"suggestions": ["faq-1", "faq-2"]}
    assert "没有保存" in chat.reply and "现场" in chat.reply and "入会" in chat.reply


def test_refusing_the_id_number() -> None:
    chat = Chat()
    chat.send(scan())
    chat.send("同意")
    chat.send("不同意")
    assert chat.state == {"suggestions": ["faq-1", "faq-2"]}
    assert "没有保存" in chat.reply and "现场申请" in chat.reply and "12351" in chat.reply


# -- 修改 N ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "step", "answer", "key", "value"),
    [
        ("修改1", join.Step.NAME, "李四", "name", "李四"),
        ("修改 2", join.Step.PHONE, "139 0000 1111", "phone", "13900001111"),
        ("修改3", join.Step.ID_NUMBER, "34052419800101001X", "id_number", "34052419800101001X"),
        ("修改 4", join.Step.OCCUPATION, "2", "occupation", "快递员"),
        ("修改５", join.Step.EMPLOYER, "饿了么", "employer", "饿了么"),
        ("修改手机号", join.Step.PHONE, "13900001111", "phone", "13900001111"),
        ("改第5项", join.Step.EMPLOYER, "顺丰", "employer", "顺丰"),
    ],
)
def test_edit_one_field_then_back_to_the_summary(
    command: str, step: str, answer: str, key: str, value: str
) -> None:
    chat = at_summary()
    chat.send(command)
    assert chat.step == step and chat.state["join"]["editing"] == step
    chat.send(answer)
    assert chat.step == join.Step.SUMMARY and chat.state["join"]["editing"] is None
    assert chat.answers[key] == value
    assert "已修改" in chat.reply and "请核对您的信息" in chat.reply


def test_edit_keeps_asking_until_valid() -> None:
    chat = at_summary()
    chat.send("修改3")
    chat.send("110105194912310021")
    assert chat.step == join.Step.ID_NUMBER and "校验不对" in chat.reply
    chat.send("34052419800101001X")
    assert chat.step == join.Step.SUMMARY
    assert chat.answers["gender"] == "male" and chat.answers["birth_date"] == "1980-01-01"


def test_edit_occupation_to_other_asks_for_the_note_then_returns() -> None:
    chat = at_summary()
    chat.send("修改4")
    chat.send("10")
    assert chat.step == join.Step.OCCUPATION_OTHER
    chat.send("搬运工")
    assert chat.step == join.Step.SUMMARY and "其他（搬运工）" in chat.reply
    assert chat.answers["employer"] == "美团"  # untouched


# -- 取消 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", list(join.Step))
@pytest.mark.parametrize("word", ["取消", "取消。", "退出"])
def test_cancel_at_every_step(step: str, word: str) -> None:
    chat = at_step(step)
    chat.send(word)
    assert chat.state == {"suggestions": ["faq-1", "faq-2"]}
    assert "已取消" in chat.reply and "回复“入会”" in chat.reply


def test_cancel_while_submitting() -> None:
    chat = at_summary()
    chat.send("确认")
    chat.send("取消")
    assert "join" not in chat.state and "flow" not in chat.state


# -- resume ---------------------------------------------------------------------------------------------


def test_resume_after_an_interruption() -> None:
    chat = at_step(join.Step.OCCUPATION)
    saved = json.dumps(chat.state, ensure_ascii=False)  # the store keeps it while the TTL runs
    later = Chat(state=json.loads(saved))
    later.send("你好")
    assert later.step == join.Step.OCCUPATION
    assert "没认出" in later.reply and "1 货车司机" in later.reply
    later.send("入会")
    assert later.step == join.Step.OCCUPATION and "还没填完" in later.reply and "1 货车司机" in later.reply
    later.send("3 美团")
    assert later.step == join.Step.SUMMARY and later.answers["name"] == "张三"


@pytest.mark.parametrize("step", list(join.Step))
def test_resume_prompt_for_every_step(step: str) -> None:
    chat = at_step(step)
    prompt = join.SIGNUP.prompt(chat.state, chat.ctx)
    assert prompt
    assert join.SIGNUP.prompt({"suggestions": []}, chat.ctx) == ""


def test_non_text_messages_reprompt_or_pass() -> None:
    chat = at_step(join.Step.PHONE)
    chat.send(Incoming(user=USER, kind="image"))
    assert chat.step == join.Step.PHONE and "打字" in chat.reply and "手机号" in chat.reply
    chat.send(Incoming(user=USER, kind="voice", text=""))
    assert chat.step == join.Step.PHONE and "打字" in chat.reply
    ctx = make_ctx()
    for message in (
        Incoming(user=USER, kind="location", latitude=30.1, longitude=120.2),
        Incoming(user=USER, kind="event", event="click", event_key="STATIONS"),
        Incoming(user=USER, kind="event", event="unsubscribe"),
        Incoming(user=USER, kind="event", event="subscribe"),
    ):
        assert join.handle(chat.state, message, ctx) is None  # the router passes these on


def test_scanning_again_mid_flow_keeps_answers_and_takes_the_station() -> None:
    chat = Chat()
    for message in ("入会", "同意", "同意", "张三"):
        chat.send(message)
    chat.send(scan("ST001"))
    assert chat.step == join.Step.PHONE and chat.answers["name"] == "张三"
    assert chat.state["join"]["station"]["code"] == "ST001"
    assert "城关职工驿站" in chat.reply and "手机号" in chat.reply
    chat.send(scan("BAD"))
    assert chat.state["join"]["station"]["code"] == "ST001" and "没认出" in chat.reply


def test_corrupt_join_state_restarts() -> None:
    outcome = join.handle({"flow": "join", "join": {"step": "bogus"}}, text("你好"), make_ctx())
    assert outcome is not None and outcome.state["join"]["step"] == join.Step.PRIVACY


# -- submitting and the effect's result ----------------------------------------------------------------------


def test_retry_of_confirm_produces_the_same_effect() -> None:
    chat = at_summary()
    first = chat.send("确认")
    second = chat.send("确认")
    assert first.effects == second.effects and len(second.effects) == 1
    assert second.replies == ()
    assert chat.step == join.Step.SUMMARY


def test_edit_after_a_confirm_goes_to_the_field() -> None:
    chat = at_summary()
    chat.send("确认")
    chat.send("修改2")
    assert chat.step == join.Step.PHONE


def test_on_registered_clears_the_flow_and_shows_the_card() -> None:
    chat = at_summary()
    chat.send("确认")
    member = {
        "number": "GH2024000123",
        "name": "张三",
        "name_masked": "张*",
        "status": "pending",
        "station_code": "ST001",
        "station_name": "城关职工驿站",
        "reason": "",
    }
    outcome = join.on_registered(chat.state, member, chat.ctx)
    assert outcome.state == {"suggestions": ["faq-1", "faq-2"]}
    reply = outcome.replies[0]
    for words in ("提交成功", "GH2024000123", "张*", "城关职工驿站", "待审核", "审核", "我的会员"):
        assert words in reply, words
    assert "张三" not in reply


def test_on_register_failed_unavailable_keeps_answers_at_the_summary() -> None:
    chat = at_summary()
    answers = dict(chat.answers)
    chat.send("确认")
    outcome = join.on_register_failed(chat.state, "unavailable", chat.ctx)
    assert outcome.replies == ("系统有点忙，您填的信息都还在，请过一会儿再回复“确认”。",)
    assert outcome.state["join"]["step"] == join.Step.SUMMARY
    assert outcome.state["join"]["answers"] == answers
    chat.state = json.loads(json.dumps(outcome.state))
    again = chat.send("确认")
    assert again.effects and again.effects[0].data["id_number"] == ID


def test_on_register_failed_id_taken_clears_the_flow() -> None:
    chat = at_summary()
    chat.send("确认")
    outcome = join.on_register_failed(chat.state, "id_taken", chat.ctx)
    assert outcome.state == {"suggestions": ["faq-1", "faq-2"]}
    assert "人工" in outcome.replies[0] and "另一个微信号" not in outcome.replies[0]  # no existence oracle


def test_on_register_failed_unknown_reason_is_like_unavailable() -> None:
    chat = at_summary()
    chat.send("确认")
    outcome = join.on_register_failed(chat.state, "something-new", chat.ctx)
    assert outcome.state["join"]["step"] == join.Step.SUMMARY and "确认" in outcome.replies[0]


# -- nothing crashes, the state always survives JSON ------------------------------------------------------------


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(list(join.Step)), st.text(max_size=60))
def test_any_text_at_any_step(step: str, body: str) -> None:
    chat = at_step(step)
    outcome = join.handle(chat.state, text(body), chat.ctx)
    if outcome is None:  # only the member and station commands pass through, to their own handlers
        assert (member.handle(chat.state, text(body), chat.ctx)
                or stations.handle(chat.state, text(body), chat.ctx)) is not None
        return
    json.dumps(outcome.state)
    assert outcome.state.get("suggestions") == ["faq-1", "faq-2"]
    if outcome.state.get("flow") == "join":
        assert outcome.replies or outcome.effects
        assert outcome.state["join"]["step"] in list(join.Step)


@pytest.mark.parametrize("question", ["会费多少钱", "入会有什么好处", "你好吗", "工会是干嘛的"])
def test_a_question_at_the_name_step_is_not_a_name(question: str) -> None:
    chat = at_step(join.Step.NAME)
    chat.send(question)
    assert chat.step == join.Step.NAME and "name" not in chat.answers
    assert "真实姓名" in chat.reply


@pytest.mark.parametrize("word", ["我的会员", "会员卡", "附近驿站", "驿站"])
def test_member_and_station_commands_pass_through_the_flow(word: str) -> None:
    chat = at_step(join.Step.NAME)
    assert join.SIGNUP.passes_through == ("member", "stations")
    outcome = route(chat.state, text(word), chat.ctx)
    assert outcome.state["join"] == chat.state["join"]  # the answers stay
    expected = member.handle(chat.state, text(word), chat.ctx) or stations.handle(chat.state, text(word), chat.ctx)
    assert expected is not None and outcome.replies == expected.replies


def test_hedged_consent_is_not_consent() -> None:
    chat = Chat()
    chat.send(scan())
    chat.send("我不太同意")
    assert chat.step == join.Step.PRIVACY
    chat.send("同意！")
    assert chat.step == join.Step.ID_CONSENT


def test_bare_edit_asks_which_field() -> None:
    chat = at_summary()
    chat.send("修改")
    assert chat.step == join.Step.SUMMARY and "要改哪一项" in chat.reply and "修改2" in chat.reply
