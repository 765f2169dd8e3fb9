"""Issue #12, the protocol, store and API half: each hole as it was reproduced, now closed.

Black-box through /wechat (signed XML in, reply out) on fakeredis and the real Redis, with the
registry on SQLite; outages are real unreachable ports.
"""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.ids import nth_id
from test_privacy_store import ID, PHONE, QUESTION, assert_no_full_number, raw_values
from test_signup_e2e import DEAD_REDIS, SignupBot, phone

from bot import redact
from bot.cli import main
from bot.config import (
    Config,
    ConfigError,
    DatabaseConfig,
    RegistryConfig,
    StoreConfig,
    WechatConfig,
    load_config,
)
from bot.services import Services
from bot.signup.privacy import generate_key, mask_numbers
from bot.storage.store import Store
from bot.web.webhook import DEGRADED_TEXT
from bot.wechat import protocol
from bot.wechat.api import TOKEN_KEY, WechatApi, WechatApiError
from bot.wechat.simulator import Simulator

APP_SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
ACCESS_TOKEN = "ACCESS_TOKEN_0123456789abcdefghijklmnop"


def dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["fakeredis", "redis"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SignupBot]:
    url = request.getfixturevalue("real_redis_url") if request.param == "redis" else f"memory://sec-{uuid.uuid4().hex}"
    bot = SignupBot(tmp_path, f"sqlite:///{tmp_path / 'registry.db'}", url, key_prefix=f"sec-{uuid.uuid4().hex[:12]}:")
    yield bot
    bot.close()


# -- the retry cache is per sender --------------------------------------------------------------------


def test_a_msgid_from_another_sender_gets_that_senders_own_answer(bot: SignupBot) -> None:
    card = bot.sign_up("o-member")
    assert "【工会会员卡】" in card
    bot.clock.tick()
    mine = bot.post(bot.sim.text("o-member", "我的会员", msg_id=555_000_111)).text
    assert "【工会会员卡】" in mine
    other = bot.post(bot.sim.text("o-other", "帮助", msg_id=555_000_111)).text
    assert "【工会会员卡】" not in other and "会员编号" not in other
    assert other == bot.say("o-third", "帮助")
    # and each sender's own retry still gets its first reply without running the handler again
    routed = len(bot.routed)
    assert bot.post(bot.sim.text("o-other", "帮助", msg_id=555_000_111)).text == other
    assert len(bot.routed) == routed


# -- a signed query string cannot be replayed with another body -------------------------------------------


def test_a_replayed_signed_query_with_another_body_is_refused(bot: SignupBot) -> None:
    bot.sign_up("o-victim")
    bot.clock.tick()
    params, body = bot.sim.query(bot.sim.text("o-attacker", "帮助"))
    first = bot.sim.post(body, params)
    assert first.status == 200
    routed = len(bot.routed)
    forged = bot.sim.text("o-victim", "我的会员")
    refused = bot.sim.post(forged, params)
    assert refused.status == 403 and b"replayed" in refused.body
    assert len(bot.routed) == routed  # nothing was handled
    again = bot.sim.post(body, params)  # the same body: WeChat's retry
    assert again.status == 200 and again.body == first.body


