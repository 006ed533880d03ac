"""Times the Caption job's entrypoint (run_job → LpMusicCapsCaptioner → transformers' generate()) at several batch
sizes, with an LP-MusicCaps-shaped network of random weights. Run by sagemaker/gpu-check.sh; see its header.

Random weights never emit an end-of-sequence token and every caption loops, so each window costs a full-length
first attempt (max_length tokens) plus the loop guard's sampled second attempt: an upper bound on what real
weights cost. The two attempts are timed apart, so the first-attempt figure is the one to compare.

Usage: python3 sagemaker/gpu_timing.py --shape full --windows 64 --batch-sizes 8,16,32,64 --bf16-batch 32 \\
           --device cuda --json "$OUT/gpu-figures.json"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from music_captioner.captioning import GenerationSettings  # noqa: E402
from music_captioner.contract import SAMPLE_RATE, WINDOW_SAMPLES  # noqa: E402
from music_captioner.decoding import Decoding  # noqa: E402
from music_captioner.entrypoint import JobSettings, run_job  # noqa: E402
from music_captioner.model import WEIGHTS_FILE, LpMusicCapsCaptioner  # noqa: E402


class TimedCaptioner:
    """Wraps the real captioner and adds up seconds and windows per decoding attempt."""

    def __init__(self, inner: LpMusicCapsCaptioner, synchronize) -> None:
        self.inner = inner
        self.backend, self.model, self.device = inner.backend, inner.model, inner.device
        self.synchronize = synchronize
        self.seconds: dict[int, float] = {}
        self.windows: dict[int, int] = {}

    def generate(self, batch: np.ndarray, decoding: Decoding) -> list[str]:
        started = time.perf_counter()
        captions = self.inner.generate(batch, decoding)
        self.synchronize()
        self.seconds[decoding.attempt] = self.seconds.get(decoding.attempt, 0.0) + time.perf_counter() - started
        self.windows[decoding.attempt] = self.windows.get(decoding.attempt, 0) + batch.shape[0]
        return captions


def write_song(folder: Path, count: int) -> tuple[Path, Path]:
    """`count` windows of chords with a little noise, and the manifest fields the job reads."""
    rng = np.random.default_rng(11)
    windows_dir = folder / "windows"
    windows_dir.mkdir(parents=True)
    seconds = np.arange(WINDOW_SAMPLES) / SAMPLE_RATE
    entries = []
    for index in range(count):
        root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        chord = sum(np.sin(2 * np.pi * root * ratio * seconds) for ratio in (1.0, 1.25, 1.5))
        samples = (0.2 * chord + 0.01 * rng.standard_normal(WINDOW_SAMPLES)).astype(np.float32)
        name = f"{index:05d}.npy"
        np.save(windows_dir / name, samples)
        entries.append({"index": index, "file": name, "startSec": 10.0 * index, "endSec": 10.0 * index + 10.0})
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"version": 1, "id": "timing", "windows": entries}), encoding="utf-8")
    return windows_dir, manifest


def save(figures: dict[str, Any], path: Optional[str]) -> None:
    """Written after every measurement, so a run cut short by its timeout still leaves what it measured."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="full", choices=("full", "tiny"))
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--batch-sizes", default="8,16,32,64")
    parser.add_argument("--bf16-batch", type=int, default=32, help="one bf16 run at this batch size; 0 skips it")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--num-beams", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--json")
    args = parser.parse_args()

    import torch
    import transformers

    from music_captioner.random_bart import RandomLpMusicCapsNetwork, shape_named

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_timing: torch sees no CUDA device (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    synchronize = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    shape = shape_named(args.shape)
    figures: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "network": args.shape,
        "windows": args.windows,
        "numBeams": args.num_beams,
        "maxLength": args.max_length,
        "runs": [],
    }
    print(f"device {figures['device']}; torch {torch.__version__}, transformers {transformers.__version__}, CUDA {torch.version.cuda}")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        windows_dir, manifest = write_song(folder, args.windows)
        model_dir = folder / "model"
        model_dir.mkdir()
        started = time.perf_counter()
        network = RandomLpMusicCapsNetwork(shape)
        # Saved the way upstream's training saves transfer.pth, so loading goes through the job's own path.
        torch.save({"epoch": 0, "state_dict": network.state_dict(), "optimizer": {}}, model_dir / WEIGHTS_FILE)
        figures["weightsMiB"] = round(os.path.getsize(model_dir / WEIGHTS_FILE) / 2**20, 1)
        print(f"built and saved a {args.shape} network ({figures['weightsMiB']} MiB) in {time.perf_counter() - started:.1f} s")
        del network

        def load(precision: str) -> tuple[LpMusicCapsCaptioner, float]:
            began = time.perf_counter()
            captioner = LpMusicCapsCaptioner(
                str(model_dir),
                device=args.device,
                precision=precision,
                build_network=lambda: RandomLpMusicCapsNetwork(shape),
                model_name=f"random-weight LP-MusicCaps-shaped BART ({args.shape})",
            )
            synchronize()
            return captioner, time.perf_counter() - began

        captioner, load_seconds = load("fp32")
        figures["loadSeconds"] = round(load_seconds, 2)
        print(f"load (torch.load + build + load_state_dict + to {args.device}): {load_seconds:.2f} s")
        # Warm-up: the first call on a GPU pays for CUDA's context and kernel loading, which a job pays once.
        warm = np.zeros((1, WINDOW_SAMPLES), dtype=np.float32)
        began = time.perf_counter()
        captioner.generate(warm, GenerationSettings(num_beams=args.num_beams, max_length=8).first())
        synchronize()
        figures["warmUpSeconds"] = round(time.perf_counter() - began, 2)
        save(figures, args.json)

        sample_caption = ""
        plan = [("fp32", int(size)) for size in args.batch_sizes.split(",") if size.strip()]
        if args.bf16_batch > 0:
            plan.append(("bf16", args.bf16_batch))
        for precision, batch_size in plan:
            if precision != captioner.precision:
                captioner, load_seconds = load(precision)
            timed = TimedCaptioner(captioner, synchronize)
            settings = JobSettings(
                windows_dir=str(windows_dir),
                manifest=str(manifest),
                model_dir=str(model_dir),
                output_dir=str(folder / f"out-{precision}-{batch_size}"),
                resource_config=str(folder / "no-resource-config.json"),
                failure_file=str(folder / "failure"),
                device=args.device,
                backend="lp-music-caps",
                generation=GenerationSettings(batch_size=batch_size, num_beams=args.num_beams, max_length=args.max_length),
                precision=precision,
            )
            began = time.perf_counter()
            try:
                written = run_job(settings, lambda line: None, make_captioner=lambda _settings, _sagemaker: timed)
            except Exception as error:  # out of memory at a large batch is a figure too
                run = {"precision": precision, "batchSize": batch_size, "error": f"{type(error).__name__}: {str(error)[:300]}"}
                print(f"{precision} batch {batch_size:>3}: FAILED {run['error']}")
                figures["runs"].append(run)
                save(figures, args.json)
                if args.device == "cuda":
                    torch.cuda.empty_cache()
                continue
            total = time.perf_counter() - began
            entries = json.loads(Path(written[0]).read_text(encoding="utf-8"))
            sample_caption = entries[0]["caption"]
            attempts = {str(attempt): sum(1 for entry in entries if entry.get("attempt") == attempt) for attempt in (1, 2)}
            run = {
                "precision": precision,
                "batchSize": batch_size,
                "secondsPerWindow": round(total / args.windows, 4),
                "firstAttemptSecondsPerWindow": round(timed.seconds.get(1, 0.0) / max(1, timed.windows.get(1, 0)), 4),
                "retrySecondsPerWindow": round(timed.seconds.get(2, 0.0) / max(1, timed.windows.get(2, 0)), 4),
                "retriedWindows": timed.windows.get(2, 0),
                "captionsByAttempt": attempts,
                "files": [os.path.basename(path) for path in written],
            }
            if args.device == "cuda":
                run["peakGpuMiB"] = round(torch.cuda.max_memory_allocated() / 2**20)
                torch.cuda.reset_peak_memory_stats()
            if precision != "fp32":
                run["loadSeconds"] = round(load_seconds, 2)
            figures["runs"].append(run)
            save(figures, args.json)
            print(
                f"{precision} batch {batch_size:>3}: {run['secondsPerWindow']:.4f} s per window in all; first attempt "
                f"{run['firstAttemptSecondsPerWindow']:.4f} s, retry {run['retrySecondsPerWindow']:.4f} s "
                f"({run['retriedWindows']} retried)" + (f"; peak {run['peakGpuMiB']} MiB" if "peakGpuMiB" in run else "")
            )
        print(f"a caption (random weights, so not music): {sample_caption[:120]!r}")
    return 0 if any("error" not in run for run in figures["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
