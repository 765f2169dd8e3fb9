"""Black-box tests of /wechat: signed XML in, reply XML out, in plain, compatible and safe modes."""

from __future__ import annotations

import base64
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.app import KNOWLEDGE, SAMPLES, Bot, make_config
from support.clock import NOW

from bot.core.conversation import Outcome
from bot.core.router import route as real_route
from bot.web.app import create_app


def echo(state, message, ctx) -> Outcome:
    return Outcome(state=state, replies=(f"you said: {message.text}",))


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    return Bot(tmp_path)


def assert_answers_normally(bot: Bot) -> None:
    reply = bot.sim.post(bot.sim.text("healthy-user", "帮助"))
    assert reply.status == 200
    assert reply.msg_type == "text" and reply.text


# -- every message type and event, plain and safe ---------------------------------------------------

ALL_SAMPLES = sorted(p.stem for p in SAMPLES.glob("*.xml"))
SILENT = {"event_unsubscribe", "event_view", "event_location", "event_templatesendjobfinish"}


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_every_message_type_gets_a_valid_reply(tmp_path: Path, mode: str, name: str) -> None:
    bot = Bot(tmp_path, mode=mode)
    reply = bot.sim.post(bot.sample(name))
    assert reply.status == 200
    if name in SILENT:
        assert reply.body == b"success"
    else:
        assert reply.msg_type == "text"
        assert reply.fields["ToUserName"] == "worker1"
        assert reply.fields["FromUserName"] == "gh_unionbot"
        assert reply.text.strip()
    if mode == "safe":
        assert b"<Encrypt>" in reply.body or reply.body == b"success"


def test_an_unanswered_question_is_recorded_once_for_staff(bot: Bot) -> None:
    xml = bot.sim.text("worker9", "我家猫不吃饭怎么办", msg_id=424242)
    first = bot.sim.post(xml)
    assert first.text and "12351" in first.text
    assert bot.sim.post(xml).body == first.body  # WeChat's retry: same reply, not counted again
    assert bot.services.store.unanswered() == [("我家猫不吃饭怎么办", 1, {"none": 1}, {})]


def test_a_serving_worker_loads_the_knowledge_before_the_first_message(tmp_path: Path) -> None:
    services = create_app(make_config(tmp_path)).extensions["unionbot"]
    assert services.knowledge.loaded_at is not None and services.knowledge.last_error is None


def test_get_verification_echoes(bot: Bot) -> None:
    reply = bot.sim.verify("hello-echo")
    assert (reply.status, reply.body) == (200, b"hello-echo")


def test_get_verification_with_bad_signature_is_refused(bot: Bot) -> None:
    status, _ = bot.sim.transport("GET", "/wechat?signature=x&timestamp=1&nonce=n&echostr=e", b"")
    assert status == 403


def test_voice_recognition_goes_through_the_text_path(bot: Bot) -> None:
    voice = bot.sim.post(bot.sample("voice_recognition", user="u-voice"))
    typed = bot.sim.post(bot.sim.text("u-typed", "我想问一下会费怎么交"))
    assert voice.text == typed.text


def test_voice_without_recognition_asks_to_type(bot: Bot) -> None:
    reply = bot.sim.post(bot.sample("voice"))
    assert "打字" in reply.text


def test_compatible_mode_accepts_plain_and_encrypted(tmp_path: Path) -> None:
    bot = Bot(tmp_path, mode="compatible")
    plain_params, body = bot.sim.query(bot.sim.text("u1", "帮助"), encrypt=False)
    plain = bot.sim.post(body, plain_params)
    assert plain.status == 200 and b"<Encrypt>" not in plain.body and plain.text
    enc_params, enc_body = bot.sim.query(bot.sim.text("u1", "帮助"), encrypt=True)
    encrypted = bot.sim.post(enc_body, enc_params)
    assert encrypted.status == 200 and b"<Encrypt>" in encrypted.body and encrypted.text == plain.text


# -- hostile and broken input: refused, and the next good message is answered ------------------------


