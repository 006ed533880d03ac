"""`python -m music_captioner.probe --model-dir DIR`: prints, as JSON, what a local run would lack.

It only looks modules up (importlib.util.find_spec), never imports torch, so it answers in well under a second.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys

from .model import weights_path

UPSTREAM = "https://github.com/seungheondoh/lp-music-caps"

# (module to find, what to call it, how to install it)
REQUIREMENTS = (
    ("numpy", "numpy", "pip install numpy"),
    ("torch", "torch", "pip install torch"),
    ("torchaudio", "torchaudio", "pip install torchaudio (the version matching torch)"),
    ("transformers", "transformers", "pip install transformers==4.26.1"),
    (
        "lpmc.music_captioning.model.bart",
        "LP-MusicCaps (lpmc)",
        f"git clone {UPSTREAM} and `pip install -e lp-music-caps` or put that folder on PYTHONPATH",
    ),
)


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


def missing_pieces(model_dir: str, backend: str) -> list[dict[str, str]]:
    wanted = REQUIREMENTS[:1] if backend == "stub" else REQUIREMENTS
    missing = [{"what": name, "install": how} for module, name, how in wanted if not _findable(module)]
    if backend != "stub" and not os.path.isfile(weights_path(model_dir)):
        missing.append(
            {
                "what": f"the weights file {weights_path(model_dir)}",
                "install": "download transfer.pth from https://huggingface.co/seungheondoh/lp-music-caps and put it there",
            }
        )
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m music_captioner.probe")
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--backend", default="lp-music-caps", choices=("lp-music-caps", "stub"))
    args = parser.parse_args()
    print(json.dumps({"python": sys.executable, "missing": missing_pieces(args.model_dir, args.backend)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
