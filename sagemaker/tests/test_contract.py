"""The job's I/O contract: manifest, window files, shards, output names, the failure message."""

import json

import numpy as np
import pytest

from conftest import tone, write_song
from music_captioner import contract
from music_captioner.errors import InvalidInput


def test_fixture_manifest_passes_the_shared_schema(tmp_path, schema_validator):
    # Prepare
    _, manifest_path = write_song(tmp_path, [tone(440, 0.5)] * 4, duration_sec=35.3)
    # Act
    manifest = json.loads(manifest_path.read_text())
    # Assess
    schema_validator(manifest, "manifest.schema.json")


def test_shared_schema_rejects_sections_with_an_unknown_name_or_no_label(tmp_path, schema_validator):
    # Prepare
    import jsonschema

    _, manifest_path = write_song(tmp_path, [tone(440, 0.5)] * 3)
    manifest = json.loads(manifest_path.read_text())
    named = json.loads(json.dumps(manifest))
    named["sections"][0]["name"] = "chorus"
    unlabelled = json.loads(json.dumps(manifest))
    unlabelled["sections"][1]["label"] = ""
    # Act / Assess
    for broken in (named, unlabelled):
        with pytest.raises(jsonschema.ValidationError):
            schema_validator(broken, "manifest.schema.json")


def test_plan_takes_times_from_the_manifest_so_a_tail_aligned_window_keeps_its_place(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)] * 4, duration_sec=35.3)
    manifest = contract.load_manifest(str(manifest_path))
    # Act
    jobs = contract.plan_windows(manifest, str(windows_dir), contract.list_window_files(str(windows_dir)))
    # Assess
    assert [job.index for job in jobs] == [0, 1, 2, 3]
    assert (jobs[-1].start_sec, jobs[-1].end_sec) == pytest.approx((25.3, 35.3))
    assert jobs[-1].path.endswith("00003.npy")


def test_plan_covers_only_the_files_this_shard_received(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)] * 5)
    for name in ("00000.npy", "00002.npy", "00004.npy"):
        (windows_dir / name).unlink()
    manifest = contract.load_manifest(str(manifest_path))
    # Act
    jobs = contract.plan_windows(manifest, str(windows_dir), contract.list_window_files(str(windows_dir)))
    # Assess
    assert [(job.index, job.start_sec) for job in jobs] == [(1, 10.0), (3, 30.0)]


def test_plan_rejects_a_window_file_the_manifest_does_not_list(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)] * 2)
    np.save(windows_dir / "00009.npy", tone(440, 0.5))
    manifest = contract.load_manifest(str(manifest_path))
    # Act / Assess
    with pytest.raises(InvalidInput, match="00009.npy has no entry in the manifest"):
        contract.plan_windows(manifest, str(windows_dir), contract.list_window_files(str(windows_dir)))


def test_window_listing_rejects_npy_files_named_otherwise(tmp_path):
    # Prepare
    windows_dir, _ = write_song(tmp_path, [tone(440, 0.5)])
    np.save(windows_dir / "window-1.npy", tone(440, 0.5))
    # Act / Assess
    with pytest.raises(InvalidInput, match="window-1.npy is not named NNNNN.npy"):
        contract.list_window_files(str(windows_dir))


@pytest.mark.parametrize(
    "broken, message",
    [
        ("{not json", "is not JSON"),
        (json.dumps({"windows": []}), "lists no windows"),
        (json.dumps({"windows": [{"index": 0, "file": "0.npy", "startSec": 0, "endSec": 10}]}), "has no file named"),
        (json.dumps({"windows": [{"index": 0, "file": "00000.npy", "startSec": 10, "endSec": 10}]}), "startSec < endSec"),
    ],
)
def test_manifest_problems_are_named(tmp_path, broken, message):
    # Prepare
    path = tmp_path / "manifest.json"
    path.write_text(broken)
    # Act / Assess
    with pytest.raises(InvalidInput, match=message):
        contract.load_manifest(str(path))


def test_load_window_pads_a_short_tail_with_silence(tmp_path):
    # Prepare
    short = tone(440, 0.5, samples=96_000)
    np.save(tmp_path / "00000.npy", short)
    # Act
    window = contract.load_window(str(tmp_path / "00000.npy"))
    # Assess
    assert window.dtype == np.float32 and window.shape == (contract.WINDOW_SAMPLES,)
    np.testing.assert_array_equal(window[:96_000], short)
    assert not window[96_000:].any()


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros((2, 160_000), dtype=np.float32), "expected mono"),
        (np.zeros(160_000, dtype=np.int16), "expected float32"),
        (np.zeros(160_001, dtype=np.float32), "160001 samples"),
        (np.full(160_000, np.nan, dtype=np.float32), "NaN"),
    ],
)
def test_load_window_rejects_what_is_not_a_16khz_mono_float_window(tmp_path, samples, message):
    # Prepare
    np.save(tmp_path / "00000.npy", samples)
    # Act / Assess
    with pytest.raises(InvalidInput, match=message):
        contract.load_window(str(tmp_path / "00000.npy"))


def test_output_names_carry_the_host_only_when_several_instances_share_the_job(tmp_path):
    # Prepare
    single, several = tmp_path / "one.json", tmp_path / "two.json"
    single.write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    several.write_text(json.dumps({"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}))
    # Act
    names = [contract.output_names(contract.read_host_placement(str(path))) for path in (single, several, tmp_path / "absent.json")]
    # Assess
    assert [(n.captions, n.run_info) for n in names] == [
        ("captions.json", "captioner.json"),
        ("captions-algo-2.json", "captioner-algo-2.json"),
        ("captions.json", "captioner.json"),
    ]


def test_failure_message_stays_within_1_kb_without_splitting_a_character(tmp_path):
    # Prepare
    reason = "InvalidInput: " + "é" * 2000
    path = tmp_path / "output" / "message"
    # Act
    contract.write_failure(str(path), reason)
    # Assess
    written = path.read_bytes()
    assert len(written) <= 1024 and len(written) >= 1022
    assert reason.startswith(written.decode("utf-8"))
