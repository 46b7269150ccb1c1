"""English spelling repair in front of the sentence encoder.

A typed "laon" or "cadr" is split by SentencePiece into pieces that mean nothing to the
encoder, which then guesses. SymSpell (``symspellpy``, with the English frequency list it
ships) finds the known word one edit away; the branch's own words (those of the seed
utterances, written with their counts to ``model/domain_words.txt`` at training) win ties
against general English, the more frequent branch word first, so "cadr" becomes "card"
rather than "car" and "deit" "debit" rather than "edit". A dropped letter often leaves a
rare real word ("ned", "ard", "hone"): a rare known word that is not a branch word becomes the
branch word one edit away when that word is at least ``REAL_WORD_ODDS`` times more common in
general English (noisy channel: a typo is rarer than either word, so only a large gap in
prior odds justifies it; "lie" → "line" or "pen" → "open" are not taken). Among the words one
edit away, the kind of edit counts too (:func:`typing_odds`): a left-out letter or two swapped
letters are the commonest slips, a substitution is almost always a neighbouring key, so
"thak" is "thank" (n left out), not "that" (k for t, far apart). Only Latin words
of three or more letters are touched; branch words, numbers and Chinese pass through. The
n-gram features still see the raw text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

_WORD = re.compile(r"(?<![A-Za-z'’])[A-Za-z]{3,}(?![A-Za-z'’])")  # not "aren" of "aren't"
DOMAIN_WEIGHT = 10**12  # per use in the seeds: above any general-English frequency
REAL_WORD_ODDS = 30  # how much more common a branch word must be to replace a known word
RARE_WORD = 3_500_000  # general-English count ("the": 23 billion) under which a known word
# may be a typo: "ned" 3.1 M, "hone" 0.9 M are; "chat" 84 M, "sad" 13 M, "hal" 4.9 M stay


_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_AT = {ch: (row, col + 0.5 * row) for row, keys in enumerate(_QWERTY)
           for col, ch in enumerate(keys)}  # each row sits half a key right of the one above
# Relative odds of the single-edit slips of a typist (omissions and transpositions most
# common; substitutions mostly hit a neighbouring key). Chosen on the training split.
LEFT_OUT, SWAPPED, EXTRA, NEIGHBOUR_KEY, FAR_KEY = 1.0, 1.0, 0.5, 0.5, 0.02


def _neighbours(a: str, b: str) -> bool:
    if a not in _KEY_AT or b not in _KEY_AT:
        return False
    (row_a, x_a), (row_b, x_b) = _KEY_AT[a], _KEY_AT[b]
    return abs(row_a - row_b) <= 1 and abs(x_a - x_b) <= 1.0


def typing_odds(typed: str, meant: str) -> float:
    """How likely a typist who meant ``meant`` types ``typed`` (one edit apart), relatively."""
    if len(meant) == len(typed) + 1:
        return LEFT_OUT
    if len(meant) == len(typed) - 1:
        return EXTRA
    diff = [i for i, (a, b) in enumerate(zip(typed, meant, strict=True)) if a != b]
    if len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == meant[diff[1]]:
        return SWAPPED
    if len(diff) == 1:
        return NEIGHBOUR_KEY if _neighbours(typed[diff[0]], meant[diff[0]]) else FAR_KEY
    return FAR_KEY * FAR_KEY  # not one edit: never preferred


class SpellingMissing(RuntimeError):
    """symspellpy (and its English dictionary) is not installed."""


class SpellingFixer:
    def __init__(self, domain_words: Mapping[str, int]):
        try:
            import symspellpy
            from symspellpy import SymSpell
        except ImportError:
            raise SpellingMissing("the intent model repairs English typos with symspellpy: "
                                  "pip install symspellpy") from None
        from symspellpy import Verbosity

        self._all = Verbosity.ALL
        self._symspell = SymSpell(max_dictionary_edit_distance=1, prefix_length=7)
        dictionary = Path(symspellpy.__file__).parent / "frequency_dictionary_en_82_765.txt"
        if not self._symspell.load_dictionary(str(dictionary), term_index=0, count_index=1):
            raise SpellingMissing(f"{dictionary} is missing: reinstall symspellpy")
        self._general = dict(self._symspell.words)  # general-English counts, before ours
        self._branch = dict(domain_words)
        for word, uses in domain_words.items():
            self._symspell.create_dictionary_entry(word, DOMAIN_WEIGHT * uses)
        self._known = self._symspell.words
        self._cache: dict[str, str] = {}

    @classmethod
    def from_file(cls, path: Path) -> SpellingFixer:
        if not path.exists():
            raise SpellingMissing(f"{path} not found: run `make train-intent`")
        words = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            word, _, uses = line.partition(" ")
            if word:
                words[word] = int(uses or 1)
        return cls(words)

    def word(self, word: str) -> str:
        lower = word.lower()
        if lower in self._branch or word.isupper():  # an acronym (CEO, BMW) is no typo
            return word
        fixed = self._cache.get(lower)
        if fixed is None:
            fixed = self._repair(lower)
            if len(self._cache) < 50_000:
                self._cache[lower] = fixed
        return word if fixed == lower else fixed

    def _repair(self, lower: str) -> str:
        known = lower in self._known
        count = self._general.get(lower, 0)
        if known and count >= RARE_WORD:  # a common word: no lookup needed
            return lower
        nearby = [s for s in self._symspell.lookup(lower, self._all, max_edit_distance=1)
                  if s.distance == 1]
        if not known:  # prior (branch words first) × odds of the slip
            best = max(nearby, key=lambda s: s.count * typing_odds(lower, s.term), default=None)
            return best.term if best else lower
        floor = REAL_WORD_ODDS * count
        likelier = [s.term for s in nearby
                    if s.term in self._branch and self._general.get(s.term, 0) >= floor]
        return max(likelier, key=lambda w: self._branch[w] * typing_odds(lower, w),
                   default=lower)

    def fix(self, text: str) -> str:
        return _WORD.sub(lambda m: self.word(m.group(0)), text)


def domain_words(texts: Iterable[str]) -> Counter[str]:
    """Lower-case Latin words of the seed utterances (the branch's vocabulary), counted."""
    return Counter(w.lower() for t in texts for w in _WORD.findall(t))
