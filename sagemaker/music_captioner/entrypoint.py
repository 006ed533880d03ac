"""The image's ENTRYPOINT: `python -m music_captioner [flags]`.

Defaults are SageMaker Processing's folders; the local runtime (runtime/captioners/python.ts) passes its own.
Exit status 0 means every window this instance got has a caption; anything else leaves a reason of at most
1 KB in the failure file, which SageMaker reports as the job's FailureReason.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from . import contract
from .captioning import GenerationSettings, caption_windows, default_batch_size
from .errors import CaptionJobError, InvalidInput
from .model import Captioner, resolve_precision

BACKENDS = ("lp-music-caps", "stub")
# A batch size of "auto" (the state machine's default) leaves it to the device: captioning.default_batch_size.
AUTO = "auto"


@dataclass(frozen=True)
class JobSettings:
    windows_dir: str
    manifest: str
    model_dir: str
    output_dir: str
    resource_config: str
    failure_file: str
    device: str
    backend: str
    generation: GenerationSettings
    precision: str = "fp32"


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a whole number, not {text!r}") from None
    if value < 1:
        raise InvalidInput(f"{name} must be at least 1, not {value}")
    return value


class _ArgumentParser(argparse.ArgumentParser):
    """Reports bad flags as InvalidInput, so they reach the failure file like every other problem."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidInput(f"bad arguments: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog="python -m music_captioner", description=__doc__)
    parser.add_argument("--windows-dir", default=contract.DEFAULT_WINDOWS_DIR)
    parser.add_argument("--manifest", default=contract.DEFAULT_MANIFEST)
    parser.add_argument("--model-dir", default=contract.DEFAULT_MODEL_DIR)
    parser.add_argument("--output-dir", default=contract.DEFAULT_OUTPUT_DIR)
    parser.add_argument(
        "--batch-size", help="windows per forward pass, or auto (env CAPTION_BATCH_SIZE; auto: 64 on a GPU, 8 on a CPU)"
    )
    parser.add_argument("--num-beams", help="beam width (env CAPTION_NUM_BEAMS, default 5)")
    parser.add_argument("--max-length", help="caption tokens at most (env CAPTION_MAX_LENGTH, default 128)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--precision", help="fp32 or bf16 (env CAPTION_PRECISION, default fp32: bf16 measured slower)")
    parser.add_argument("--resource-config", default=contract.DEFAULT_RESOURCE_CONFIG)
    parser.add_argument("--failure-file", default=contract.DEFAULT_FAILURE_FILE)
    parser.add_argument(
        "--backend",
        default="lp-music-caps",
        choices=BACKENDS,
        help="'stub' is a test double that needs no torch; its captions are not music captions",
    )
    return parser


def failure_file_from(argv: Sequence[str]) -> str:
    """The failure file's path even when the other flags cannot be parsed."""
    for position, argument in enumerate(argv):
        if argument == "--failure-file" and position + 1 < len(argv):
            return argv[position + 1]
        if argument.startswith("--failure-file="):
            return argument.split("=", 1)[1]
    return contract.DEFAULT_FAILURE_FILE


def parse_settings(argv: Sequence[str], env: Mapping[str, str]) -> JobSettings:
    """Flags win over the state machine's environment, which wins over the defaults."""
    args = _parser().parse_args(list(argv))

    def setting(flag: Optional[str], variable: str, default: Optional[int], name: str) -> Optional[int]:
        if flag is not None:
            return None if default is None and flag == AUTO else _positive_int(name, flag)
        value = env.get(variable, "").strip()
        if value and not (default is None and value == AUTO):
            return _positive_int(variable, value)
        return default

    generation = GenerationSettings(
        batch_size=setting(args.batch_size, "CAPTION_BATCH_SIZE", None, "--batch-size"),
        num_beams=setting(args.num_beams, "CAPTION_NUM_BEAMS", 5, "--num-beams"),
        max_length=setting(args.max_length, "CAPTION_MAX_LENGTH", 128, "--max-length"),
    )
    return JobSettings(
        windows_dir=args.windows_dir,
        manifest=args.manifest,
        model_dir=args.model_dir,
        output_dir=args.output_dir,
        resource_config=args.resource_config,
        failure_file=args.failure_file,
        device=args.device,
        backend=args.backend,
        generation=generation,
        precision=resolve_precision(args.precision or env.get("CAPTION_PRECISION", "").strip() or "fp32"),
    )


def build_captioner(settings: JobSettings, in_sagemaker: bool) -> Captioner:
    if settings.backend == "stub":
        from .testing import StandInCaptioner

        return StandInCaptioner()
    from .model import LpMusicCapsCaptioner

    return LpMusicCapsCaptioner(
        settings.model_dir,
        settings.device,
        backend="sagemaker" if in_sagemaker else "python",
        precision=settings.precision,
    )


def run_job(
    settings: JobSettings,
    log: Callable[[str], None],
    make_captioner: Callable[[JobSettings, bool], Captioner] = build_captioner,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Captions this instance's windows and writes its part; returns the files written."""
    started = clock()
    placement = contract.read_host_placement(settings.resource_config)
    manifest = contract.load_manifest(settings.manifest)
    jobs = contract.plan_windows(manifest, settings.windows_dir, contract.list_window_files(settings.windows_dir))
    where = f"host {placement.current_host} of {len(placement.hosts)}" if placement else "one instance"
    log(f"{len(jobs)} of {len(manifest['windows'])} windows to caption ({where})")
    if not jobs and not (placement and placement.sharded):
        raise InvalidInput(f"no NNNNN.npy windows in {settings.windows_dir}")

    entries = []
    captioner_backend, captioner_model = settings.backend, ""
    if jobs:
        captioner = make_captioner(settings, placement is not None)
        captioner_backend, captioner_model = captioner.backend, captioner.model
        g = settings.generation
        batch_size = g.batch_size or default_batch_size(captioner.device)
        log(
            f"model {captioner.model} loaded on {captioner.device} in {clock() - started:.1f} s; batch size {batch_size}; "
            f"{g.first().describe()}"
        )
        entries = caption_windows(jobs, captioner, settings.generation, log, clock=clock)
    run_info = {
        "backend": captioner_backend,
        "model": captioner_model or "none (no windows on this instance)",
        "windows": len(entries),
        "seconds": round(clock() - started, 3),
    }
    degenerate = sum(1 for entry in entries if entry["quality"] == "degenerate")
    written = contract.write_outputs(settings.output_dir, contract.output_names(placement), entries, run_info)
    log(f"wrote {len(entries)} captions ({degenerate} degenerate) in {run_info['seconds']:.1f} s: {', '.join(written)}")
    return written


def _log(line: str) -> None:
    print(line, flush=True)


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    failure_file = failure_file_from(argv)
    try:
        settings = parse_settings(argv, env)
        run_job(settings, _log)
        return 0
    except CaptionJobError as error:
        reason = error.describe()
    except MemoryError:
        reason = "OutOfMemory: the batch does not fit; lower CAPTION_BATCH_SIZE"
    except Exception as error:  # anything unforeseen still deserves a reason in the Step Functions history
        traceback.print_exc()
        reason = f"{type(error).__name__}: {error}"
    print(f"caption job failed: {reason}", file=sys.stderr, flush=True)
    try:
        contract.write_failure(failure_file, reason)
    except OSError as error:
        print(f"could not write the failure file {failure_file}: {error}", file=sys.stderr, flush=True)
    return 1
