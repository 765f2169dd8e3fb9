"""The fitted answer decision is data: bot/faq/decision.json, written by bench/calibrate_matcher.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.faq.decision import (
    DECISION_FEATURES,
    DECISION_FILE,
    SEMANTIC_FEATURES,
    answer_probability,
    load_models,
    save_models,
)
from bot.faq.params import Params


def test_the_shipped_models_are_the_matchers_defaults() -> None:
    models = load_models()
    lexical, semantic = models["lexical"], models["semantic"]
    assert lexical.features == DECISION_FEATURES and semantic.features == SEMANTIC_FEATURES
    p = Params()
    assert (p.decision_weights, p.decision_bias, p.decision_threshold) == (
        lexical.weights, lexical.bias, lexical.threshold)
    assert (p.semantic_weights, p.semantic_bias, p.semantic_threshold) == (
        semantic.weights, semantic.bias, semantic.threshold)
    for m in (lexical, semantic):
        assert m.fitted and m.cases and 0 < m.threshold < 1


def test_a_model_round_trips_through_the_file(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    models = load_models()
    save_models(models, path)
    assert load_models(path) == models


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    raw = json.loads(DECISION_FILE.read_text(encoding="utf-8"))
    raw["lexical"]["features"] = raw["lexical"]["features"][1:]
    raw["lexical"]["weights"] = raw["lexical"]["weights"][1:]
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="re-fit"):
        load_models(path)
    raw["lexical"]["weights"] = raw["lexical"]["weights"][1:]
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="weights"):
        load_models(path)


def test_the_probability_is_logistic_and_clamped() -> None:
    assert answer_probability((0.0,), (1.0,), 0.0) == 0.5
    assert answer_probability((1e6,), (1.0,), 0.0) == pytest.approx(1.0)
    assert answer_probability((-1e6,), (1.0,), 0.0) == pytest.approx(0.0)
