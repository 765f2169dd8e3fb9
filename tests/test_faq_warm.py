"""`unionbot faq warm`: the knowledge's embeddings computed at deploy, in the disk cache workers read."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


TINY_FAQ = """topic: 会费
entries:
  - id: dues.how
    question: 会费怎么交？
    similar:
      - 工会会费在哪交
    answer: |
      会费由单位代扣代缴。
"""


def test_warm_writes_the_embedding_cache(tmp_path: Path, semantic_model, monkeypatch) -> None:
    from bot.faq import semantic

    knowledge = tmp_path / "knowledge"
    (knowledge / "faq").mkdir(parents=True)
    (knowledge / "faq" / "dues.yaml").write_text(TINY_FAQ, encoding="utf-8")
    monkeypatch.setattr(semantic, "_memory", {})  # as in a fresh process: nothing embedded yet
    config = tmp_path / "config.toml"
    cache = tmp_path / "cache"
    config.write_text(f'[knowledge]\ndir = "{knowledge}"\nsemantic = "on"\ncache_dir = "{cache}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["faq", "warm", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warm: " in result.output
    assert list((tmp_path / "cache").glob("faq-embeddings-*.npy"))


def test_warm_says_when_there_is_nothing_to_warm(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[knowledge]\ndir = "{KNOWLEDGE}"\nsemantic = "off"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["faq", "warm", "--config", str(config)])
    assert result.exit_code == 0 and "nothing to warm" in result.output
