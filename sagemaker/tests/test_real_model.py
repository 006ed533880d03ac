"""The real LP-MusicCaps model: runs only where torch, transformers and the lpmc package are installed.

Everywhere else (this project's CI, a plain Debian python) these tests are skipped, with the reason printed by
`pytest -rs`. The loading path is checked with freshly initialised weights saved the way upstream's training
saves them; set LPMC_WEIGHTS_DIR to a folder holding the real transfer.pth to caption real windows too.
"""

import os

import numpy as np
import pytest

from conftest import tone
from music_captioner.decoding import first_attempt
from music_captioner.model import extract_state_dict

NOT_HERE = "the real model needs {} (present in the image; absent on this machine)"


def test_extract_state_dict_takes_the_weights_out_of_a_training_checkpoint_and_drops_the_ddp_prefix():
    # Prepare
    checkpoint = {"epoch": 99, "optimizer": {"state": {}}, "state_dict": {"module.bart.w": 1, "module.audio.w": 2}}
    # Act
    state = extract_state_dict(checkpoint)
    # Assess
    assert state == {"bart.w": 1, "audio.w": 2}


def test_extract_state_dict_accepts_the_stripped_file_model_upload_writes():
    # Act / Assess
    assert extract_state_dict({"bart.w": 1}) == {"bart.w": 1}


@pytest.fixture(scope="module")
def upstream():
    torch = pytest.importorskip("torch", reason=NOT_HERE.format("torch"))
    pytest.importorskip("transformers", reason=NOT_HERE.format("transformers"))
    bart = pytest.importorskip("lpmc.music_captioning.model.bart", reason=NOT_HERE.format("LP-MusicCaps (lpmc)"))
    return torch, bart


def test_loads_a_training_checkpoint_and_captions_a_batch(upstream, tmp_path):
    # Prepare
    torch, bart = upstream
    from music_captioner.model import LpMusicCapsCaptioner

    network = bart.BartCaptionModel(max_length=128)
    state = {f"module.{key}": value for key, value in network.state_dict().items()}
    torch.save({"epoch": 0, "state_dict": state, "optimizer": {}}, tmp_path / "transfer.pth")
    batch = np.stack([tone(440, 0.5), tone(220, 0.25)])
    # Act
    captioner = LpMusicCapsCaptioner(str(tmp_path), device="cpu")
    captions = captioner.generate(batch, first_attempt(num_beams=2, max_length=8))
    # Assess
    assert len(captions) == 2 and all(isinstance(caption, str) for caption in captions)


def test_captions_real_windows_with_the_real_weights(upstream):
    # Prepare
    weights_dir = os.environ.get("LPMC_WEIGHTS_DIR")
    if not weights_dir:
        pytest.skip("set LPMC_WEIGHTS_DIR to a folder holding transfer.pth to caption with the real weights")
    from music_captioner.model import LpMusicCapsCaptioner

    captioner = LpMusicCapsCaptioner(weights_dir)
    # Act
    captions = captioner.generate(np.stack([tone(440, 0.5), tone(110, 0.5)]), first_attempt(num_beams=5, max_length=128))
    # Assess
    assert all(len(caption.split()) >= 3 for caption in captions), captions


def test_strip_checkpoint_keeps_only_the_weights(upstream, tmp_path):
    # Prepare
    torch, _ = upstream
    from music_captioner.strip_checkpoint import strip

    weights = {"module.layer.weight": torch.ones(256, 256)}
    optimizer = {"state": {0: {"exp_avg": torch.ones(256, 256), "exp_avg_sq": torch.ones(256, 256)}}}
    torch.save({"epoch": 3, "state_dict": weights, "optimizer": optimizer}, tmp_path / "full.pth")
    # Act
    report = strip(str(tmp_path / "full.pth"), str(tmp_path / "transfer.pth"))
    # Assess
    assert set(torch.load(tmp_path / "transfer.pth")) == {"layer.weight"}
    assert report["output_bytes"] < report["input_bytes"] / 2
