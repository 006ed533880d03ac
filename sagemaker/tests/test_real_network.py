"""The job's real code path through torch and transformers' generate(), with a tiny random LP-MusicCaps-shaped BART.

Needs torch, transformers and tokenizers (the pyenv python3 has them in CI, installed offline by .ci/run). Where
they are missing the tests are skipped, unless CAPTION_REQUIRE_TORCH=1, which test/container-real-network.test.ts
sets so that CI fails instead. The weights are random, so the captions are made-up words that loop: what is
checked is that every setting the job passes reaches generate() and takes effect, on whatever transformers
version is installed.
"""

import json
import os

import numpy as np
import pytest

from conftest import hiss, tone, write_song

REQUIRED = os.environ.get("CAPTION_REQUIRE_TORCH") == "1"


def _import(name):
    if REQUIRED:
        return __import__(name)  # an ImportError fails the test: CI must have the real libraries
    return pytest.importorskip(name, reason=f"needs {name} (CAPTION_REQUIRE_TORCH=1 makes its absence a failure)")


@pytest.fixture(scope="module")
def torch():
    module = _import("torch")
    _import("transformers")
    _import("tokenizers")
    return module


@pytest.fixture()
def tiny_weights(torch, tmp_path):
    """A tiny network's weights saved as upstream's training saves transfer.pth (DDP prefix, optimizer)."""
    from music_captioner.random_bart import TINY, RandomLpMusicCapsNetwork

    network = RandomLpMusicCapsNetwork(TINY)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    state = {f"module.{key}": value for key, value in network.state_dict().items()}
    torch.save({"epoch": 3, "state_dict": state, "optimizer": {}}, model_dir / "transfer.pth")
    return model_dir


def _tiny_captioner(model_dir, spy=None):
    from music_captioner.model import LpMusicCapsCaptioner
    from music_captioner.random_bart import TINY, RandomLpMusicCapsNetwork

    captioner = LpMusicCapsCaptioner(
        str(model_dir), device="cpu", build_network=lambda: RandomLpMusicCapsNetwork(TINY, seed=1), model_name="tiny random BART"
    )
    if spy is not None:
        bart = captioner._network.bart
        generate = bart.generate

        def recording_generate(**arguments):
            tokens = generate(**arguments)
            spy.append((arguments, tokens.tolist()))
            return tokens

        bart.generate = recording_generate
    return captioner


def _repeated_ngram(tokens, size):
    grams = [tuple(tokens[start : start + size]) for start in range(len(tokens) - size + 1)]
    return len(grams) != len(set(grams))


def test_the_entrypoint_captions_every_window_through_generate_with_the_jobs_settings(tiny_weights, tmp_path, schema_validator):
    # Prepare
    from music_captioner.entrypoint import parse_settings, run_job

    windows_dir, manifest_path = write_song(tmp_path / "song", [tone(440, 0.5), hiss(1e-5), tone(110, 0.3)])
    argv = ["--windows-dir", str(windows_dir), "--manifest", str(manifest_path), "--model-dir", str(tiny_weights)]
    argv += ["--output-dir", str(tmp_path / "out"), "--resource-config", str(tmp_path / "none.json"), "--device", "cpu"]
    settings = parse_settings(argv, {"CAPTION_NUM_BEAMS": "2", "CAPTION_MAX_LENGTH": "24", "CAPTION_BATCH_SIZE": "2"})
    calls, lines = [], []
    # Act
    run_job(settings, lines.append, make_captioner=lambda job, in_sagemaker: _tiny_captioner(job.model_dir, calls))
    # Assess: the output
    captions = json.loads((tmp_path / "out" / "captions.json").read_text())
    schema_validator(captions, "captions.schema.json")
    assert [entry["index"] for entry in captions] == [0, 1, 2]
    assert all(entry["attempt"] in (1, 2) and entry["caption"] for entry in captions)
    assert any("loaded on cpu" in line and "batch size 2" in line for line in lines)
    # Assess: every first-attempt call got the job's settings, and they took effect
    first = [(arguments, tokens) for arguments, tokens in calls if not arguments["do_sample"]]
    assert [len(tokens) for _, tokens in first] == [2, 1]
    for arguments, tokens in first:
        assert (arguments["num_beams"], arguments["max_length"], arguments["no_repeat_ngram_size"]) == (2, 24, 3)
        for sequence in tokens:
            assert sequence[:2] == [2, 0]  # decoder start </s>, then the forced <s>
            assert len(sequence) <= 24
            assert not _repeated_ngram([token for token in sequence if token != 1], 3)


def test_the_retry_samples_reproducibly_and_forbids_repeated_bigrams(tiny_weights):
    # Prepare
    from music_captioner.decoding import first_attempt, retry_attempt

    calls = []
    captioner = _tiny_captioner(tiny_weights, calls)
    batch = np.stack([hiss(1e-5), tone(330, 0.4)])
    retry = retry_attempt(first_attempt(num_beams=2, max_length=24))
    # Act
    once = captioner.generate(batch, retry)
    again = captioner.generate(batch, retry)
    # Assess
    assert once == again
    for sequence in calls[0][1]:
        content = [token for token in sequence if token != 1]
        assert content[:2] == [2, 0] and not _repeated_ngram(content, 2)


def test_bf16_autocast_runs_the_same_path(tiny_weights):
    # Prepare
    from music_captioner.decoding import first_attempt
    from music_captioner.model import LpMusicCapsCaptioner
    from music_captioner.random_bart import TINY, RandomLpMusicCapsNetwork

    captioner = LpMusicCapsCaptioner(str(tiny_weights), device="cpu", precision="bf16", build_network=lambda: RandomLpMusicCapsNetwork(TINY))
    # Act
    captions = captioner.generate(np.stack([tone(440, 0.5)]), first_attempt(num_beams=2, max_length=12))
    # Assess
    assert len(captions) == 1 and captions[0]
