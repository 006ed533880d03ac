"""A stand-in for the captioning model — a TEST DOUBLE, chosen only with `--backend stub`.

It lets the tests (pytest here, jest through runtime/captioners/python.ts) run the whole job on a machine
without torch. Its captions are computed from the audio (loudness and strongest frequency), and it imitates the
one model behaviour the job must handle: on near-silent windows it loops like BART did in the student
project's report ("first notes" again and again, each time before a different word, so no three-word run repeats
and no_repeat_ngram_size=3 lets it through), until generation forbids repeated bigrams, which it honours.
"""

from __future__ import annotations

import numpy as np

from .contract import SAMPLE_RATE, WINDOW_SAMPLES
from .decoding import Decoding

NEAR_SILENCE_DBFS = -60.0
_LOOP_OPENING = ("a", "quiet", "passage", "of")
_LOOP_PHRASE = ("first", "notes")
_LOOP_FILLERS = ("long", "p", "soft", "deep", "child", "very", "wide", "weird")


def level_dbfs(samples: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(-100.0, 20.0 * np.log10(rms)) if rms > 0 else -100.0


def strongest_frequency_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    spectrum[0] = 0.0  # a DC offset is not a pitch
    return float(np.argmax(spectrum)) * SAMPLE_RATE / samples.size


def _repeats_an_ngram(words: list[str], size: int) -> bool:
    """Whether the last `size` words already occurred earlier, as no_repeat_ngram_size forbids."""
    if size <= 0 or len(words) < size:
        return False
    last = words[-size:]
    return any(words[start : start + size] == last for start in range(len(words) - size))


class StandInCaptioner:
    """Implements model.Captioner without a neural network. Test double: never use it for real captions."""

    backend = "stub"
    model = "stand-in test double (not LP-MusicCaps)"
    device = "cpu"

    def __init__(self) -> None:
        self.calls: list[Decoding] = []
        self.batches: list[np.ndarray] = []

    def generate(self, batch: np.ndarray, decoding: Decoding) -> list[str]:
        if batch.ndim != 2 or batch.shape[1] != WINDOW_SAMPLES or batch.dtype != np.float32:
            raise ValueError(f"expected float32 (B, {WINDOW_SAMPLES}), got {batch.dtype} {batch.shape}")
        self.calls.append(decoding)
        self.batches.append(batch)
        return [self._caption(window, decoding.max_length, decoding.no_repeat_ngram_size) for window in batch]

    def _caption(self, window: np.ndarray, max_length: int, no_repeat: int) -> str:
        level = level_dbfs(window)
        if level > NEAR_SILENCE_DBFS:
            pitch = strongest_frequency_hz(window)
            return f"A sound centred near {pitch:.0f} Hz at {level:.0f} dBFS."
        words: list[str] = []
        position = 0
        cycle = len(_LOOP_PHRASE) + 1
        while len(words) < max_length:
            if position < len(_LOOP_OPENING):
                word = _LOOP_OPENING[position]
            else:
                turn, place = divmod(position - len(_LOOP_OPENING), cycle)
                word = _LOOP_PHRASE[place] if place < len(_LOOP_PHRASE) else _LOOP_FILLERS[turn % len(_LOOP_FILLERS)]
            if _repeats_an_ngram(words + [word], no_repeat):
                break  # this decoder knows no other word, so a forbidden one ends the caption
            words.append(word)
            position += 1
        return " ".join(words)
