"""A forgiving signup (issue #14): what riders actually typed, as transcripts through the router.

Questions in the middle are answered and the signup goes on; everyday words stop it or consent;
command words are never stored as answers; a landline is called a landline; a duplicate ID number
is caught at the ID step.
"""

from __future__ import annotations

import pytest
from signup_transcript import ID, PHONE, STEPS, USER, Members, Worker, at_step, faq_answer, make_ctx

SHORT_BACK = {
    "privacy": "同意上面的个人信息说明",
    "id_consent": "同意提供身份证号",
    "name": "请发您的真实姓名",
    "phone": "请发您的11位手机号",
    "id_number": "请发您的18位身份证号",
    "occupation": "回复数字1到10",
    "occupation_other": "简单写一下您做什么工作",
    "employer": "请发您的单位或平台名称",
    "summary": "核对无误请回复“确认”",
}
"""A line of the short prompt each step comes back with after a question."""
FULL_PROMPT = {
    "privacy": "收集：姓名、手机号",
    "id_consent": "为什么要：核实身份",
    "name": "也可以一条消息发全",
    "phone": "请发您的手机号（11位）",
    "id_number": "大小写都行",
    "occupation": "3 网约送餐员",
    "occupation_other": "比如：代驾、搬运工",
    "employer": "比如：美团、饿了么、顺丰",
    "summary": "请核对您的信息",
}
"""A line only the full prompt has: never repeated after a question."""


# -- questions inside the signup ---------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("question", ["会费多少钱", "会费多少钱？", "入会要交钱吗"])
def test_a_question_at_each_step_is_answered_and_the_signup_goes_on(step: str, question: str) -> None:
    worker = at_step(step)
    before = worker.state
    reply = worker.send(question)
    expected = "dues.join-free" if "交钱" in question else "dues.rate"
    assert faq_answer(expected) in reply
    assert SHORT_BACK[step] in reply and FULL_PROMPT[step] not in reply
    assert worker.state == before  # nothing stored, same step
    assert "手机号只要11位数字" not in reply and "身份证号是18位" not in reply


@pytest.mark.parametrize("step", ["name", "phone", "id_number", "employer"])
def test_a_known_topic_without_question_words_is_answered_not_stored(step: str) -> None:
    worker = at_step(step)
    before = worker.state
    reply = worker.send("会费标准")
    assert faq_answer("dues.rate") in reply and SHORT_BACK[step] in reply
    assert worker.state == before


def test_a_question_the_knowledge_cannot_answer_is_recorded_and_the_step_kept() -> None:
    worker = at_step("phone")
    reply = worker.send("足球比赛谁赢了？")
    assert "暂时答不上来" in reply and "人工" in reply and SHORT_BACK["phone"] in reply
    assert worker.step == "phone" and "phone" not in worker.answers
    assert worker.effects == [("record_unanswered", {"question": "足球比赛谁赢了?", "outcome": "none"})]


def test_an_unanswered_question_is_recorded_without_its_long_numbers() -> None:
    worker = at_step("name")
    reply = worker.send("足球比赛12345678谁赢了？")
    assert "暂时答不上来" in reply and worker.step == "name"
    assert worker.effects == [("record_unanswered", {"question": "足球比赛********谁赢了?", "outcome": "none"})]


def test_questions_in_a_row_then_the_answers() -> None:
    worker = at_step("name")
    assert faq_answer("benefits.overview") in worker.send("入会有什么好处？")
    assert SHORT_BACK["name"] in worker.send("会费怎么交")
    assert worker.step == "name"
    worker.send("张三")
    assert worker.step == "phone" and worker.answers["name"] == "张三"


def test_a_question_at_the_name_step_is_never_a_name() -> None:
    for text in ("我不想入了吗", "你们是什么单位", "这是干嘛的", "要多久"):
        worker = at_step("name")
        worker.send(text)
        assert "name" not in worker.answers, text


# -- natural stops ------------------------------------------------------------------------------------

STOPS = ["算了", "不办了", "算了不办了", "不填了", "不想入了", "不想办了", "下次再说", "退出", "不入了",
         "我不想入了", "算了算了", "下次再说吧", "算了，不办了。", "我还是不办了", "不想填了"]


@pytest.mark.parametrize("step", STEPS)
def test_each_natural_stop_ends_the_signup_with_a_way_back(step: str) -> None:
    for stop in STOPS:
        worker = at_step(step)
        reply = worker.send(stop)
        assert "join" not in worker.state and "flow" not in worker.state, stop
        assert "已取消入会申请" in reply and "回复“入会”" in reply, stop


