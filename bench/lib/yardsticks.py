#!/usr/bin/env python3
"""Yardsticks for `npm run bench:descriptors`: librosa's estimates, and mir_eval's scores of every measurer.

Never a dependency of the product: the bench runs this when python3 has librosa / mir_eval, and prints n/a
(with a note) when it does not.

    python3 bench/lib/yardsticks.py request.json > answer.json

request: {"ffmpeg": path, "workers": n, "librosa": bool,
          "pieces": [{"id", "file", "windows": [[start, end], ...],
                      "tempi": [bpm, ...] | null,     # accepted tempi of a constant-tempo piece
                      "key": "C major" | null,        # reference key of a piece whose notes fit it
                      "estimates": {name: {"bpm": x|null, "key": "…"|null}}}]}
answer:  {"librosa": version|null, "mir_eval": version|null, "notes": [...],
          "pieces": [{"id", "librosa": {"bpm", "key", "windows": [{"bpm", "key"}], "seconds"} | {"error"},
                      "mir_eval": {name: {"tempoExact", "tempoOctave", "keyWeighted"}}}]}

librosa's figures are the textbook recipes:
  tempo  librosa.beat.beat_track (onset strength → tempo with a log-normal prior → Ellis 2007 DP), per window
         librosa.feature.tempo over that window's onset envelope;
  key    "librosa-KS": mean chroma_cqt correlated with the 24 rotations of the Krumhansl–Kessler profiles
         (Krumhansl 1990), per track and per window.
mir_eval scores: mir_eval.tempo.detection with tol=0.04 (hit on any accepted tempo; ×2/×½ for the octave
score) and mir_eval.key.weighted_score.
"""
import json
import os
import subprocess
import sys
import time
from multiprocessing import Pool

SR = 22050
HOP = 512
KEY_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
# Krumhansl & Kessler (1982) probe-tone profiles.
KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]


def decode(ffmpeg, path):
    import numpy as np

    raw = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", str(SR), "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def ks_key(chroma_mean):
    import numpy as np

    if not np.any(chroma_mean > 0):
        return None
    best, best_r = None, -2.0
    for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = np.corrcoef(chroma_mean, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best_r:
                best, best_r = f"{KEY_NAMES[tonic]} {mode}", r
    return best


def as_float(x):
    import numpy as np

    value = float(np.atleast_1d(x)[0])
    return value if np.isfinite(value) and value > 0 else None


def librosa_piece(args):
    ffmpeg, piece = args
    started = time.time()
    try:
        import librosa
        import numpy as np

        y = decode(ffmpeg, piece["file"])
        oenv = librosa.onset.onset_strength(y=y, sr=SR, hop_length=HOP)
        tempo, _beats = librosa.beat.beat_track(onset_envelope=oenv, sr=SR, hop_length=HOP)
        chroma = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=HOP)
        windows = []
        for start, end in piece["windows"]:
            a, b = int(start * SR / HOP), max(int(start * SR / HOP) + 1, int(end * SR / HOP))
            segment = oenv[a:b]
            bpm = as_float(librosa.feature.tempo(onset_envelope=segment, sr=SR, hop_length=HOP)) if segment.size > 8 and np.any(segment > 0) else None
            c = chroma[:, a:b]
            windows.append({"bpm": bpm, "key": ks_key(c.mean(axis=1)) if c.size else None})
        return {"bpm": as_float(tempo), "key": ks_key(chroma.mean(axis=1)), "windows": windows, "seconds": time.time() - started}
    except Exception as error:  # a yardstick that fails on one file is reported, not fatal
        return {"error": f"{type(error).__name__}: {error}", "seconds": time.time() - started}


def mir_eval_scores(piece, estimate):
    import numpy as np
    import mir_eval

    out = {}
    tempi = piece.get("tempi")
    if tempi and "bpm" in estimate:
        bpm = estimate.get("bpm")
        if bpm is None or not (bpm > 0):
            out["tempoExact"] = out["tempoOctave"] = False
        else:
            est = np.array([bpm, bpm], dtype=float)

            def hit(t):
                return mir_eval.tempo.detection(np.array([t, t], dtype=float), 0.5, est, tol=0.04)[1]

            out["tempoExact"] = any(hit(t) for t in tempi)
            out["tempoOctave"] = any(hit(t * f) for t in tempi for f in (1, 2, 0.5))
    if piece.get("key") and "key" in estimate:
        out["keyWeighted"] = mir_eval.key.weighted_score(piece["key"], estimate.get("key") or "X")
    return out


def main():
    request = json.load(open(sys.argv[1]))
    answer = {"librosa": None, "mir_eval": None, "notes": [], "pieces": []}
    try:
        import mir_eval

        answer["mir_eval"] = mir_eval.__version__
    except ImportError:
        answer["notes"].append("mir_eval is not installed: scores are the bench's own TypeScript ones only")
    librosa_ok = False
    if request.get("librosa", True):
        try:
            import librosa

            answer["librosa"] = librosa.__version__
            librosa_ok = True
        except ImportError:
            answer["notes"].append("librosa is not installed: its columns are n/a")
    pieces = request["pieces"]
    if librosa_ok:
        workers = max(1, int(request.get("workers", os.cpu_count() or 1)))
        with Pool(workers) as pool:
            estimates = pool.map(librosa_piece, [(request["ffmpeg"], p) for p in pieces], chunksize=1)
    else:
        estimates = [None] * len(pieces)
    for piece, lib in zip(pieces, estimates):
        row = {"id": piece["id"]}
        if lib is not None:
            row["librosa"] = lib
        if answer["mir_eval"]:
            all_estimates = dict(piece.get("estimates", {}))
            if lib is not None and "error" not in lib:
                all_estimates["librosa"] = {"bpm": lib["bpm"], "key": lib["key"]}
            row["mir_eval"] = {name: mir_eval_scores(piece, est) for name, est in all_estimates.items()}
        answer["pieces"].append(row)
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
