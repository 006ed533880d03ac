"""`python -m music_captioner.strip_checkpoint IN OUT`: keeps only the model weights of transfer.pth.

Upstream's transfer.pth (1.78 GB) is a training checkpoint: epoch, state_dict and the AdamW optimizer state,
which is most of it and which captioning never reads. `npm run model:upload` runs this before uploading.
Prints one JSON line: {"input_bytes", "output_bytes", "tensors"}.
"""

from __future__ import annotations

import json
import os
import sys

from .model import extract_state_dict

NEEDS_TORCH = "torch is needed to read transfer.pth: pip install torch (the CPU build is enough)"


def strip(input_path: str, output_path: str) -> dict[str, int]:
    try:
        import torch
    except ImportError:
        raise SystemExit(NEEDS_TORCH) from None
    try:
        checkpoint = torch.load(input_path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        checkpoint = torch.load(input_path, map_location="cpu")
    state = extract_state_dict(checkpoint)
    partial = output_path + ".partial"
    torch.save(state, partial)
    os.replace(partial, output_path)
    return {"input_bytes": os.path.getsize(input_path), "output_bytes": os.path.getsize(output_path), "tensors": len(state)}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m music_captioner.strip_checkpoint IN.pth OUT.pth", file=sys.stderr)
        return 2
    print(json.dumps(strip(argv[0], argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
