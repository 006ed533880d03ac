"""Shared fixtures: real windows made with numpy, manifests that pass core/schema/, and the schemas themselves."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

SAGEMAKER_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SAGEMAKER_DIR.parent
sys.path.insert(0, str(SAGEMAKER_DIR))

from music_captioner.contract import SAMPLE_RATE, WINDOW_SAMPLES  # noqa: E402


def tone(frequency_hz: float, amplitude: float, samples: int = WINDOW_SAMPLES) -> np.ndarray:
    time = np.arange(samples, dtype=np.float64) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * frequency_hz * time)).astype(np.float32)


def hiss(level: float, samples: int = WINDOW_SAMPLES, seed: int = 7) -> np.ndarray:
    """Noise far below -60 dBFS: a window the stand-in model (like BART on quiet passages) loops on."""
    return (np.random.default_rng(seed).standard_normal(samples) * level).astype(np.float32)


def window_tags() -> dict:
    return {
        "bpm": None,
        "bpmConfidence": 0.0,
        "key": "A minor",
        "keyConfidence": 0.4,
        "loudnessLufs": -14.2,
        "shortTermMaxLufs": -12.8,
        "rmsDbfs": -12.0,
        "peakDbfs": -3.0,
        "crestDb": 9.0,
        "spectralCentroidHz": 900.0,
        "onsetsPerSec": 1.5,
        "silenceRatio": 0.0,
        "percussiveRatio": 0.2,
    }


def song_sections(duration: float) -> list[dict]:
    """Sections as preprocess writes them: A B A from 0 to the end without gaps, the last one back to A."""
    cuts = [0.0, round(duration / 3, 3), round(2 * duration / 3, 3), duration]
    tags = {"bpm": None, "key": "A minor", "loudnessLufs": -14.0, "energy": 1.0, "spectralCentroidHz": 1800.0}
    return [
        {"index": i, "startSec": cuts[i], "endSec": cuts[i + 1], "label": label, "name": None, "tags": dict(tags)}
        for i, label in enumerate(["A", "B", "A"])
    ]


def write_song(folder: Path, windows: list[np.ndarray], duration_sec: float | None = None) -> tuple[Path, Path]:
    """Writes windows/NNNNN.npy and manifest.json the way preprocess does: 10 s steps, the last one tail-aligned."""
    windows_dir = folder / "windows"
    windows_dir.mkdir(parents=True)
    duration = duration_sec if duration_sec is not None else 10.0 * len(windows)
    entries = []
    for index, samples in enumerate(windows):
        name = f"{index:05d}.npy"
        np.save(windows_dir / name, samples)
        start = min(10.0 * index, max(0.0, duration - 10.0))
        entries.append(
            {"index": index, "file": name, "startSec": start, "endSec": min(start + 10.0, duration), "tags": window_tags()}
        )
    manifest = {
        "version": 1,
        "id": "song-1",
        "upload": {"bucket": "uploads-bucket", "key": "uploads/song-1/song.mp3"},
        "file": {"name": "song.mp3", "sizeBytes": 480000, "durationSec": duration, "sampleRate": 44100, "channels": 2, "codec": "mp3"},
        "sampleRate": SAMPLE_RATE,
        "windowSamples": WINDOW_SAMPLES,
        "windows": entries,
        "tags": {**window_tags(), "loudnessRangeLu": 3.0, "truePeakDbtp": -1.2, "meter": None, "meterConfidence": 0.0},
        "analysis": {
            "beats": [],
            "downbeats": [],
            "tempoChanges": [],
            "keySections": [{"startSec": 0.0, "endSec": duration, "key": "A minor", "confidence": 0.4}],
            "loudnessCurve": [-14.0] * int(duration),
        },
        "sections": song_sections(duration),
    }
    manifest_path = folder / "manifest.json"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return windows_dir, manifest_path


def _schema(name: str) -> dict:
    return json.loads((REPO_ROOT / "core" / "schema" / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def schema_validator():
    """validate(document, 'captions.schema.json') raises jsonschema.ValidationError on a contract break."""
    import jsonschema

    store = {name: _schema(name) for name in os.listdir(REPO_ROOT / "core" / "schema") if name.endswith(".json")}

    def validate(document, schema_name: str) -> None:
        schema = store[schema_name]
        resolver = jsonschema.RefResolver(base_uri=schema_name, referrer=schema, store=store)
        jsonschema.Draft7Validator(schema, resolver=resolver).validate(document)

    return validate
