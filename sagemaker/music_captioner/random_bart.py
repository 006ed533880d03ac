"""An LP-MusicCaps-shaped captioning network with RANDOM weights, built without LP-MusicCaps or a model hub.

It exists for two checks that cannot have the real weights or upstream's code (CC-BY-NC 4.0, never copied here):
- CI runs the job's real code path (LpMusicCapsCaptioner → transformers' generate()) on a tiny one, so an API
  change in transformers fails a test, not a SageMaker job;
- sagemaker/gpu-check.sh times the job on a GPU with a full-size one (facebook/bart-base's dimensions).

It offers what the job uses of upstream's BartCaptionModel, written here from that interface: `audio_encoder`
(16 kHz samples (B, 160000) → embeddings (B, frames, d_model)), `bart` (a BartForConditionalGeneration) and
`tokenizer`. The audio encoder follows the published design of LP-MusicCaps (Doh et al., "LP-MusicCaps:
LLM-Based Pseudo Music Captioning", ISMIR 2023, section 4): a log-mel spectrogram (10 ms hop, 128 bands) through
one convolution and five stride-2 convolutions, plus sinusoidal positions (Vaswani et al. 2017), giving 32
frames for 10 s. The mel scale is HTK's (O'Shaughnessy 1987: mel = 2595 log10(1 + f / 700)).
Its captions are random tokens: never a music caption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

SAMPLE_RATE = 16000
WINDOW_SECONDS = 10
HOP_SAMPLES = SAMPLE_RATE // 100  # upstream's 10 ms hop
FFT_SIZE = 1024
STRIDE_2_CONVOLUTIONS = 5  # upstream: num_of_conv=6, the first one keeps the frame rate

# facebook/bart-base's special tokens, in its order (the ids its config names: bos 0, pad 1, eos 2, unk 3).
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")


@dataclass(frozen=True)
class NetworkShape:
    vocab_size: int
    d_model: int
    layers: int
    attention_heads: int
    ffn_dim: int
    n_mels: int
    audio_dim: int


# facebook/bart-base (config.json on the Hugging Face hub) with LP-MusicCaps' audio encoder defaults.
FULL_SIZE = NetworkShape(vocab_size=50265, d_model=768, layers=6, attention_heads=12, ffn_dim=3072, n_mels=128, audio_dim=768)
# Small enough for CI's CPU: seconds to build and to caption a few windows.
TINY = NetworkShape(vocab_size=600, d_model=32, layers=2, attention_heads=4, ffn_dim=64, n_mels=32, audio_dim=32)


def _mel_filterbank(n_mels: int, fft_size: int, sample_rate: int) -> torch.Tensor:
    """Triangular filters evenly spaced on HTK's mel scale, (n_mels, fft_size // 2 + 1)."""

    def to_mel(hz: torch.Tensor) -> torch.Tensor:
        return 2595.0 * torch.log10(1.0 + hz / 700.0)

    def to_hz(mel: torch.Tensor) -> torch.Tensor:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)

    bins = torch.linspace(0.0, sample_rate / 2, fft_size // 2 + 1)
    edges = to_hz(torch.linspace(0.0, float(to_mel(torch.tensor(sample_rate / 2.0))), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


def _sinusoids(length: int, channels: int) -> torch.Tensor:
    """Transformer positions (Vaswani et al. 2017, section 3.5): sines then cosines at geometric wavelengths."""
    increment = math.log(10000.0) / (channels // 2 - 1)
    inverse = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float32))
    angles = torch.arange(length, dtype=torch.float32)[:, None] * inverse[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class AudioEncoder(nn.Module):
    """16 kHz samples → (B, frames, d_model) embeddings for BART's encoder."""

    def __init__(self, shape: NetworkShape) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(FFT_SIZE), persistent=False)
        self.register_buffer("mel", _mel_filterbank(shape.n_mels, FFT_SIZE, SAMPLE_RATE), persistent=False)
        self.first = nn.Conv1d(shape.n_mels, shape.audio_dim, kernel_size=3, padding=1)
        self.strided = nn.ModuleList(
            nn.Conv1d(shape.audio_dim, shape.audio_dim, kernel_size=3, stride=2, padding=1) for _ in range(STRIDE_2_CONVOLUTIONS)
        )
        frames = WINDOW_SECONDS * SAMPLE_RATE // HOP_SAMPLES + 1
        for _ in range(STRIDE_2_CONVOLUTIONS):
            frames = (frames + 1) // 2
        self.register_buffer("positions", _sinusoids(frames, shape.audio_dim), persistent=False)
        self.projection = nn.Linear(shape.audio_dim, shape.d_model)
        self.activation = nn.GELU()

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        spectrum = torch.stft(samples, FFT_SIZE, HOP_SAMPLES, window=self.window, return_complex=True)
        mel = torch.matmul(self.mel, spectrum.abs() ** 2)
        hidden = self.activation(self.first(torch.log10(torch.clamp(mel, min=1e-10))))
        for convolution in self.strided:
            hidden = self.activation(convolution(hidden))
        return self.projection(hidden.transpose(1, 2) + self.positions)


def _word(number: int) -> str:
    """A made-up lower-case word per number (base 26), so every id decodes to text."""
    letters = ""
    while True:
        number, digit = divmod(number, 26)
        letters += chr(ord("a") + digit)
        if number == 0:
            return letters


def build_tokenizer(vocab_size: int):
    """A byte-level BPE tokenizer with bart-base's special ids and `vocab_size` entries (made-up words)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    number = 0
    while len(vocab) < vocab_size - 1:
        vocab.setdefault("\u0120" + _word(number), len(vocab))  # Ġ marks a leading space in byte-level BPE
        number += 1
    vocab["<mask>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = byte_level
    backend.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>"
    )


class RandomLpMusicCapsNetwork(nn.Module):
    """What the job uses of upstream's BartCaptionModel, with random weights and the given dimensions."""

    def __init__(self, shape: NetworkShape = TINY, seed: int = 0) -> None:
        super().__init__()
        from transformers import BartConfig, BartForConditionalGeneration

        torch.manual_seed(seed)
        # Only dimensions and ids: the generation settings are the job's (captioning.GenerationSettings).
        config = BartConfig(
            vocab_size=shape.vocab_size,
            d_model=shape.d_model,
            encoder_layers=shape.layers,
            decoder_layers=shape.layers,
            encoder_attention_heads=shape.attention_heads,
            decoder_attention_heads=shape.attention_heads,
            encoder_ffn_dim=shape.ffn_dim,
            decoder_ffn_dim=shape.ffn_dim,
            max_position_embeddings=1024,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
            forced_bos_token_id=0,
            forced_eos_token_id=2,
        )
        self.tokenizer = build_tokenizer(shape.vocab_size)
        self.bart = BartForConditionalGeneration(config)
        self.audio_encoder = AudioEncoder(shape)


def shape_named(name: str) -> NetworkShape:
    shapes = {"full": FULL_SIZE, "tiny": TINY}
    if name not in shapes:
        raise ValueError(f"network shape must be one of {', '.join(shapes)}, not {name!r}")
    return shapes[name]
