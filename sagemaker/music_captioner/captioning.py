"""Batched captioning of this instance's windows, with the loop guard's second try."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from .contract import WindowJob, load_window
from .decoding import Decoding, first_attempt, retry_attempt
from .errors import CaptionJobError
from .loop_guard import judge
from .model import Captioner

# The schema wants a non-empty caption; this one is marked degenerate, so summaries leave it out.
NO_CAPTION = "(the model produced no caption)"

# Windows per forward pass when CAPTION_BATCH_SIZE does not say. On a CPU a larger batch gains little and holds
# more memory. On one H100 (sagemaker/gpu-check.sh, full-size BART, fp32; figures in sagemaker/README.md) batch
# 64 took 0.020 s per window on the first attempt against 0.030 s at 32 and 0.130 s at 8, peaking at 2.8 GiB
# of GPU memory, well inside the smallest GPU instance's 16 GiB.
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 64


def default_batch_size(device: str) -> int:
    return GPU_BATCH_SIZE if device == "cuda" else CPU_BATCH_SIZE


@dataclass(frozen=True)
class GenerationSettings:
    batch_size: Optional[int] = None  # None: by device (default_batch_size)
    num_beams: int = 5
    max_length: int = 128

    def first(self) -> Decoding:
        return first_attempt(self.num_beams, self.max_length)


def batches(jobs: Sequence[WindowJob], size: int) -> Iterator[Sequence[WindowJob]]:
    for start in range(0, len(jobs), size):
        yield jobs[start : start + size]


def _generate(captioner: Captioner, batch: np.ndarray, decoding: Decoding) -> list[str]:
    captions = captioner.generate(batch, decoding)
    if len(captions) != batch.shape[0]:
        raise CaptionJobError(f"the model returned {len(captions)} captions for {batch.shape[0]} windows")
    return [caption.strip() for caption in captions]


def guard_against_loops(
    captioner: Captioner,
    batch: np.ndarray,
    jobs: Sequence[WindowJob],
    captions: list[str],
    first: Decoding,
    log: Callable[[str], None],
) -> list[tuple[str, str, int]]:
    """(caption, quality, attempt) per window: looping ones are captioned again once, with different decoding,
    and marked degenerate if they still loop."""
    verdicts = [judge(caption) for caption in captions]
    looping = [position for position, verdict in enumerate(verdicts) if verdict.looping]
    results = [(caption, "ok", first.attempt) for caption in captions]
    if not looping:
        return results
    retry = retry_attempt(first)
    for position in looping:
        log(f"window {jobs[position].index} loops ({'; '.join(verdicts[position].reasons)}); trying {retry.describe()}")
    retried = _generate(captioner, batch[looping], retry)
    for position, caption in zip(looping, retried):
        verdict = judge(caption)
        if not verdict.looping:
            results[position] = (caption, "ok", retry.attempt)
            continue
        # Keep whichever try repeats itself less; either way the summary leaves it out.
        earlier = verdicts[position]
        if verdict.distinct_bigram_share >= earlier.distinct_bigram_share:
            kept, attempt = caption, retry.attempt
        else:
            kept, attempt = captions[position], first.attempt
        results[position] = (kept or NO_CAPTION, "degenerate", attempt)
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
    first = settings.first()
    batch_size = settings.batch_size or default_batch_size(captioner.device)
    for batch_jobs in batches(jobs, batch_size):
        batch = np.stack([load(job.path) for job in batch_jobs])
        captions = _generate(captioner, batch, first)
        guarded = guard_against_loops(captioner, batch, batch_jobs, captions, first, log)
        for job, (caption, quality, attempt) in zip(batch_jobs, guarded):
            entries.append(
                {
                    "index": job.index,
                    "startSec": job.start_sec,
                    "endSec": job.end_sec,
                    "caption": caption,
                    "quality": quality,
                    "attempt": attempt,
                }
            )
        done = len(entries)
        per_window = (clock() - started) / done
        log(f"captioned {done}/{len(jobs)} windows ({per_window:.2f} s per window)")
    return entries
