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
prior odds justifies it; "lie" → "line" or "pen" → "open" are not taken). Only Latin words
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

        self._closest, self._all = Verbosity.CLOSEST, Verbosity.ALL
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
        if lower not in self._known:
            found = self._symspell.lookup(lower, self._closest, max_edit_distance=1)
            return found[0].term if found else lower
        count = self._general.get(lower, 0)
        if count >= RARE_WORD:
            return lower
        floor = REAL_WORD_ODDS * count
        likelier = [s.term for s in self._symspell.lookup(lower, self._all, max_edit_distance=1)
                    if s.distance == 1 and s.term in self._branch
                    and self._general.get(s.term, 0) >= floor]
        return max(likelier, key=self._branch.__getitem__) if likelier else lower

    def fix(self, text: str) -> str:
        return _WORD.sub(lambda m: self.word(m.group(0)), text)


def domain_words(texts: Iterable[str]) -> Counter[str]:
    """Lower-case Latin words of the seed utterances (the branch's vocabulary), counted."""
    return Counter(w.lower() for t in texts for w in _WORD.findall(t))
