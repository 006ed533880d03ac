"""Key yardstick for bench/lib/eval-key.ts (never a dependency of the product): librosa's constant-Q chroma
(tuning estimated by librosa), summed over the track, correlated with the 24 rotations of the
Krumhansl-Kessler profiles. Prints {file: "Tonic mode" | null} as JSON.

    python3 bench/lib/key-yardstick.py FILE...
"""
import json
import sys

import numpy as np
import librosa

PITCHES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_of(path):
    y, sr = librosa.load(path, sr=22050, mono=True)
    if not np.any(y):
        return None
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).sum(axis=1)
    best, name = -2.0, None
    for tonic in range(12):
        for mode, profile in (('major', MAJOR), ('minor', MINOR)):
            r = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
            if r > best:
                best, name = r, f'{PITCHES[tonic]} {mode}'
    return name


if __name__ == '__main__':
    print(json.dumps({path: key_of(path) for path in sys.argv[1:]}))
