"""Batching and the loop guard's second try, with test doubles in place of BART."""

import numpy as np
import pytest

from conftest import hiss, tone, write_song
from music_captioner import contract
from music_captioner.captioning import CPU_BATCH_SIZE, GPU_BATCH_SIZE, GenerationSettings, caption_windows
from music_captioner.decoding import RETRY_NO_REPEAT_NGRAM_SIZE, first_attempt
from music_captioner.errors import CaptionJobError
from music_captioner.testing import StandInCaptioner
from test_loop_guard import REPORT_LOOPING, SOUND


class ReplayingCaptioner:
    """Test double: answers each call with the next list of captions it was given, recording the calls."""

    backend = "test"
    model = "replaying test double"

    def __init__(self, answers, device="cpu"):
        self.answers = list(answers)
        self.device = device
        self.calls = []

    def generate(self, batch, decoding):
        self.calls.append({"windows": batch.shape[0], "decoding": decoding})
        return self.answers.pop(0)


def plan(tmp_path, windows, duration_sec=None):
    windows_dir, manifest_path = write_song(tmp_path, windows, duration_sec)
    manifest = contract.load_manifest(str(manifest_path))
    return contract.plan_windows(manifest, str(windows_dir), contract.list_window_files(str(windows_dir)))


def test_captions_every_window_in_batches_of_the_configured_size(tmp_path):
    # Prepare
    jobs = plan(tmp_path, [tone(110 * (i + 1), 0.5) for i in range(7)], duration_sec=67.5)
    captioner = StandInCaptioner()
    lines = []
    # Act
    entries = caption_windows(jobs, captioner, GenerationSettings(batch_size=3, num_beams=4, max_length=40), lines.append)
    # Assess
    assert [len(batch) for batch in captioner.batches] == [3, 3, 1]
    assert [call.attempt for call in captioner.calls] == [1, 1, 1]
    assert {(call.num_beams, call.max_length) for call in captioner.calls} == {(4, 40)}
    assert [entry["index"] for entry in entries] == list(range(7))
    assert ["near 110 Hz" in entries[0]["caption"], "near 770 Hz" in entries[6]["caption"]] == [True, True]
    assert (entries[6]["startSec"], entries[6]["endSec"]) == (57.5, 67.5)
    assert [line.split(" (")[0] for line in lines if line.startswith("captioned")] == [
        "captioned 3/7 windows",
        "captioned 6/7 windows",
        "captioned 7/7 windows",
    ]


def test_entries_follow_the_captions_schema(tmp_path, schema_validator):
    # Prepare
    jobs = plan(tmp_path, [tone(440, 0.5), hiss(1e-5)])
    # Act
    entries = caption_windows(jobs, StandInCaptioner(), GenerationSettings(), lambda line: None)
    # Assess
    schema_validator(entries, "captions.schema.json")


def test_a_looping_window_is_captioned_again_with_different_decoding_and_kept_when_clean(tmp_path):
    # Prepare
    jobs = plan(tmp_path, [tone(440, 0.5), hiss(1e-5), tone(220, 0.5)])
    captioner = StandInCaptioner()
    lines = []
    # Act
    entries = caption_windows(jobs, captioner, GenerationSettings(batch_size=8), lines.append)
    # Assess
    first, retry = captioner.calls
    assert (first.attempt, first.do_sample, first.num_beams, first.no_repeat_ngram_size) == (1, False, 5, 3)
    assert (retry.attempt, retry.do_sample, retry.num_beams) == (2, True, 1)
    assert retry.no_repeat_ngram_size == RETRY_NO_REPEAT_NGRAM_SIZE < first.no_repeat_ngram_size
    assert retry.repetition_penalty > first.repetition_penalty and retry.max_length < first.max_length
    assert retry.seed is not None
    assert [(entry["quality"], entry["attempt"]) for entry in entries] == [("ok", 1), ("ok", 2), ("ok", 1)]
    assert entries[1]["caption"].startswith("a quiet passage of first notes")
    assert any(line.startswith("window 1 loops") and "nucleus sampling" in line for line in lines)


def test_the_batch_size_follows_the_device_unless_set():
    # Prepare
    jobs = [contract.WindowJob(i, f"{i:05d}.npy", f"{i:05d}.npy", 10.0 * i, 10.0 * i + 10) for i in range(100)]

    def batch_sizes_on(device, settings):
        captioner = StandInCaptioner()
        captioner.device = device
        caption_windows(jobs, captioner, settings, lambda line: None, load=lambda path: tone(440, 0.5))
        return [len(call) for call in captioner.batches]

    # Act / Assess
    def batches_of(size):
        return [size] * (100 // size) + ([100 % size] if 100 % size else [])

    assert batch_sizes_on("cpu", GenerationSettings()) == batches_of(CPU_BATCH_SIZE)
    assert batch_sizes_on("cuda", GenerationSettings()) == batches_of(GPU_BATCH_SIZE)
    assert batch_sizes_on("cuda", GenerationSettings(batch_size=16)) == [16] * 6 + [4]


def test_a_window_that_still_loops_is_marked_degenerate(tmp_path):
    # Prepare
    jobs = plan(tmp_path, [tone(440, 0.5), tone(220, 0.5), tone(330, 0.5)])
    captioner = ReplayingCaptioner([[SOUND[0], REPORT_LOOPING[0], REPORT_LOOPING[1]], [REPORT_LOOPING[1], SOUND[1]]])
    lines = []
    # Act
    entries = caption_windows(jobs, captioner, GenerationSettings(), lines.append)
    # Assess
    assert [call["windows"] for call in captioner.calls] == [3, 2]
    assert [entry["quality"] for entry in entries] == ["ok", "degenerate", "ok"]
    assert [entries[0]["caption"], entries[2]["caption"]] == [SOUND[0], SOUND[1]]
    assert entries[2]["attempt"] == 2
    # Of two looping tries the one with more distinct bigrams stays (0.82 beats 0.77): the retry's.
    assert (entries[1]["caption"], entries[1]["attempt"]) == (REPORT_LOOPING[1], 2)
    assert any(line.startswith("window 1 still loops") for line in lines)


def test_an_empty_caption_becomes_a_degenerate_placeholder_the_schema_accepts(tmp_path, schema_validator):
    # Prepare
    jobs = plan(tmp_path, [tone(440, 0.5)])
    # Act
    entries = caption_windows(jobs, ReplayingCaptioner([[""], [" "]]), GenerationSettings(), lambda line: None)
    # Assess
    assert entries[0]["quality"] == "degenerate"
    schema_validator(entries, "captions.schema.json")


def test_a_model_that_loses_windows_fails_the_job(tmp_path):
    # Prepare
    jobs = plan(tmp_path, [tone(440, 0.5), tone(220, 0.5)])
    # Act / Assess
    with pytest.raises(CaptionJobError, match="returned 1 captions for 2 windows"):
        caption_windows(jobs, ReplayingCaptioner([[SOUND[0]]]), GenerationSettings(), lambda line: None)


def test_the_stand_in_refuses_batches_the_real_model_could_not_take():
    # Act / Assess
    with pytest.raises(ValueError, match="expected float32"):
        StandInCaptioner().generate(np.zeros((2, 16_000), dtype=np.float32), first_attempt(5, 128))
