"""Batched captioning of this instance's windows, with the loop guard's second try."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .contract import WindowJob, load_window
from .errors import CaptionJobError
from .loop_guard import RETRY_GENERATION, judge
from .model import Captioner

# The schema wants a non-empty caption; this one is marked degenerate, so summaries leave it out.
NO_CAPTION = "(the model produced no caption)"


@dataclass(frozen=True)
class GenerationSettings:
    batch_size: int = 8
    num_beams: int = 5
    max_length: int = 128


def batches(jobs: Sequence[WindowJob], size: int) -> Iterator[Sequence[WindowJob]]:
    for start in range(0, len(jobs), size):
        yield jobs[start : start + size]


def _describe_retry() -> str:
    return ", ".join(f"{key}={value}" for key, value in RETRY_GENERATION.items())


def _generate(captioner: Captioner, batch: np.ndarray, settings: GenerationSettings, **generation: Any) -> list[str]:
    captions = captioner.generate(batch, settings.num_beams, settings.max_length, **generation)
    if len(captions) != batch.shape[0]:
        raise CaptionJobError(f"the model returned {len(captions)} captions for {batch.shape[0]} windows")
    return [caption.strip() for caption in captions]


def guard_against_loops(
    captioner: Captioner,
    batch: np.ndarray,
    jobs: Sequence[WindowJob],
    captions: list[str],
    settings: GenerationSettings,
    log: Callable[[str], None],
) -> list[tuple[str, str]]:
    """(caption, quality) per window: looping ones are captioned again once, and marked degenerate if they still loop."""
    verdicts = [judge(caption) for caption in captions]
    looping = [position for position, verdict in enumerate(verdicts) if verdict.looping]
    results = [(caption, "ok") for caption in captions]
    if not looping:
        return results
    for position in looping:
        log(f"window {jobs[position].index} loops ({'; '.join(verdicts[position].reasons)}); trying again with {_describe_retry()}")
    retried = _generate(captioner, batch[looping], settings, **RETRY_GENERATION)
    for position, caption in zip(looping, retried):
        verdict = judge(caption)
        if not verdict.looping:
            results[position] = (caption, "ok")
            continue
        # Keep whichever try repeats itself less; either way the summary leaves it out.
        first = verdicts[position]
        kept = caption if verdict.distinct_bigram_share >= first.distinct_bigram_share else captions[position]
        results[position] = (kept or NO_CAPTION, "degenerate")
        log(f"window {jobs[position].index} still loops ({'; '.join(verdict.reasons)}); marked degenerate")
    return results


def caption_windows(
    jobs: Sequence[WindowJob],
    captioner: Captioner,
    settings: GenerationSettings,
    log: Callable[[str], None],
    load: Callable[[str], np.ndarray] = load_window,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """CaptionEntry dicts (core/contract.ts) for the given windows, in index order."""
    entries: list[dict[str, Any]] = []
    started = clock()
    for batch_jobs in batches(jobs, settings.batch_size):
        batch = np.stack([load(job.path) for job in batch_jobs])
        captions = _generate(captioner, batch, settings)
        for job, (caption, quality) in zip(batch_jobs, guard_against_loops(captioner, batch, batch_jobs, captions, settings, log)):
            entries.append(
                {
                    "index": job.index,
                    "startSec": job.start_sec,
                    "endSec": job.end_sec,
                    "caption": caption,
                    "quality": quality,
                }
            )
        done = len(entries)
        per_window = (clock() - started) / done
        log(f"captioned {done}/{len(jobs)} windows ({per_window:.2f} s per window)")
    return entries
