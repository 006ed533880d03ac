"""The decoding attempts: every generate() setting spelled out, and a second attempt that forbids the report's loops."""

import re

import pytest

from music_captioner.decoding import first_attempt, retry_attempt
from music_captioner.loop_guard import judge
from music_captioner.testing import _repeats_an_ngram
from test_loop_guard import REPORT_LOOPING

IDS = {"bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "decoder_start_token_id": 2}


def test_the_first_attempt_spells_out_what_bart_base_s_config_used_to_add():
    # Act
    arguments = first_attempt(num_beams=5, max_length=128).generate_arguments(**IDS)
    # Assess
    assert arguments == {
        "num_beams": 5,
        "max_length": 128,
        "min_length": 2,
        "no_repeat_ngram_size": 3,
        "repetition_penalty": 1.0,
        "length_penalty": 1.0,
        "early_stopping": True,
        "do_sample": False,
        "num_return_sequences": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
        "decoder_start_token_id": 2,
        "forced_bos_token_id": 0,
        "forced_eos_token_id": 2,
    }


def test_the_retry_samples_from_a_fixed_seed_with_a_stronger_penalty_and_a_shorter_limit():
    # Act
    retry = retry_attempt(first_attempt(num_beams=5, max_length=128))
    arguments = retry.generate_arguments(**IDS)
    # Assess
    assert (retry.attempt, retry.seed) == (2, 2023)
    assert {key: arguments[key] for key in ("do_sample", "top_p", "top_k", "num_beams", "no_repeat_ngram_size")} == {
        "do_sample": True,
        "top_p": 0.9,
        "top_k": 0,
        "num_beams": 1,
        "no_repeat_ngram_size": 2,
    }
    assert arguments["repetition_penalty"] > 1.0 and arguments["max_length"] == 80
    assert (arguments["forced_bos_token_id"], arguments["forced_eos_token_id"]) == (0, 2)


def test_a_short_first_limit_is_not_lengthened_by_the_retry():
    # Act / Assess
    assert retry_attempt(first_attempt(num_beams=5, max_length=40)).max_length == 40


@pytest.mark.parametrize("caption", REPORT_LOOPING)
def test_the_retry_forbids_the_loops_of_the_reports_captions(caption):
    # Prepare: words and punctuation apart, as BART's byte-level BPE gives " notes" and "," a token each
    tokens = re.findall(r"\w+|[^\w\s]", caption.lower())
    retry = retry_attempt(first_attempt(5, 128))
    # Act
    cut = next(end for end in range(len(tokens)) if _repeats_an_ngram(tokens[: end + 1], retry.no_repeat_ngram_size))
    # Assess: the retry would have had to leave the caption within its first dozen tokens, before any loop
    assert cut < 12
    assert not judge(" ".join(tokens[:cut])).looping
