"""The matcher's settings come from the validated config: ``[knowledge] semantic`` and
``[knowledge] cache_dir``, overridable as UNIONBOT_KNOWLEDGE_SEMANTIC / UNIONBOT_KNOWLEDGE_CACHE_DIR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import ConfigError, load_config
from bot.faq.knowledge import Entry, Knowledge
from bot.faq.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]


def test_semantic_and_cache_dir_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[knowledge]\nsemantic = "on"\ncache_dir = "/var/cache/unionbot"\n', encoding="utf-8")
    cfg = load_config(path, environ={})
    assert cfg.knowledge.semantic_switch is True and cfg.knowledge.cache_dir == "/var/cache/unionbot"
    cfg = load_config(path, environ={"UNIONBOT_KNOWLEDGE_SEMANTIC": "off", "UNIONBOT_KNOWLEDGE_CACHE_DIR": "/tmp/x"})
    assert cfg.knowledge.semantic_switch is False and cfg.knowledge.cache_dir == "/tmp/x"
    defaults = load_config(None, environ={})
    assert defaults.knowledge.semantic_switch is None and defaults.knowledge.cache_dir == ""
    with pytest.raises(ConfigError, match="knowledge.semantic"):
        load_config(None, environ={"UNIONBOT_KNOWLEDGE_SEMANTIC": "maybe"})


def test_the_old_environment_switch_is_gone(monkeypatch: pytest.MonkeyPatch, semantic_model) -> None:
    """UNIONBOT_SEMANTIC no longer reaches into the matcher: the config decides."""
    monkeypatch.setenv("UNIONBOT_SEMANTIC", "off")
    k = Knowledge.from_entries([Entry(id="a", question="怎么入会？", answer="在公众号申请。")])
    assert Matcher(k).semantic is not None


@pytest.mark.parametrize(("setting", "semantic"), [("off", False), ("on", True)])
def test_faq_try_follows_the_configured_switch(setting: str, semantic: bool, monkeypatch: pytest.MonkeyPatch,
                                               request: pytest.FixtureRequest) -> None:
    if semantic:
        request.getfixturevalue("semantic_model")
    monkeypatch.delenv("UNIONBOT_CONFIG", raising=False)
    monkeypatch.setenv("UNIONBOT_KNOWLEDGE_SEMANTIC", setting)
    result = CliRunner().invoke(main, ["faq", "try", "怎么入会", "--knowledge", str(ROOT / "knowledge"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["semantic"] is semantic


def test_embeddings_are_cached_in_the_configured_folder(tmp_path: Path, semantic_model) -> None:
    # texts no other test embeds, so nothing is remembered in memory and the disk cache is written
    k = Knowledge.from_entries([Entry(id="a", question=f"怎么入会{tmp_path.name}？", answer=f"在公众号申请{tmp_path.name}。")])
    Matcher(k, semantic=True, cache_dir=str(tmp_path / "cache"))
    # one file for the phrasings, one for the answers
    assert len(list((tmp_path / "cache").glob("faq-embeddings-*.npy"))) == 2
