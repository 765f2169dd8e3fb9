"""The matcher's tunable weights and thresholds, in one place; the defaults are the calibrated ones."""

from __future__ import annotations

from dataclasses import dataclass

from bot.faq.decision import LEXICAL, SEMANTIC


@dataclass(frozen=True)
class Params:
    """Weights and thresholds; the defaults are the calibrated ones (README, "Matcher")."""

    answer_field: float = 0.6
    """How much a term found only in an entry's answer counts, against 1.0 in its phrasings."""
    synonym_field: float = 0.8
    """How much a term counts for an entry that uses only another word of its synonym group."""
    phrase_bonus: float = 2.0
    """Evidence is multiplied by (1 + phrase_bonus * best phrasing F1 + keyword_bonus * keyword hit)."""
    keyword_bonus: float = 0.3
    """See phrase_bonus: what one of the entry's keywords appearing in the question adds."""
    unknown_share: float = 0.25
    """How much the question's words the knowledge never uses count against coverage."""
    suggest_evidence: float = 0.55
    """Least evidence of the best entry for any suggestion; below it the outcome is none."""
    suggest_ratio: float = 0.45
    """A suggestion must score at least this share of the best one."""
    unknown_df: float = 0.5
    """The document frequency a never-seen term is weighed as (IDF log(1 + n / 0.5): rarer than any)."""
    shortlist: int = 12
    """How many entries, by summed term evidence, are scored in full (phrasings, fuzzy ratio)."""
    repair: bool = True
    """Repair pinyin typos before matching (:mod:`bot.faq.repair`)."""
    near_miss_veto: bool = True
    """No direct answer when an unknown word directly modifies a matched term (爱奇艺+会员)."""
    decision: str = "model"
    """Answer decision: "model" (the calibrated logistic model of :mod:`bot.faq.decision`; with the
    meaning signal, its semantic twin) or "rule" (the old hand thresholds on the lexical best entry)."""
    decision_weights: tuple[float, ...] = LEXICAL.weights
    """The lexical decision's coefficients, one per feature (``decision.json``)."""
    decision_bias: float = LEXICAL.bias
    """The lexical decision's intercept (``decision.json``)."""
    decision_threshold: float = LEXICAL.threshold
    """Least modelled probability that the best entry is right for a direct answer."""
    common_share: float = 0.6
    """Terms in more than this share of the entries only count towards coverage, not ranking."""
    narrative_weight: float = 0.3
    """How much a self-introduction or story clause (我是送快递的, 我昨天…) counts in a longer question."""
    context_weight: float = 1.0
    """How much a clause that asks nothing counts next to one that does (0.6 cost more than it gained)."""
    type_weight: float = 0.3
    """Weight of the kind of answer asked for (where, when, cost, phone, who) as a term, before IDF."""
    type_answer: float = 0.5
    """Strength of a kind of answer read from an entry's answer text (an address, hours) only."""
    concept_span: float = 0.75
    """A synonym-group word in the question (外卖骑手, 暖心服务站) is one concept, however many
    characters its canonical form has: its terms are scaled by (bigrams in it) ** -concept_span."""
    focus: float = 0.15
    """A term in more of an entry's phrasings is more central to it: phrasing strength is
    1 + focus * (share of its phrasings and keywords with the term - 0.5)."""
    function_bigram: float = 0.6
    """A bigram with a function character in it (的资, 了去, 证在, 要带) mostly straddles two words:
    when the knowledge uses it, it counts this much of a content bigram, however rare it is."""
    # -- semantic signal (used only when the optional embedding model is available) --
    sem_temperature: float = 0.01
    """The step of closeness in meaning that sem_weight is given for."""
    sem_weight: float = 0.4
    """Fused ranking: an entry's lexical score as a share of the best, plus sem_weight for every
    sem_temperature of closeness it is nearer in meaning than the closest entry (0.4 per 0.01 puts
    the right entry first most often on the evaluation sets, a plateau from 0.3 to 0.5)."""
    agree_none_evidence: float = 0.3
    """When the lexical best is also the closest in meaning, a suggestion (instead of none) needs
    only this much evidence, provided the question shares a key word with it or is at least
    agree_none_meaning close to it."""
    agree_none_meaning: float = 0.90
    """See agree_none_evidence: without a shared key word, weak evidence needs this closeness in
    meaning (外面气温多少 is near every heat-allowance entry in meaning, but shares no word of it)."""
    semantic_weights: tuple[float, ...] = SEMANTIC.weights
    """The semantic decision's coefficients, one per feature (``decision.json``)."""
    semantic_bias: float = SEMANTIC.bias
    """The semantic decision's intercept (``decision.json``)."""
    semantic_threshold: float = SEMANTIC.threshold
    """Least modelled probability for a direct answer with the meaning signal."""
    sem_suggest_margin: float = 1.5
    """With the meaning signal, a suggestion's fused score is at most this far below the first's
    (1.5: the whole lexical share plus about 0.01 of closeness)."""
    sem_shortlist: int = 5
    """The entries closest in meaning are scored in full too, even when no word ranks them high."""
    semantic_mix: tuple[float, float, float] = (1.0, 0.5, 1.0)
    """An entry's closeness in meaning: weighted mean of the cosines of its closest phrasing, of
    its phrasings on average, and of its answer (see :class:`bot.faq.semantic.SemanticIndex`)."""