def post_raw(bot: Bot, body: bytes, **override: str) -> int:
    params, _ = bot.sim.query("", encrypt=False)
    params.update(override)
    return bot.sim.post(body, params).status


def test_missing_signature_is_403(bot: Bot) -> None:
    status, _ = bot.sim.transport("POST", "/wechat", bot.sample("text").encode())
    assert status == 403
    assert_answers_normally(bot)


def test_forged_signature_is_403(bot: Bot) -> None:
    assert post_raw(bot, bot.sample("text").encode(), signature="0" * 40) == 403
    assert_answers_normally(bot)


def test_stale_timestamp_is_403(bot: Bot) -> None:
    params, body = bot.sim.query(bot.sample("text"), timestamp=int(NOW) - 301)
    assert bot.sim.post(body, params).status == 403
    params, body = bot.sim.query(bot.sample("text"), timestamp=int(NOW) - 299)
    assert bot.sim.post(body, params).status == 200


def test_timestamp_window_is_configurable(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    bot.services.config = replace(bot.config, wechat=replace(bot.config.wechat, timestamp_window=10))
    params, body = bot.sim.query(bot.sample("text"), timestamp=int(NOW) - 11)
    assert bot.sim.post(body, params).status == 403


def test_huge_body_is_413(bot: Bot) -> None:
    big = "<xml>" + "<Content>" + "长" * 30_000 + "</Content></xml>"
    assert post_raw(bot, big.encode()) == 413
    assert_answers_normally(bot)


def test_malformed_xml_is_400(bot: Bot) -> None:
    assert post_raw(bot, b"<xml><ToUserName>oops</xml") == 400
    assert post_raw(bot, b"not xml at all") == 400
    assert post_raw(bot, b"") == 400
    assert_answers_normally(bot)


def test_non_utf8_is_400(bot: Bot) -> None:
    assert post_raw(bot, bot.sample("text").encode("gbk")) == 400
    assert_answers_normally(bot)


def test_xxe_is_400_without_reading_the_file(bot: Bot, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    )
    params, _ = bot.sim.query("", encrypt=False)
    reply = bot.sim.post(body.encode(), params)
    assert reply.status == 400
    assert b"TOP-SECRET" not in reply.body
    assert_answers_normally(bot)


def test_billion_laughs_is_400(bot: Bot) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE xml [{entities}]><xml><Content>&lol9;</Content></xml>'
    assert post_raw(bot, body.encode()) == 400
    assert_answers_normally(bot)


def test_safe_mode_wrong_msg_signature_is_403(tmp_path: Path) -> None:
    bot = Bot(tmp_path, mode="safe")
    params, body = bot.sim.query(bot.sample("text"))
    params["msg_signature"] = "f" * 40
    assert bot.sim.post(body, params).status == 403
    assert_answers_normally(bot)


def test_safe_mode_corrupt_encrypt_is_400(tmp_path: Path) -> None:
    bot = Bot(tmp_path, mode="safe")
    params, _ = bot.sim.query(bot.sample("text"))
    corrupt = "abc$%^notbase64"
    from bot.wechat.simulator import _sign

    params["msg_signature"] = _sign("test-token", params["timestamp"], params["nonce"], corrupt)
    body = f"<xml><Encrypt><![CDATA[{corrupt}]]></Encrypt></xml>"
    assert bot.sim.post(body, params).status == 400
    # well-formed base64 of garbage: decrypts to nonsense
    garbage = base64.b64encode(b"\x00" * 64).decode()
    params["msg_signature"] = _sign("test-token", params["timestamp"], params["nonce"], garbage)
    assert bot.sim.post(f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>", params).status == 400
    assert_answers_normally(bot)


def test_safe_mode_plain_body_is_400(tmp_path: Path) -> None:
    bot = Bot(tmp_path, mode="safe")
    params, _ = bot.sim.query("", encrypt=False)
    params["msg_signature"] = "0" * 40
    assert bot.sim.post(bot.sample("text"), params).status == 400


@pytest.mark.parametrize("field", ["FromUserName", "MsgType"])
def test_missing_required_field_is_400(bot: Bot, field: str) -> None:
    body = bot.sample("text")
    start = body.index(f"<{field}>")
    end = body.index(f"</{field}>") + len(field) + 3
    assert post_raw(bot, (body[:start] + body[end:]).encode()) == 400
    assert_answers_normally(bot)


def test_repeated_field_is_400(bot: Bot) -> None:
    body = bot.sample("text").replace("</Content>", "</Content><Content>again</Content>")
    assert post_raw(bot, body.encode()) == 400


def test_cdata_terminator_and_control_characters_give_well_formed_xml(tmp_path: Path) -> None:
    bot = Bot(tmp_path, route=echo)
    nasty = "a]]>b<c>&d\x01\x08\x0bend"
    body = bot.sim.text("u1", "placeholder").replace("<![CDATA[placeholder]]>", "a]]&gt;b&lt;c&gt;&amp;d&#9;end")
    reply = bot.sim.post(body)
    assert reply.status == 200 and reply.text == "you said: a]]>b<c>&d\tend"
    # control characters straight from a handler are dropped, not emitted as invalid XML
    (tmp_path / "2").mkdir()
    bot2 = Bot(tmp_path / "2", route=lambda s, m, c: Outcome(state=s, replies=(nasty,)))
    reply = bot2.sim.post(bot2.sim.text("u1", "x"))
    assert reply.status == 200 and reply.text == "a]]>b<c>&dend"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600) | st.text(max_size=300).map(lambda t: f"<xml>{t}</xml>".encode()))
