#!/usr/bin/env bash
# The Caption container's checks on a machine with an NVIDIA GPU (issue 11): run from the repository root,
#   bash sagemaker/gpu-check.sh                     on a bare Linux box with python3 and an NVIDIA GPU
#   GPU_CHECK_SMOKE=1 bash sagemaker/gpu-check.sh   anywhere: a tiny network, a few windows, CPU allowed
# 1. makes sure python3 has torch and transformers (installs them with pip from whatever index pip is set up for,
#    or the offline wheel folders /opt/pypi*/simple where they exist), and numpy, pytest, jsonschema for the tests;
# 2. runs the container's pytest suite (sagemaker/tests), the tiny real-network test included, on this machine;
# 3. times the entrypoint with a full-size LP-MusicCaps-shaped BART (random weights, bart-base dimensions) at
#    batch 8/16/32/64 in fp32 and once in bf16, printing seconds per window, load time and the GPU's name, and
#    writing the figures to $OUT/gpu-figures.json when OUT is set.
# Every stage has a hard timeout, and the whole run stays under 6 minutes. Exit status: 0 when every stage
# passed; otherwise the number of stages that failed (the figures measured so far are kept either way).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SMOKE="${GPU_CHECK_SMOKE:-0}"
TOTAL_BUDGET_S="${GPU_CHECK_BUDGET_S:-340}"  # under 6 minutes with the machine's own start-up left over
INSTALL_LIMIT_S="${GPU_CHECK_INSTALL_S:-150}"
TESTS_LIMIT_S=90
FIGURES="${OUT:+$OUT/gpu-figures.json}"
failures=0
started=$SECONDS

say() { printf '\n== %s (%d s in)\n' "$*" "$((SECONDS - started))"; }
left() { echo $((TOTAL_BUDGET_S - (SECONDS - started))); }
# The smaller of a stage's own limit and what the whole run has left, keeping `reserve` s for later stages.
limit() {
  local own=$1 reserve=$2 rest
  rest=$(($(left) - reserve))
  if [ "$rest" -lt "$own" ]; then own=$rest; fi
  if [ "$own" -lt 10 ]; then own=10; fi
  echo "$own"
}

say "machine"
uname -srm
"$PYTHON" --version || { echo "gpu-check: no $PYTHON on PATH; set PYTHON=/path/to/python3"; exit 1; }
if command -v nvidia-smi >/dev/null 2>&1; then
  timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi failed"
else
  echo "no nvidia-smi on PATH"
fi

say "python packages"
have() { "$PYTHON" -c "import $1" >/dev/null 2>&1; }
missing=()
for module in torch transformers tokenizers numpy; do have "$module" || missing+=("$module"); done
test_missing=()
for module in pytest jsonschema; do have "$module" || test_missing+=("$module"); done
if [ ${#missing[@]} -eq 0 ] && [ ${#test_missing[@]} -eq 0 ]; then
  echo "torch, transformers, tokenizers, numpy, pytest and jsonschema are all importable"
else
  echo "missing: ${missing[*]} ${test_missing[*]}; installing with pip"
  indexes=()
  for folder in /opt/pypi/simple /opt/pypi-more/simple; do
    if [ -d "$folder" ]; then
      if [ ${#indexes[@]} -eq 0 ]; then indexes+=(--index-url "file://$folder"); else indexes+=(--extra-index-url "file://$folder"); fi
    fi
  done
  [ ${#indexes[@]} -gt 0 ] && echo "using the offline wheel folders: ${indexes[*]}"
  pip_log=$(mktemp)
  # The model's libraries first, then the tests', so what did install stays installed if the rest fails.
  for group in "${missing[*]}" "${test_missing[*]}"; do
    [ -n "$group" ] || continue
    echo "pip install $group"
    # A bare box's system Python may be "externally managed" (PEP 668); this one-off machine may be changed.
    # shellcheck disable=SC2086 # the group is a list of names
    PIP_BREAK_SYSTEM_PACKAGES=1 timeout "$(limit "$INSTALL_LIMIT_S" 150)" "$PYTHON" -m pip install \
      --disable-pip-version-check "${indexes[@]}" $group >"$pip_log" 2>&1
    status=$?
    # pip's own words, less its complaints about index folders that lack a package.
    grep -v -e "is ignored: it is neither a file nor a directory" -e "^Processing " -e "already satisfied" "$pip_log" | tail -n 12
    if [ "$status" -eq 124 ]; then
      echo "gpu-check: pip ran out of time installing $group"
    elif [ "$status" -ne 0 ]; then
      echo "gpu-check: pip could not install $group (exit $status; no reachable index or no matching wheel?)."
      echo "  Install torch (with CUDA) and transformers into $PYTHON by hand, or point pip at a mirror"
      echo "  (PIP_INDEX_URL=...), then run this script again."
    fi
  done
  rm -f "$pip_log"
  for module in torch transformers tokenizers numpy; do
    if ! have "$module"; then echo "gpu-check: $module is still missing; nothing can be measured"; exit 1; fi
  done
fi
"$PYTHON" - <<'PY'
import torch, transformers
cuda = torch.cuda.is_available()
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), transformers {transformers.__version__}; "
      f"GPU: {torch.cuda.get_device_name(0) if cuda else 'none visible to torch'}")
PY
device=cpu
if "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  device=cuda
elif [ "$SMOKE" != "1" ]; then
  echo "gpu-check: torch sees no CUDA device (is this torch a CPU build? see 'torch ... (CUDA None)' above)."
  echo "  The tests still run; the timing needs a GPU (GPU_CHECK_SMOKE=1 times a tiny network on the CPU)."
  failures=$((failures + 1))
fi

say "the container's pytest suite"
if have pytest && have jsonschema; then
  if ! timeout "$(limit $TESTS_LIMIT_S 120)" "$PYTHON" -m pytest sagemaker/tests -q -rs -p no:cacheprovider; then
    echo "gpu-check: the pytest suite failed or ran out of time (status above)"
    failures=$((failures + 1))
  fi
else
  echo "gpu-check: pytest or jsonschema is missing, so the suite was not run"
  failures=$((failures + 1))
fi

say "timing the entrypoint"
if [ "$SMOKE" = "1" ]; then
  timing=(--shape tiny --windows 4 --batch-sizes 2,4 --bf16-batch 2 --max-length 12 --device "$device")
elif [ "$device" = cuda ]; then
  timing=(--shape full --windows 64 --batch-sizes 8,16,32,64 --bf16-batch 32 --device cuda)
else
  timing=()
fi
if [ ${#timing[@]} -gt 0 ]; then
  [ -n "$FIGURES" ] && mkdir -p "$OUT" && timing+=(--json "$FIGURES")
  if ! timeout "$(limit 600 0)" "$PYTHON" sagemaker/gpu_timing.py "${timing[@]}"; then
    echo "gpu-check: the timing failed or ran out of time; the figures measured before that are kept"
    failures=$((failures + 1))
  fi
  [ -n "$FIGURES" ] && [ -f "$FIGURES" ] && echo "figures: $FIGURES"
fi

say "done: $failures stage(s) failed"
exit "$failures"
