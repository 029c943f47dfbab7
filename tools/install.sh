#!/usr/bin/env bash
# Install smix and its whole stack into .venv at the repository root, from a bare
# machine (Python 3.11 + pip). Idempotent: a second run only checks and reuses.
#
#   bash tools/install.sh            # timm side + detection side + dev tools
#   SMIX_NO_DET=1 bash tools/install.sh   # timm side only
#
# The mmcv 2.1.0 wheel (source-only on PyPI) is built once with its ops against the installed torch
# (the steps, and the one patch torch's headers need, are below) and cached outside the repository in
# ${SMIX_CACHE:-~/.cache/smix}/wheels/<key>/, key = mmcv, torch, Python, ops flavour.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SMIX_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
CACHE="${SMIX_CACHE:-$HOME/.cache/smix}"
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
OPENCV_VERSION=5.0.0.93

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV"
fi
# A finished install leaves a stamp of what it installed from (this script, setup.py, the options);
# while the stamp matches and the stack imports, a rerun (every `make test` / `make demo`) stops here.
STAMP="$VENV/.smix-install-stamp"
STAMP_KEY="$(cat "$ROOT/tools/install.sh" "$ROOT/setup.py" "$ROOT"/smix_timm/saliency/*.c "$ROOT"/smix_timm/saliency/*.h | sha256sum | cut -c1-16) no_det=${SMIX_NO_DET:+1}"
CHECK_IMPORTS="import smix_timm, cv2; cv2.saliency.StaticSaliencyFineGrained.create(); from smix_timm.saliency import native; assert native.load() is not None"
if [ -z "${SMIX_NO_DET:-}" ]; then CHECK_IMPORTS="$CHECK_IMPORTS; import mmcv.ops, mmdet, smix_mmdet"; fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_KEY" ] \
   && "$VENV/bin/python" -W ignore -c "$CHECK_IMPORTS" >/dev/null 2>&1; then
  log "already installed in $VENV (stamp matches, imports work); rm $STAMP to force a reinstall"
  exit 0
fi
rm -f "$STAMP"
PIP=(pip_quiet)
# pip -q still prints one "Location ... is ignored" warning per package for the local
# wheel mirrors configured on some machines; keep the log readable.
pip_quiet() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; return "${PIPESTATUS[0]}"; }

log "build tools (setuptools<82: mmcv's setup.py and mmengine's mmdet:: lookup need pkg_resources)"
"${PIP[@]}" install -U pip 'setuptools>=77,<82' wheel ninja

log "torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (local disk)"
"${PIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

log "timm side + dev tools"
"${PIP[@]}" install -e "$ROOT[dev]"

if [ -z "${SMIX_NO_DET:-}" ]; then
  log "mmengine 0.10.7"
  "${PIP[@]}" install 'mmengine==0.10.7'

  if "$VENV/bin/python" -c "import mmcv, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null \
     && "$VENV/bin/python" -c "import mmcv.ops" 2>/dev/null; then
    log "mmcv $MMCV_VERSION with ops already installed"
  else
    FLAVOUR=cpu
    if [ -n "${FORCE_CUDA:-}" ] || "$VENV/bin/python" -c "import torch,sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
      FLAVOUR=cuda
      export FORCE_CUDA=1
    fi
    PYTAG=$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    KEY="mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-$PYTAG-$FLAVOUR-$(uname -m)"
    WHEEL_DIR="$CACHE/wheels/$KEY"
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
      log "building mmcv $MMCV_VERSION wheel ($FLAVOUR ops); this takes ~20 min on 2 cores, once"
      BUILD="$(mktemp -d)"
      "${PIP[@]}" download --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
      tar -xzf "$BUILD"/mmcv-*.tar.gz -C "$BUILD"
      SRC="$(ls -d "$BUILD"/mmcv-$MMCV_VERSION)"
      # torch >= 2.13 headers need C++20; mmcv's setup.py forces -std=c++17.
      sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
      grep -q 'c++20' "$SRC/setup.py" || { echo "mmcv setup.py patch for C++20 did not apply" >&2; exit 1; }
      mkdir -p "$WHEEL_DIR.partial"
      ( cd "$SRC" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
          "$VENV/bin/python" -m pip wheel -v --no-build-isolation --no-deps -w "$WHEEL_DIR.partial" . \
          >"$BUILD/build.log" 2>&1 ) &
      BUILD_PID=$!
      START=$SECONDS
      while kill -0 "$BUILD_PID" 2>/dev/null; do
        sleep 60
        STEP=$(grep -o '^ *\[[0-9]*/[0-9]*\]' "$BUILD/build.log" | tail -1 | tr -d " " || true)
        kill -0 "$BUILD_PID" 2>/dev/null && log "mmcv build running: $(( (SECONDS-START)/60 )) min, compile step ${STEP:-[starting]}"
      done
      if ! wait "$BUILD_PID"; then
        tail -40 "$BUILD/build.log" >&2
        echo "mmcv build failed; full log: $BUILD/build.log" >&2
        exit 1
      fi
      rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.partial" "$WHEEL_DIR"
      log "mmcv wheel cached in $WHEEL_DIR ($(( (SECONDS-START)/60 )) min)"
    else
      log "reusing cached mmcv wheel $WHEEL_DIR"
    fi
    "${PIP[@]}" install --no-deps "$WHEEL_DIR"/mmcv-*.whl
  fi
  "${PIP[@]}" install 'mmdet==3.3.0' 'mmcv==2.1.0' -e "$ROOT[det]"
fi

# mmengine/mmcv pull in opencv-python, which shadows contrib and removes
# cv2.saliency. Same version as contrib, then contrib written last over it.
log "opencv-contrib $OPENCV_VERSION (installed last so cv2.saliency exists)"
"${PIP[@]}" install "opencv-python==$OPENCV_VERSION"
"${PIP[@]}" install --force-reinstall --no-deps "opencv-contrib-python-headless==$OPENCV_VERSION"
"$VENV/bin/python" -c "import smix_timm, cv2; cv2.saliency.StaticSaliencyFineGrained.create(); print('cv2', cv2.__version__, 'with saliency: ok')"
if [ -z "${SMIX_NO_DET:-}" ]; then
  "$VENV/bin/python" -c "import mmcv.ops, mmdet, smix_mmdet; print('mmcv', mmcv.__version__, 'ops ok; mmdet', mmdet.__version__)"
fi
echo "$STAMP_KEY" > "$STAMP"
log "done: $VENV"
