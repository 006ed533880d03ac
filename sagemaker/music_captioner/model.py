"""The captioning model behind one small interface, so the job's logic is tested without torch.

The real one wraps LP-MusicCaps' BartCaptionModel (lpmc.music_captioning.model.bart, CC-BY-NC 4.0, installed
into the image from upstream at a pinned commit, never copied here) loaded from the state_dict that
`npm run model:upload` keeps of transfer.pth. torch, transformers and lpmc are imported only when it is built.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from .errors import InvalidInput, ModelUnavailable

if TYPE_CHECKING:  # numpy stays out of the probe's imports, which must run on a bare Python
    import numpy as np

WEIGHTS_FILE = "transfer.pth"
# The Dockerfile records which upstream commit it installed; the run summary names it.
UPSTREAM_COMMIT_ENV = "LPMC_COMMIT"
# Upstream's own generate() asks for at least two tokens; keeping it makes our captions match theirs.
MIN_CAPTION_TOKENS = 2


class Captioner(Protocol):
    """Anything that turns a batch of windows into one caption each."""

    backend: str
    model: str

    def generate(self, batch: np.ndarray, num_beams: int, max_length: int, **generation: Any) -> list[str]:
        """batch: float32 (B, 160000) of 16 kHz mono samples; returns B captions in the same order."""
        ...


def extract_state_dict(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The model weights of a transfer.pth, whether the full training checkpoint or the stripped one.

    Upstream saves {'epoch', 'state_dict', 'optimizer'}; weights saved from a DistributedDataParallel run
    carry a 'module.' prefix that the bare model does not expect.
    """
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping) or not state:
        raise ModelUnavailable("the weights file holds no state_dict")
    prefix = "module."
    if all(isinstance(key, str) and key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items()}
    return dict(state)


def resolve_device(requested: str, cuda_available: bool) -> str:
    if requested not in ("auto", "cpu", "cuda"):
        raise InvalidInput(f"--device must be auto, cpu or cuda, not {requested!r}")
    if requested == "cuda" and not cuda_available:
        raise ModelUnavailable("--device cuda was asked for, but torch sees no CUDA device")
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    return requested


def weights_path(model_dir: str) -> str:
    return os.path.join(model_dir, WEIGHTS_FILE)


def upstream_model_name() -> str:
    commit = os.environ.get(UPSTREAM_COMMIT_ENV, "").strip()
    name = "lp-music-caps/transfer (BART, facebook/bart-base)"
    return f"{name} @ {commit[:12]}" if commit else name


class LpMusicCapsCaptioner:
    """LP-MusicCaps' transfer model on CUDA when present, else CPU."""

    backend = "python"

    def __init__(self, model_dir: str, device: str = "auto", backend: str = "python") -> None:
        self.backend = backend
        self.model = upstream_model_name()
        path = weights_path(model_dir)
        if not os.path.isfile(path):
            raise ModelUnavailable(f"the weights are missing: {path} (npm run model:upload -- transfer.pth)")
        try:
            import torch
            from lpmc.music_captioning.model.bart import BartCaptionModel
        except ImportError as error:
            raise ModelUnavailable(f"cannot import the model code ({error})") from None

        self._torch = torch
        self.device = resolve_device(device, torch.cuda.is_available())
        try:
            # weights_only: transfer.pth is tensors, numbers and dicts, so nothing in it needs unpickling code.
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        except TypeError:  # torch < 1.13 has no weights_only
            checkpoint = torch.load(path, map_location="cpu")
        except Exception as error:
            raise ModelUnavailable(f"cannot read {path} ({str(error)[:300]})") from None
        # BartCaptionModel reads facebook/bart-base's config and tokenizer, baked into the image at build time.
        network = BartCaptionModel(max_length=128)
        try:
            network.load_state_dict(extract_state_dict(checkpoint))
        except RuntimeError as error:
            raise ModelUnavailable(f"{path} does not fit LP-MusicCaps' BART ({str(error)[:300]})") from None
        self._network = network.to(self.device).eval()

    def generate(self, batch: np.ndarray, num_beams: int, max_length: int, **generation: Any) -> list[str]:
        import numpy as np

        torch = self._torch
        network = self._network
        with torch.inference_mode():
            samples = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            # The same steps as upstream's BartCaptionModel.generate, which cannot pass no_repeat_ngram_size
            # through: mel spectrogram and convolutions, BART's encoder, then Hugging Face's beam search.
            audio_embeddings = network.audio_encoder(samples)
            encoded = network.bart.model.encoder(inputs_embeds=audio_embeddings, return_dict=True)
            start = torch.full(
                (samples.shape[0], 1), network.bart.config.decoder_start_token_id, dtype=torch.long, device=self.device
            )
            tokens = network.bart.generate(
                encoder_outputs=encoded,
                decoder_input_ids=start,
                decoder_attention_mask=torch.ones_like(start),
                num_beams=num_beams,
                max_length=max_length,
                min_length=MIN_CAPTION_TOKENS,
                **generation,
            )
        return [text.strip() for text in network.tokenizer.batch_decode(tokens, skip_special_tokens=True)]
