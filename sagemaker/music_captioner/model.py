"""The captioning model behind one small interface, so the job's logic is tested without torch.

The real one wraps LP-MusicCaps' BartCaptionModel (lpmc.music_captioning.model.bart, CC-BY-NC 4.0, installed
into the image from upstream at a pinned commit, never copied here) loaded from the state_dict that
`npm run model:upload` keeps of transfer.pth. torch, transformers and lpmc are imported only when it is built.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol

from .decoding import Decoding
from .errors import InvalidInput, ModelUnavailable

if TYPE_CHECKING:  # numpy stays out of the probe's imports, which must run on a bare Python
    import numpy as np

WEIGHTS_FILE = "transfer.pth"
# The Dockerfile records which upstream commit it installed; the run summary names it.
UPSTREAM_COMMIT_ENV = "LPMC_COMMIT"
PRECISIONS = ("fp32", "bf16")


class Captioner(Protocol):
    """Anything that turns a batch of windows into one caption each."""

    backend: str
    model: str
    device: str  # "cpu" or "cuda": the job's default batch size depends on it

    def generate(self, batch: np.ndarray, decoding: Decoding) -> list[str]:
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


def upstream_network() -> Any:
    """LP-MusicCaps' BartCaptionModel; it reads facebook/bart-base's config and tokenizer, baked into the image."""
    try:
        from lpmc.music_captioning.model.bart import BartCaptionModel
    except ImportError as error:
        raise ModelUnavailable(f"cannot import the model code ({error})") from None
    return BartCaptionModel(max_length=128)


def resolve_precision(requested: str) -> str:
    if requested not in PRECISIONS:
        raise InvalidInput(f"the precision must be {' or '.join(PRECISIONS)}, not {requested!r}")
    return requested


class LpMusicCapsCaptioner:
    """LP-MusicCaps' transfer model on CUDA when present, else CPU.

    build_network makes the untrained network the weights load into: upstream's by default; tests and
    gpu-check.sh pass random_bart's, which has the same interface.
    """

    backend = "python"

    def __init__(
        self,
        model_dir: str,
        device: str = "auto",
        backend: str = "python",
        precision: str = "fp32",
        build_network: Optional[Callable[[], Any]] = None,
        model_name: Optional[str] = None,
    ) -> None:
        self.backend = backend
        self.model = model_name or upstream_model_name()
        # bf16 autocast measured about 3x slower than fp32 on an H100 (issue 11), so fp32 is the default.
        self.precision = resolve_precision(precision)
        path = weights_path(model_dir)
        if not os.path.isfile(path):
            raise ModelUnavailable(f"the weights are missing: {path} (npm run model:upload -- transfer.pth)")
        try:
            import torch
            from transformers import GenerationConfig
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
        network = (build_network or upstream_network)()
        try:
            network.load_state_dict(extract_state_dict(checkpoint))
        except RuntimeError as error:
            raise ModelUnavailable(f"{path} does not fit LP-MusicCaps' BART ({str(error)[:300]})") from None
        self._network = network.to(self.device).eval()
        config = network.bart.config
        self._token_ids = {
            "bos_token_id": network.tokenizer.bos_token_id,
            "eos_token_id": network.tokenizer.eos_token_id,
            "pad_token_id": network.tokenizer.pad_token_id,
            "decoder_start_token_id": config.decoder_start_token_id,
        }
        # Newer transformers fill any setting a call leaves at the library default from the model's generation
        # config (made from bart-base's config); with only the token ids left there, the call alone decides.
        network.bart.generation_config = GenerationConfig(**self._token_ids)

    def generate(self, batch: np.ndarray, decoding: Decoding) -> list[str]:
        import contextlib

        import numpy as np

        torch = self._torch
        network = self._network
        arguments = decoding.generate_arguments(**self._token_ids)
        if decoding.seed is not None:
            torch.manual_seed(decoding.seed)  # seeds CUDA too: a sampled retry is the same on every run
        precision = (
            torch.autocast(device_type=self.device, dtype=torch.bfloat16)
            if self.precision == "bf16"
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), precision:
            samples = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
            # The same steps as upstream's BartCaptionModel.generate, which cannot pass most settings through:
            # mel spectrogram and convolutions, BART's encoder, then Hugging Face's generate().
            audio_embeddings = network.audio_encoder(samples)
            encoded = network.bart.model.encoder(inputs_embeds=audio_embeddings, return_dict=True)
            start = torch.full(
                (samples.shape[0], 1), self._token_ids["decoder_start_token_id"], dtype=torch.long, device=self.device
            )
            tokens = network.bart.generate(
                encoder_outputs=encoded,
                decoder_input_ids=start,
                decoder_attention_mask=torch.ones_like(start),
                **arguments,
            )
        return [text.strip() for text in network.tokenizer.batch_decode(tokens, skip_special_tokens=True)]
