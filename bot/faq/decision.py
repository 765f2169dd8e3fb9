"""The answer decision: a small logistic model of "the best entry is right and the question is in scope".

Its coefficients and threshold are data, not code: ``decision.json`` next to this module, written
by ``bench/calibrate_matcher.py`` (which also records when and on which case sets they were
fitted). There are two models: the lexical one, and its twin used with the optional meaning signal.

The lexical model's first feature is the old hand rule (answer when evidence >= 1.4 or coverage
>= 0.75, coverage >= 0.2, runner-up <= 0.75 x best); the others let clear cases through that
the rule's hard cuts miss and hold back weak ones it lets through. The semantic model leaves
the rule out (it made the model overconfident) and adds whether the entry chosen by the fused
ranking is also the closest in meaning, its cosine, and its cosine lead over the next closest
entry. Both are fitted L2-regularised on standardised features, folded back into raw
coefficients; the threshold is the lowest at which leave-entries-out cross-validation keeps
wrong <= 2 % and oos_rejected >= 92 % (README, "Matcher").
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

DECISION_FILE = Path(__file__).with_name("decision.json")

DECISION_FEATURES = ("rule", "evidence", "ratio", "phrase", "unknown", "novel")
"""What the lexical decision sees of a question and its best entry (see :func:`decision_features`)."""
SEMANTIC_FEATURES = DECISION_FEATURES[1:] + ("agree", "meaning", "meaning_margin")
"""With the optional meaning signal: the lexical features but the hand rule, then the meaning ones."""

RULE = (1.4, 0.75, 0.2, 0.75)
"""The hand rule of the first lexical feature: evidence, full coverage, least coverage, runner-up ratio."""
NOVEL_CAP = 2.0
"""More than two unknown modifying words say no more than two do: the feature is capped here."""
LOGIT_CLAMP = 30.0
"""|z| beyond this is certainty either way; the clamp keeps math.exp from overflowing."""


@dataclass(frozen=True)
class DecisionModel:
    """One fitted decision, as ``bench/calibrate_matcher.py`` wrote it."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    """Least modelled probability that the best entry is right for a direct answer."""
    fitted: str
    """The date of the fit (ISO)."""
    cases: tuple[tuple[str, str], ...]
    """(knowledge folder, cases file) pairs fitted on, relative to the repository."""
    holdout: tuple[tuple[str, str], ...]
    """Pairs scored only after the fit, never used for it."""
    note: str = ""
    """What the case sets alone do not say: the knowledge as it was then, held-out figures."""

    @classmethod
    def from_dict(cls, raw: dict) -> DecisionModel:
        model = cls(features=tuple(raw["features"]), weights=tuple(float(w) for w in raw["weights"]),
                    bias=float(raw["bias"]), threshold=float(raw["threshold"]), fitted=str(raw["fitted"]),
                    cases=tuple(tuple(p) for p in raw.get("cases", ())),
                    holdout=tuple(tuple(p) for p in raw.get("holdout", ())), note=str(raw.get("note", "")))
        if len(model.weights) != len(model.features):
            raise ValueError(f"{DECISION_FILE.name}: {len(model.weights)} weights for {len(model.features)} features")
        return model

    def to_dict(self) -> dict:
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias,
                "threshold": self.threshold, "fitted": self.fitted,
                "cases": [list(p) for p in self.cases], "holdout": [list(p) for p in self.holdout],
                "note": self.note}


def load_models(path: Path = DECISION_FILE) -> dict[str, DecisionModel]:
    """The fitted models by name (``lexical``, ``semantic``), checked against the feature lists."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    models = {name: DecisionModel.from_dict(raw[name]) for name in ("lexical", "semantic")}
    for name, names in (("lexical", DECISION_FEATURES), ("semantic", SEMANTIC_FEATURES)):
        if models[name].features != names:
            raise ValueError(f"{path.name}: the {name} model's features are {models[name].features}, "
                             f"the matcher computes {names}: re-fit with bench/calibrate_matcher.py")
    return models


def save_models(models: dict[str, DecisionModel], path: Path = DECISION_FILE) -> None:
    path.write_text(json.dumps({name: m.to_dict() for name, m in models.items()}, ensure_ascii=False, indent=2)
                    + "\n", encoding="utf-8")


MODELS = load_models()
LEXICAL = MODELS["lexical"]
SEMANTIC = MODELS["semantic"]


def decision_features(comp: dict[str, float], ratio: float, unknown: float, novel: float
                      ) -> tuple[float, ...]:
    """The features of :data:`DECISION_FEATURES`, in that order.

    ``comp``: the best entry's components; ``ratio``: runner-up score / best score; ``unknown``:
    share of the question's term weight the knowledge never uses; ``novel``: its words the
    knowledge has never seen, right before a word it knows (:meth:`bot.faq.scope.Scope.novelty`).
    (A near miss, 爱奇艺+会员, stays a hard veto after the model.)
    """
    ev, cov = comp["evidence"], comp["coverage"]
    rule = (ev >= RULE[0] or cov >= RULE[1]) and cov >= RULE[2] and ratio <= RULE[3]
    return (1.0 if rule else 0.0, math.log1p(ev), ratio, max(comp["phrase"], comp["fuzzy"]), unknown,
            min(novel, NOVEL_CAP))


def answer_probability(features: tuple[float, ...], weights: tuple[float, ...] = LEXICAL.weights,
                       bias: float = LEXICAL.bias) -> float:
    z = bias + sum(w * x for w, x in zip(weights, features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-LOGIT_CLAMP, min(LOGIT_CLAMP, z))))
