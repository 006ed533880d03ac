"""The job's inputs and outputs as core/contract.ts describes them: pure functions with paths as arguments."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .errors import InvalidInput

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 10
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS

# Same rule as core/schema/manifest.schema.json's windows[].file.
WINDOW_FILE_PATTERN = re.compile(r"^(\d{5})\.npy$")

# The SageMaker Processing contract; every one can be replaced by a command-line flag.
DEFAULT_WINDOWS_DIR = "/opt/ml/processing/input/windows"
DEFAULT_MANIFEST = "/opt/ml/processing/input/manifest/manifest.json"
DEFAULT_MODEL_DIR = "/opt/ml/processing/input/model"
DEFAULT_OUTPUT_DIR = "/opt/ml/processing/output/captions"
DEFAULT_RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"
DEFAULT_FAILURE_FILE = "/opt/ml/output/message"

# SageMaker shows the first 1 KB of the failure file; a longer one would be cut mid-word.
FAILURE_MESSAGE_MAX_BYTES = 1024


@dataclass(frozen=True)
class WindowJob:
    """One window this instance captions: its file and the times the manifest gives it."""

    index: int
    file: str
    path: str
    start_sec: float
    end_sec: float


@dataclass(frozen=True)
class HostPlacement:
    """Which processing instance this is, from /opt/ml/config/resourceconfig.json."""

    current_host: str
    hosts: tuple[str, ...]

    @property
    def sharded(self) -> bool:
        return len(self.hosts) > 1


@dataclass(frozen=True)
class OutputNames:
    captions: str
    run_info: str


def load_manifest(path: str) -> dict[str, Any]:
    """Reads the manifest and checks the fields this job relies on (the full schema is core/schema/)."""
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        raise InvalidInput(f"the manifest is missing: {path}") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the manifest is not JSON ({error.msg} at line {error.lineno}): {path}") from None
    windows = manifest.get("windows") if isinstance(manifest, dict) else None
    if not isinstance(windows, list) or not windows:
        raise InvalidInput(f"the manifest lists no windows: {path}")
    for position, window in enumerate(windows):
        problems = _window_entry_problems(window)
        if problems:
            raise InvalidInput(f"manifest windows[{position}] {problems}: {path}")
    return manifest


def _window_entry_problems(window: Any) -> Optional[str]:
    if not isinstance(window, dict):
        return "is not an object"
    if not isinstance(window.get("file"), str) or not WINDOW_FILE_PATTERN.match(window["file"]):
        return "has no file named NNNNN.npy"
    if not isinstance(window.get("index"), int) or window["index"] < 0:
        return "has no index"
    start, end = window.get("startSec"), window.get("endSec")
    if not _is_number(start) or not _is_number(end) or start < 0 or end <= start:
        return "has no valid startSec < endSec"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def list_window_files(windows_dir: str) -> list[str]:
    """The NNNNN.npy files in the windows channel. With ShardedByS3Key this is only this instance's share."""
    if not os.path.isdir(windows_dir):
        raise InvalidInput(f"the windows folder is missing: {windows_dir}")
    names = []
    for name in os.listdir(windows_dir):
        if not name.endswith(".npy"):
            continue
        if not WINDOW_FILE_PATTERN.match(name):
            raise InvalidInput(f"window file {name} is not named NNNNN.npy: {windows_dir}")
        names.append(name)
    return sorted(names)


def plan_windows(manifest: dict[str, Any], windows_dir: str, file_names: list[str]) -> list[WindowJob]:
    """Pairs each window file with its manifest entry, in index order.

    The index is the file name's number; the times are the manifest's, so a tail window that overlaps the
    one before it (or is shorter than 10 s) keeps its real position on the timeline.
    """
    entries = {window["file"]: window for window in manifest["windows"]}
    jobs = []
    for name in file_names:
        entry = entries.get(name)
        if entry is None:
            raise InvalidInput(f"window file {name} has no entry in the manifest")
        index = int(WINDOW_FILE_PATTERN.match(name).group(1))
        if entry["index"] != index:
            raise InvalidInput(f"the manifest gives {name} index {entry['index']}, its name says {index}")
        jobs.append(
            WindowJob(
                index=index,
                file=name,
                path=os.path.join(windows_dir, name),
                start_sec=float(entry["startSec"]),
                end_sec=float(entry["endSec"]),
            )
        )
    return sorted(jobs, key=lambda job: job.index)


def load_window(path: str) -> np.ndarray:
    """One window as float32 of exactly WINDOW_SAMPLES; a shorter tail is padded with silence, as upstream does."""
    try:
        samples = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InvalidInput(f"window {os.path.basename(path)} is not a readable .npy file ({error})") from None
    name = os.path.basename(path)
    if samples.ndim != 1:
        raise InvalidInput(f"window {name} has shape {samples.shape}; expected mono ({WINDOW_SAMPLES},)")
    if samples.dtype.kind != "f":
        raise InvalidInput(f"window {name} holds {samples.dtype}; expected float32 samples in [-1, 1]")
    if samples.size == 0 or samples.size > WINDOW_SAMPLES:
        raise InvalidInput(f"window {name} has {samples.size} samples; expected {WINDOW_SAMPLES}")
    if not np.all(np.isfinite(samples)):
        raise InvalidInput(f"window {name} contains NaN or infinite samples")
    window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    window[: samples.size] = samples
    return window


def read_host_placement(path: str) -> Optional[HostPlacement]:
    """This instance's name and its peers, or None outside SageMaker (no resource config)."""
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise InvalidInput(f"the resource config is not JSON ({error.msg}): {path}") from None
    current = config.get("current_host")
    hosts = config.get("hosts")
    if not isinstance(current, str) or not isinstance(hosts, list) or current not in hosts:
        raise InvalidInput(f"the resource config names no current_host among its hosts: {path}")
    return HostPlacement(current_host=current, hosts=tuple(hosts))


def output_names(placement: Optional[HostPlacement]) -> OutputNames:
    """captions.json alone, or one part per host when several instances share the windows."""
    if placement is None or not placement.sharded:
        return OutputNames(captions="captions.json", run_info="captioner.json")
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", placement.current_host)
    return OutputNames(captions=f"captions-{host}.json", run_info=f"captioner-{host}.json")


def write_outputs(
    output_dir: str, names: OutputNames, entries: list[dict[str, Any]], run_info: dict[str, Any]
) -> list[str]:
    """Writes the captions and the run summary; a temporary name first, so a reader never sees half a file."""
    os.makedirs(output_dir, exist_ok=True)
    written = []
    for name, document in ((names.captions, entries), (names.run_info, run_info)):
        path = os.path.join(output_dir, name)
        partial = path + ".partial"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
        os.replace(partial, path)
        written.append(path)
    return written


def truncate_utf8(text: str, max_bytes: int) -> str:
    """At most max_bytes of UTF-8, never splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def write_failure(path: str, reason: str) -> None:
    """The reason SageMaker copies into the job's FailureReason (and so into the Step Functions history)."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(truncate_utf8(reason, FAILURE_MESSAGE_MAX_BYTES))