def test_no_body_ever_gives_5xx(bot: Bot, body: bytes) -> None:
    assert post_raw(bot, body) < 500


# -- retries and concurrency --------------------------------------------------------------------------


def test_resent_message_gets_the_same_reply_without_rerunning(bot: Bot) -> None:
    body = bot.sample("text", msg_id=777001)
    first = bot.sim.post(body)
    calls = bot.calls
    for _ in range(3):
        again = bot.sim.post(body)
        assert again.text == first.text
    assert bot.calls == calls == 1


def test_resent_event_is_deduplicated_by_sender_and_time(bot: Bot) -> None:
    body = bot.sample("event_subscribe", create_time=1_790_000_123)
    first = bot.sim.post(body)
    second = bot.sim.post(body)
    assert second.text == first.text
    assert bot.calls == 1
    bot.sim.post(bot.sample("event_subscribe", create_time=1_790_000_124))
    assert bot.calls == 2


def test_safe_mode_retry_is_reencrypted(tmp_path: Path) -> None:
    bot = Bot(tmp_path, mode="safe")
    body = bot.sample("text", msg_id=424242)
    first, second = bot.sim.post(body), bot.sim.post(body)
    assert first.text == second.text and bot.calls == 1


def test_two_messages_from_one_user_are_handled_in_order(tmp_path: Path) -> None:
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def slow_route(state, message, ctx):
        order.append("start " + message.text)
        if message.text == "first":
            entered.set()
            release.wait(5)
        order.append("end " + message.text)
        return Outcome(state={"last": message.text})

    bot = Bot(tmp_path, route=slow_route)
    results: dict[str, int] = {}

    def send(text: str) -> None:
        sim = bot.simulator()
        results[text] = sim.post(sim.text("same-user", text)).status

    t1 = threading.Thread(target=send, args=("first",))
    t1.start()
    assert entered.wait(5)
    t2 = threading.Thread(target=send, args=("second",))
    t2.start()
    t2.join(0.3)  # the second must be waiting on the lock, not running
    assert order == ["start first"]
    release.set()
    t1.join(5)
    t2.join(5)
    assert order == ["start first", "end first", "start second", "end second"]
    assert results == {"first": 200, "second": 200}


# -- replies: length, handover, failures -------------------------------------------------------------