def test_cancel_words_typed_outside_a_flow_are_one_set() -> None:
    worker = Worker()
    assert "已取消" in worker.send("取消入会")
    assert "已取消" in worker.send("不入了")


def test_a_question_about_leaving_the_union_is_not_a_stop() -> None:
    worker = at_step("phone")
    reply = worker.send("怎么退出工会")
    assert worker.step == "phone" and faq_answer("join.leave") in reply


# -- consent ----------------------------------------------------------------------------------------------

CONSENTS = ["好", "好的", "可以", "行", "嗯", "同意", "ok", "OK", "Ok", "是", "对", "没问题", "好的！", "嗯嗯"]


def test_everyday_words_consent() -> None:
    for word in CONSENTS:
        worker = at_step("privacy")
        worker.send(word)
        assert worker.step == "id_consent" and worker.state["join"]["consented_at"], word
        worker.send(word)
        assert worker.step == "name" and worker.state["join"]["id_consented_at"], word


@pytest.mark.parametrize("step", ["privacy", "id_consent"])
@pytest.mark.parametrize("unclear", ["随便", "再说", "不太懂", "我不太同意"])
def test_an_unclear_reply_gets_a_short_re_ask_not_the_notice(step: str, unclear: str) -> None:
    worker = at_step(step)
    reply = worker.send(unclear)
    assert worker.step == step
    assert "同意" in reply and FULL_PROMPT[step] not in reply
    assert len(reply) < 80
    reply = worker.send(unclear)  # and again: still short
    assert FULL_PROMPT[step] not in reply and len(reply) < 80


# -- the employer --------------------------------------------------------------------------------------


def test_command_words_are_never_the_employer() -> None:
    for word in ["确认", "好的", "修改", "是", "对", "确定", "同意", "没问题", "好", "确认！"]:
        worker = at_step("employer")
        reply = worker.send(word)
        assert worker.step == "employer" and "employer" not in worker.answers, word
        assert "单位或平台" in reply, word


def test_the_employer_after_the_occupation_in_one_message_is_kept() -> None:
    for tail, occupation, employer in [("1 个体", "货车司机", "个体"), ("2 个体户", "快递员", "个体户"),
                                       ("1 美团", "货车司机", "美团"), ("3 美团", "网约送餐员", "美团")]:
        worker = at_step("name")
        reply = worker.send(f"张三 13800138000 {ID} {tail}")
        assert worker.step == "summary", reply
        assert (worker.answers["occupation"], worker.answers["employer"]) == (occupation, employer), tail


def test_a_command_word_after_the_occupation_is_not_the_employer() -> None:
    worker = at_step("name")
    worker.send(f"张三 {PHONE} {ID} 3 确认")
    assert worker.answers["occupation"] == "网约送餐员" and "employer" not in worker.answers
    assert worker.step == "employer"


# -- the phone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("landline", ["0571-88888888", "057188888888", "88888888", "(0571)8888888", "010 6666 8888"])
def test_a_landline_is_told_it_is_not_a_mobile(landline: str) -> None:
    worker = at_step("phone")
    reply = worker.send(landline)
    assert worker.step == "phone" and "phone" not in worker.answers
    assert "座机" in reply and "11位手机号" in reply and "身份证" not in reply


def test_twelve_digits_are_not_an_id_number() -> None:
    worker = at_step("phone")
    reply = worker.send("138123456789")
    assert "不是手机号" in reply and "12位" in reply and "身份证" not in reply
    assert worker.step == "phone"


# -- a duplicate ID number, at the ID step -----------------------------------------------------------


def test_a_duplicate_id_number_is_caught_at_the_id_step() -> None:
    worker = at_step("id_number", make_ctx(Members({ID: "oSomeoneElse"})))
    reply = worker.send(ID)
    assert worker.step is None and "join" not in worker.state  # not five fields later
    assert "工作人员" in reply and "身份证" in reply
    assert worker.effects == [("id_number_reused", {"id_number": ID, "openid": USER})]


def test_a_duplicate_id_number_in_one_message_is_caught_too() -> None:
    worker = at_step("name", make_ctx(Members({ID: "oSomeoneElse"})))
    worker.send(f"张三 {PHONE} {ID} 3 美团")
    assert "join" not in worker.state
    assert [kind for kind, _ in worker.effects] == ["id_number_reused"]


def test_only_another_accounts_number_is_a_duplicate() -> None:
    own = at_step("id_number", make_ctx(Members({ID: USER})))  # a rejected applicant applying again
    own.send(ID)
    assert own.step == "occupation" and own.effects == []
    other = at_step("id_number", make_ctx(Members({ID: "oSomeoneElse"})))
    other.send(ID)
    assert other.step is None
