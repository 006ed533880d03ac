"""The entrypoint end to end on temporary folders laid out like a Processing Job's, with the stand-in model."""

import json
import subprocess
import sys

import pytest

from conftest import SAGEMAKER_DIR, hiss, tone, write_song
from music_captioner.entrypoint import main, parse_settings
from music_captioner.errors import InvalidInput


def job_args(windows_dir, manifest_path, tmp_path, *extra):
    return [
        "--windows-dir", str(windows_dir),
        "--manifest", str(manifest_path),
        "--model-dir", str(tmp_path / "model"),
        "--output-dir", str(tmp_path / "out"),
        "--resource-config", str(tmp_path / "resourceconfig.json"),
        "--failure-file", str(tmp_path / "message"),
        *extra,
    ]


def test_writes_captions_and_a_run_summary_by_the_shared_contract(tmp_path, schema_validator, capsys):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5), tone(880, 0.25), hiss(1e-5)], duration_sec=27.0)
    # Act
    status = main(job_args(windows_dir, manifest_path, tmp_path, "--backend", "stub", "--batch-size", "2"), env={})
    # Assess
    assert status == 0
    captions = json.loads((tmp_path / "out" / "captions.json").read_text())
    run_info = json.loads((tmp_path / "out" / "captioner.json").read_text())
    schema_validator(captions, "captions.schema.json")
    assert [(c["index"], c["startSec"], c["endSec"]) for c in captions] == [(0, 0.0, 10.0), (1, 10.0, 20.0), (2, 17.0, 27.0)]
    assert set(run_info) == {"backend", "model", "windows", "seconds"}
    assert (run_info["backend"], run_info["windows"]) == ("stub", 3)
    assert "captioned 2/3 windows" in capsys.readouterr().out
    assert not (tmp_path / "message").exists()


def test_each_of_several_instances_writes_its_own_part_and_the_parts_cover_the_song(tmp_path, schema_validator):
    # Prepare: ShardedByS3Key gives algo-1 the even windows and algo-2 the odd ones.
    song = [tone(100 * (i + 1), 0.5) for i in range(5)]
    parts = []
    for host, keep in (("algo-1", {0, 2, 4}), ("algo-2", {1, 3})):
        folder = tmp_path / host
        windows_dir, manifest_path = write_song(folder, song)
        for index in set(range(5)) - keep:
            (windows_dir / f"{index:05d}.npy").unlink()
        (folder / "resourceconfig.json").write_text(json.dumps({"current_host": host, "hosts": ["algo-1", "algo-2"]}))
        # Act
        status = main(job_args(windows_dir, manifest_path, folder, "--backend", "stub"), env={})
        # Assess
        assert status == 0
        assert sorted(p.name for p in (folder / "out").iterdir()) == [f"captioner-{host}.json", f"captions-{host}.json"]
        part = json.loads((folder / "out" / f"captions-{host}.json").read_text())
        schema_validator(part, "captions.schema.json")
        parts.append(part)
    assert sorted(entry["index"] for part in parts for entry in part) == [0, 1, 2, 3, 4]


def test_an_instance_that_received_no_windows_writes_an_empty_part(tmp_path, schema_validator):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)])
    (windows_dir / "00000.npy").unlink()
    (tmp_path / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-3", "hosts": ["algo-1", "algo-2", "algo-3"]}))
    # Act
    status = main(job_args(windows_dir, manifest_path, tmp_path), env={})
    # Assess
    assert status == 0
    part = json.loads((tmp_path / "out" / "captions-algo-3.json").read_text())
    assert part == []
    schema_validator(part, "captions.schema.json")
    assert json.loads((tmp_path / "out" / "captioner-algo-3.json").read_text())["windows"] == 0


def test_flags_override_the_state_machines_environment_which_overrides_the_defaults():
    # Act
    from_env = parse_settings([], {"CAPTION_BATCH_SIZE": "16", "CAPTION_NUM_BEAMS": "3"})
    from_flags = parse_settings(["--batch-size", "2"], {"CAPTION_BATCH_SIZE": "16"})
    # Assess
    assert (from_env.generation.batch_size, from_env.generation.num_beams, from_env.generation.max_length) == (16, 3, 128)
    assert from_flags.generation.batch_size == 2
    assert parse_settings([], {"CAPTION_BATCH_SIZE": "auto"}).generation.batch_size is None  # by device
    assert parse_settings(["--batch-size", "auto"], {"CAPTION_BATCH_SIZE": "16"}).generation.batch_size is None
    assert (from_flags.windows_dir, from_flags.failure_file) == ("/opt/ml/processing/input/windows", "/opt/ml/output/message")


@pytest.mark.parametrize(
    "argv, env, message",
    [
        (["--batch-size", "0"], {}, "--batch-size must be at least 1"),
        ([], {"CAPTION_NUM_BEAMS": "five"}, "CAPTION_NUM_BEAMS must be a whole number"),
        ([], {"CAPTION_NUM_BEAMS": "auto"}, "CAPTION_NUM_BEAMS must be a whole number"),
        ([], {"CAPTION_PRECISION": "fp16"}, "the precision must be fp32 or bf16"),
        (["--device", "tpu"], {}, "bad arguments"),
    ],
)
def test_bad_settings_are_invalid_input(argv, env, message):
    # Act / Assess
    with pytest.raises(InvalidInput, match=message):
        parse_settings(argv, env)


def test_a_missing_manifest_exits_non_zero_with_the_reason_in_the_failure_file(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)])
    manifest_path.unlink()
    # Act
    status = main(job_args(windows_dir, manifest_path, tmp_path, "--backend", "stub"), env={})
    # Assess
    assert status == 1
    assert (tmp_path / "message").read_text() == f"InvalidInput: the manifest is missing: {manifest_path}"
    assert not (tmp_path / "out").exists()


def test_missing_weights_fail_the_job_with_a_message_naming_the_file(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5)])
    # Act
    status = main(job_args(windows_dir, manifest_path, tmp_path), env={})
    # Assess
    assert status == 1
    message = (tmp_path / "message").read_text()
    assert message.startswith("ModelUnavailable: the weights are missing:")
    assert str(tmp_path / "model" / "transfer.pth") in message


def test_bad_flags_still_reach_the_failure_file(tmp_path):
    # Act
    status = main(["--failure-file", str(tmp_path / "message"), "--no-such-flag"], env={})
    # Assess
    assert status == 1
    assert (tmp_path / "message").read_text().startswith("InvalidInput: bad arguments: unrecognized arguments: --no-such-flag")


def test_runs_as_python_dash_m_and_logs_progress(tmp_path):
    # Prepare
    windows_dir, manifest_path = write_song(tmp_path, [tone(440, 0.5), tone(660, 0.5)])
    # Act
    finished = subprocess.run(
        [sys.executable, "-m", "music_captioner", *job_args(windows_dir, manifest_path, tmp_path, "--backend", "stub", "--batch-size", "1")],
        cwd=SAGEMAKER_DIR, capture_output=True, text=True, timeout=60, env={"CAPTION_MAX_LENGTH": "64", "PATH": "/usr/bin:/bin"},
    )
    # Assess
    assert finished.returncode == 0, finished.stderr
    assert "captioned 1/2 windows" in finished.stdout and "captioned 2/2 windows" in finished.stdout
    assert "at most 64 tokens" in finished.stdout
    assert len(json.loads((tmp_path / "out" / "captions.json").read_text())) == 2
