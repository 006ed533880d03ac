"""mir_eval's scores of the section bench's boundaries and labels (bench/lib/eval-structure.ts cross-checks its own).

stdin: [{id, reference: {boundaries, labels}, estimate: {boundaries, labels}}]; stdout: [{id, hitRate, pairwiseF}].
Boundary hit rate: mir_eval.segment.detection at ±3 s with trim=True (the track's start and end left out), its recall.
Label agreement: mir_eval.segment.pairwise at 0.1 s frames, its F-measure.
"""
import json
import sys

import numpy as np
import mir_eval


def intervals(boundaries):
    b = np.asarray(boundaries, dtype=float)
    return np.stack([b[:-1], b[1:]], axis=1)


out = []
for piece in json.load(sys.stdin):
    ref, est = piece["reference"], piece["estimate"]
    ref_iv, est_iv = intervals(ref["boundaries"]), intervals(est["boundaries"])
    _, recall, _ = mir_eval.segment.detection(ref_iv, est_iv, window=3.0, trim=True)
    _, _, f = mir_eval.segment.pairwise(ref_iv, ref["labels"], est_iv, est["labels"], frame_size=0.1)
    out.append({"id": piece["id"], "hitRate": float(recall), "pairwiseF": float(f)})
json.dump(out, sys.stdout)