def test_long_answer_is_cut_at_a_sentence_with_more(tmp_path: Path) -> None:
    long_text = "".join(f"第{i}句话讲的是工会会员可以享受的一项服务。" for i in range(120))
    bot = Bot(tmp_path, route=lambda s, m, c: real_route(s, m, c) if s.get("more") else Outcome(state=s, replies=(long_text,)))
    first = bot.sim.post(bot.sim.text("u1", "介绍一下"))
    assert len(first.text.encode()) <= 2048
    assert "更多" in first.text and first.text.split("\n")[-2].endswith("。")
    collected = first.text.split("\n（")[0]
    while "回复“更多”" in (reply := bot.sim.post(bot.sim.text("u1", "更多"))).text:
        assert len(reply.text.encode()) <= 2048
        collected += reply.text.split("\n（")[0]
    collected += reply.text
    assert collected == long_text


def test_human_handover_without_api_replies_with_hotline(bot: Bot) -> None:
    reply = bot.sim.post(bot.sim.text("u1", "人工"))
    assert reply.msg_type == "text"
    assert "12351" in reply.text


def test_handler_crash_answers_200_and_the_retry_runs_again(tmp_path: Path) -> None:
    attempts = []

    def flaky(state, message, ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("boom")
        return Outcome(state=state, replies=("ok now",))

    bot = Bot(tmp_path, route=flaky)
    body = bot.sample("text", msg_id=5150)
    first = bot.sim.post(body)
    assert first.status == 200 and "12351" in first.text
    assert bot.sim.post(body).text == "ok now"


def test_redis_down_still_answers_questions_and_refuses_flows(tmp_path: Path) -> None:
    bot = Bot(tmp_path, store_url="redis://127.0.0.1:1/0")
    reply = bot.sim.post(bot.sim.text("u1", "帮助"))
    assert reply.status == 200 and "入会" in reply.text
    join = bot.sim.post(bot.sim.text("u1", "入会"))
    assert join.status == 200 and "稍后" in join.text


def test_redis_down_still_offers_suggestions(tmp_path: Path) -> None:
    bot = Bot(tmp_path, store_url="redis://127.0.0.1:1/0")
    offered = Outcome(state={"suggestions": ["a", "b"]}, replies=("您是想问哪一个？\n1. 甲\n2. 乙",))
    bot.services.route = lambda s, m, c: offered
    reply = bot.sim.post(bot.sim.text("u1", "会费"))
    assert reply.text == offered.replies[0]


def test_menu_buttons_always_answer(bot: Bot) -> None:
    join = bot.sim.post(bot.sim.event("u-menu", "CLICK", EventKey="JOIN"))
    assert "同意" in join.text  # the 我要入会 button starts the signup
    unknown = bot.sim.post(bot.sim.event("u-menu2", "CLICK", EventKey="SOMETHING_NEW"))
    assert "入会" in unknown.text  # a button no handler knows still gets the help text


def test_every_button_of_the_shipped_menu_has_a_handler(bot: Bot) -> None:
    import yaml

    from handlers.commands import help_text

    menu = yaml.safe_load((KNOWLEDGE / "menu.yaml").read_text(encoding="utf-8"))
    buttons = [b for top in menu["button"] for b in top.get("sub_button", [top])]
    keys = [b["key"] for b in buttons if b.get("type") == "click"]
    assert keys
    for i, key in enumerate(keys):
        reply = bot.sim.post(bot.sim.event(f"u-button-{i}", "CLICK", EventKey=key)).text
        assert reply
        if key != "HELP":
            assert reply != help_text(bot.services.context()), key


def test_readiness_reports_store_and_database_and_liveness_does_not(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    bot.services.knowledge.matcher()
    ok = bot.app.test_client().get("/readyz")
    assert ok.status_code == 200 and ok.json == {"knowledge": "ok", "store": "ok", "database": "ok"}
    (tmp_path / "down").mkdir()
    down = Bot(tmp_path / "down", store_url="redis://127.0.0.1:1/0").app.test_client()
    assert down.get("/healthz").status_code == 200  # alive: restarting it would not bring Redis back
    assert down.get("/readyz").status_code == 503 and down.get("/readyz").json["store"] == "unreachable"
