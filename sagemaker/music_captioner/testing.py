"""A stand-in for the captioning model — a TEST DOUBLE, chosen only with `--backend stub`.

It lets the tests (pytest here, jest through runtime/captioners/python.ts) run the whole job on a machine
without torch. Its captions are computed from the audio (loudness and strongest frequency), and it imitates the
one model behaviour the job must handle: on near-silent windows it loops like BART did in the student
project's report, until generation forbids repeated n-grams (`no_repeat_ngram_size`), which it honours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .contract import SAMPLE_RATE, WINDOW_SAMPLES

NEAR_SILENCE_DBFS = -60.0
_LOOP_OPENING = ("a", "quiet", "passage", "of")
_LOOP_CYCLE = ("long", "soft", "notes")


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

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def generate(self, batch: np.ndarray, num_beams: int, max_length: int, **generation: Any) -> list[str]:
        if batch.ndim != 2 or batch.shape[1] != WINDOW_SAMPLES or batch.dtype != np.float32:
            raise ValueError(f"expected float32 (B, {WINDOW_SAMPLES}), got {batch.dtype} {batch.shape}")
        self.calls.append(
            {"windows": batch.shape[0], "num_beams": num_beams, "max_length": max_length, "generation": generation}
        )
        no_repeat = int(generation.get("no_repeat_ngram_size", 0))
        return [self._caption(window, max_length, no_repeat) for window in batch]

    def _caption(self, window: np.ndarray, max_length: int, no_repeat: int) -> str:
        level = level_dbfs(window)
        if level > NEAR_SILENCE_DBFS:
            pitch = strongest_frequency_hz(window)
            return f"A sound centred near {pitch:.0f} Hz at {level:.0f} dBFS."
        words: list[str] = []
        position = 0
        while len(words) < max_length:
            if position < len(_LOOP_OPENING):
                word = _LOOP_OPENING[position]
            else:
                word = _LOOP_CYCLE[(position - len(_LOOP_OPENING)) % len(_LOOP_CYCLE)]
            if _repeats_an_ngram(words + [word], no_repeat):
                break  # this decoder knows no other word, so a forbidden one ends the caption
            words.append(word)
            position += 1
        return " ".join(words)
