"""Spotting captions where BART's beam search went round in circles.

The student project this product redesigns published captions like "very first notes p p long notes long notes
long, children like notes …" (its report, section 8). Three symptoms mark them, and none shows up in the
model's good captions (upstream's README examples score 0.92 or more distinct bigrams, no bigram more than twice):
- the same word three times in a row, or a phrase of two to four words twice in a row ("long notes long notes");
- one bigram four or more times ("first notes" five times);
- a low share of distinct bigrams (0.77 and 0.82 in the report's two looping captions).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# Measured on upstream's README captions (≥ 0.92) and the report's looping ones (0.77, 0.82).
MIN_DISTINCT_BIGRAM_SHARE = 0.85
# Below this many bigrams a share says little: "a piano a piano" is caught by the back-to-back rule instead.
MIN_BIGRAMS_FOR_SHARE = 8
MAX_BIGRAM_REPEATS = 3
MAX_SAME_WORD_RUN = 2
LONGEST_PHRASE_CHECKED = 4

# What the second try adds to the generation call (Hugging Face generate() arguments).
RETRY_GENERATION = {"no_repeat_ngram_size": 3, "repetition_penalty": 1.2}

_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class LoopVerdict:
    looping: bool
    reasons: tuple[str, ...]
    distinct_bigram_share: float


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_bigram_share(words: list[str]) -> float:
    bigrams = list(zip(words, words[1:]))
    if not bigrams:
        return 1.0
    return len(set(bigrams)) / len(bigrams)


def _longest_same_word_run(words: list[str]) -> tuple[int, str]:
    longest, run, word = 0, 0, ""
    for position, current in enumerate(words):
        run = run + 1 if position > 0 and current == words[position - 1] else 1
        if run > longest:
            longest, word = run, current
    return longest, word


def _back_to_back_phrase(words: list[str]) -> str | None:
    """A phrase of 2..LONGEST_PHRASE_CHECKED words immediately followed by itself, if any."""
    for size in range(2, LONGEST_PHRASE_CHECKED + 1):
        for start in range(len(words) - 2 * size + 1):
            phrase = words[start : start + size]
            if phrase == words[start + size : start + 2 * size]:
                return " ".join(phrase)
    return None


def judge(text: str) -> LoopVerdict:
    """Whether a caption loops, and why (the reasons go to the job's log)."""
    words = words_of(text)
    share = distinct_bigram_share(words)
    reasons = []
    if not words:
        reasons.append("no words")
    run, word = _longest_same_word_run(words)
    if run > MAX_SAME_WORD_RUN:
        reasons.append(f'"{word}" {run} times in a row')
    phrase = _back_to_back_phrase(words)
    if phrase is not None:
        reasons.append(f'"{phrase}" twice in a row')
    bigram_counts = Counter(zip(words, words[1:]))
    if bigram_counts:
        (first, second), count = bigram_counts.most_common(1)[0]
        if count > MAX_BIGRAM_REPEATS:
            reasons.append(f'"{first} {second}" {count} times')
    if len(words) - 1 >= MIN_BIGRAMS_FOR_SHARE and share < MIN_DISTINCT_BIGRAM_SHARE:
        reasons.append(f"only {share:.0%} distinct bigrams")
    return LoopVerdict(looping=bool(reasons), reasons=tuple(reasons), distinct_bigram_share=share)