def test_in_safe_mode_a_replay_with_another_body_is_refused_too(bot: SignupBot) -> None:
    wechat = WechatConfig(token="e2e-token", app_id="wx1234567890abcdef", mode="safe",
                          encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    bot.services.config = replace(bot.config, wechat=wechat)
    sim = Simulator(wechat, bot.sim.transport, clock=bot.clock)
    params, body = sim.query(sim.text("o-a", "帮助"))
    first = sim.post(body, params)
    _, other_body = sim.query(sim.text("o-b", "我的会员"))
    assert sim.post(other_body, params).status == 403
    again = sim.post(body, params)  # sealed with a fresh nonce, so compare what it says
    assert again.status == 200 and again.text == first.text and "入会" in first.text


def test_with_redis_down_the_webhook_answers_and_skips_the_replay_check(
        bot: SignupBot, caplog: pytest.LogCaptureFixture) -> None:
    """Documented choice (webhook._refuse_replay): an outage must not silence the bot; without Redis
    no flow starts and nothing is written, so a replay can only get what needs no conversation."""
    bot.services.store = Store.from_url(DEAD_REDIS, prefix=bot.config.store.key_prefix)
    params, body = bot.sim.query(bot.sim.text("o-a", "帮助"))
    with caplog.at_level(logging.WARNING):
        first = bot.sim.post(body, params)
        other = bot.sim.post(bot.sim.text("o-b", "帮助"), params)
    assert first.status == other.status == 200 and "入会" in first.text
    assert "replay check skipped" in caplog.text


# -- signatures are compared in constant time ------------------------------------------------------------


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = protocol.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(protocol.hmac, "compare_digest", spy)
    wechat = WechatConfig(token="t0ken", app_id="wx1234567890abcdef", mode="safe",
                          encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    sim = Simulator(wechat, transport=lambda *a: (200, b""), clock=lambda: 1_790_000_000)
    params, body = sim.query(sim.text("o-a", "帮助"))
    query = protocol.Query.from_args(params)
    assert "帮助" in protocol.open_message(wechat, query, body.encode(), 1_790_000_000)
    assert [b.decode() for _, b in compared] == [params["signature"], params["msg_signature"]]
    for bad in ({"signature": "0" * 40}, {"msg_signature": "0" * 40}):
        with pytest.raises(protocol.ProtocolError) as refused:
            protocol.open_message(wechat, protocol.Query.from_args(dict(params, **bad)), body.encode(), 1_790_000_000)
        assert refused.value.status == 403


# -- secrets never reach an error text or a log line ---------------------------------------------------------


def dead_api(store: Store) -> WechatApi:
    return WechatApi(WechatConfig(app_id="wx-sec", app_secret=APP_SECRET, api_base=f"http://127.0.0.1:{dead_port()}",
                                  api_timeout=2.0), store)


def test_an_api_failure_names_neither_the_app_secret_nor_the_access_token(store: Store) -> None:
    api = dead_api(store)
    with pytest.raises(WechatApiError) as token_failure:
        api.access_token()
    assert APP_SECRET not in str(token_failure.value) and "[REDACTED]" in str(token_failure.value)
    store.set_value(TOKEN_KEY, ACCESS_TOKEN)
    with pytest.raises(WechatApiError) as call_failure:
        api.send_text("o-worker", "你好")
    assert ACCESS_TOKEN not in str(call_failure.value) and "Connection" in str(call_failure.value)


def test_a_failed_customer_service_message_logs_no_secret(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    services = Services(config=Config(), store=store, registry=None, wechat=dead_api(store))  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO):
        services.send_later("o-worker", "已为您转接")
        services._sender.shutdown(wait=True)
    assert "customer-service message to o-worker failed" in caplog.text
    assert APP_SECRET not in caplog.text


@pytest.fixture
def restore_log_records() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def test_installed_redaction_scrubs_every_configured_secret_from_messages_and_tracebacks(
        restore_log_records: None) -> None:
    id_key, old_key = generate_key(), generate_key()
    config = Config(
        wechat=WechatConfig(token="sign-token-42", app_id="wx-sec", app_secret=APP_SECRET,
                            encoding_aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", mode="safe"),
        store=StoreConfig(url="redis://:redis-pass-1@127.0.0.1:6379/0"),
        database=DatabaseConfig(url="postgresql+psycopg://bot:db%40pass-9@db.local:5432/unionbot"),
        registry=RegistryConfig(id_key=id_key, old_id_keys=(old_key,)),
    )
    redact.install(config)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("config %s %s %s", APP_SECRET, config.wechat.encoding_aes_key, id_key)
        logger.error("url http://x/cgi-bin/token?appid=wx&secret=%s&grant_type=x", "not-configured-secret")
        logger.warning("worker typed %s and %s", ID, PHONE)
        try:
            raise RuntimeError(f"connect failed: {config.database.url} {old_key} token=sign-token-42 redis-pass-1")
        except RuntimeError:
            logger.exception("database")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    for secret in (APP_SECRET, config.wechat.encoding_aes_key, id_key, old_key, "sign-token-42", "db@pass-9",
                   "db%40pass-9", "redis-pass-1", "not-configured-secret", ID, PHONE):
        assert secret not in text, secret
    assert "Traceback" in text and "[REDACTED]" in text and "138****5678" in text


@pytest.mark.parametrize(("text", "hidden"), [
    ("GET /cgi-bin/token?grant_type=client_credential&appid=wx&secret=s3cr3t-value (Caused by …)", "s3cr3t-value"),
    ('{"access_token": "tok-123456", "expires_in": 7200}', "tok-123456"),
    ("POST /cgi-bin/message/custom/send?access_token=tok-123456 HTTP/1.1", "tok-123456"),
    ("client_secret=cs-987654&x=1", "cs-987654"),
    ("redis://:pa55word@10.0.0.5:6379/0", "pa55word"),
])
def test_credentials_are_redacted_by_their_shape(text: str, hidden: str) -> None:
    assert hidden not in redact.redact(text) and "[REDACTED]" in redact.redact(text)


def test_the_cli_installs_the_redaction(tmp_path: Path, restore_log_records: None) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[wechat]\napp_id = "wx-sec"\napp_secret = "{APP_SECRET}"\n'
                           f'[store]\nurl = "memory://{uuid.uuid4().hex}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["faq", "gaps", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    record = logging.getLogger("test.cli").makeRecord("test.cli", logging.INFO, "f", 1, "s=%s", (APP_SECRET,), None)
    assert APP_SECRET not in record.getMessage()


# -- no full number in any Redis value, nor in faq gaps ----------------------------------------------------------


def test_a_signup_paused_at_its_summary_leaves_no_full_number_in_redis(bot: SignupBot) -> None:
    summary = bot.to_summary("o-paused", n=7)
    assert phone(7) not in summary and nth_id(7) not in summary
    values = raw_values(bot.services.store)
    assert any(b"<xml>" in v for v in values)  # the reply remembered for retries is among them
    for value in values:
        assert phone(7).encode() not in value and nth_id(7).encode() not in value
    assert bot.state("o-paused")["join"]["step"] == "summary"  # and the signup resumes from it
    assert "提交成功" in bot.say("o-paused", "确认")


def test_faq_gaps_shows_numbers_masked(bot: SignupBot, tmp_path: Path) -> None:
    reply = bot.say("o-asker", QUESTION)  # the words: a numbered list of guesses
    assert "回复数字" in reply and ID not in reply and PHONE not in reply
    assert "没找到答案" in bot.say("o-asker", "我家猫不吃饭怎么办")  # moved on: both recorded
    assert_no_full_number(raw_values(bot.services.store))
    config_file = tmp_path / "gaps.toml"
    config_file.write_text(f'[store]\nurl = "{bot.config.store.url}"\nkey_prefix = "{bot.config.store.key_prefix}"\n',
                           encoding="utf-8")
    result = CliRunner().invoke(main, ["faq", "gaps", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    assert f"{mask_numbers(QUESTION)}  [给了列表但没选]" in result.output
    assert "我家猫不吃饭怎么办  [没找到答案]" in result.output
    assert ID not in result.output.upper() and PHONE not in result.output


# -- the maintenance text and the retention keys ---------------------------------------------------------------


def test_the_maintenance_text_promises_nothing_redis_cannot_keep() -> None:
    assert "不会丢" not in DEGRADED_TEXT and "重新填写" in DEGRADED_TEXT


def test_retention_of_unanswered_questions_is_configured_and_validated(tmp_path: Path) -> None:
    config = load_config(environ={"UNIONBOT_STORE_GAPS_MAX_AGE": "86400", "UNIONBOT_STORE_GAPS_MAX_COUNT": "10",
                                  "UNIONBOT_STORE_GAPS_HISTORY_MAX": "20"})
    assert (config.store.gaps_max_age, config.store.gaps_max_count, config.store.gaps_history_max) == (86400, 10, 20)
    store = Store.from_config(config)
    assert (store.gaps.max_age, store.gaps.max_count, store.gaps.history_max) == (86400, 10, 20)
    for key in ("GAPS_MAX_AGE", "GAPS_MAX_COUNT", "GAPS_HISTORY_MAX"):
        with pytest.raises(ConfigError, match=key.lower()):
            load_config(environ={f"UNIONBOT_STORE_{key}": "0"})
