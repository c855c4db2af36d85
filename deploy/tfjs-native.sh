#!/usr/bin/env bash
# setup-native.sh [PROJECT_DIR]
#
# Makes @tensorflow/tfjs-node work without storage.googleapis.com:
#   * libtensorflow (C API) is taken from the PyPI `tensorflow-cpu` wheel,
#   * the napi addon tfjs_binding.node is compiled locally with node-gyp
#     (node-pre-gyp's prebuilt download fails fast, then it falls back to build).
#
# Env knobs:
#   TF_WHEEL_VERSION  2.15.1 (default; wheel ships a Python-free libtensorflow_cc.so.2)
#                     2.9.1  (the exact libtensorflow tfjs-node 4.22 was built for; its C API
#                             lives in _pywrap_tensorflow_internal.so, which needs Python
#                             symbols -> we patchelf in a tiny stub library)
#   TFJS_NODE_VERSION 4.22.0
#   TFJS_NATIVE_CACHE where the wheel / extracted files are kept (default ~/.cache/tfjs-native)
# Needs: node+npm, python3+pip, gcc/g++/make, unzip, binutils (nm) for 2.9.1.
set -euo pipefail

PROJ=$(cd "${1:-$PWD}" && pwd)
TF_VER=${TF_WHEEL_VERSION:-2.15.1}
TFJS_VER=${TFJS_NODE_VERSION:-4.22.0}
CACHE=${TFJS_NATIVE_CACHE:-$HOME/.cache/tfjs-native}
PKG="$PROJ/node_modules/@tensorflow/tfjs-node"
log() { echo "[setup-native] $*" >&2; }

mkdir -p "$CACHE"

# 1. tfjs-node package files (npm drops an optional dep whose install script failed).
if [ ! -f "$PKG/package.json" ]; then
  log "installing @tensorflow/tfjs-node@$TFJS_VER without scripts"
  (cd "$PROJ" && npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$TFJS_VER" >&2)
fi

# 2. wheel from PyPI (~207 MB; a few seconds here).
case "$TF_VER" in
  2.9.*|2.10.*) PYV=3.10 ;;
  *) PYV=3.11 ;;
esac
WHL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VER"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$WHL" ]; then
  log "downloading tensorflow-cpu==$TF_VER wheel (python $PYV)"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    "tensorflow-cpu==$TF_VER" -d "$CACHE" >&2
  WHL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VER"-*.whl | head -1)
fi

# 3. extract only what is needed.
X="$CACHE/tf-$TF_VER"
if [ ! -f "$X/.done" ]; then
  log "extracting libraries and C headers from $(basename "$WHL")"
  rm -rf "$X"; mkdir -p "$X"
  if [ "${TF_VER%%.*}" = 2 ] && [ "$PYV" = 3.10 ]; then
    MAIN=tensorflow/python/_pywrap_tensorflow_internal.so
  else
    MAIN=tensorflow/libtensorflow_cc.so.2
  fi
  unzip -q -o "$WHL" -d "$X" tensorflow/libtensorflow_framework.so.2 "$MAIN" \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
    'tensorflow/include/tsl/*' || true   # tsl/ only exists in newer wheels
  mkdir -p "$X/lib" "$X/include/tensorflow/core"
  mv "$X/tensorflow/libtensorflow_framework.so.2" "$X/lib/"
  cp -r "$X/tensorflow/include/tensorflow/c" "$X/include/tensorflow/"
  cp -r "$X/tensorflow/include/tensorflow/core/platform" "$X/include/tensorflow/core/"
  [ -d "$X/tensorflow/include/tsl" ] && cp -r "$X/tensorflow/include/tsl" "$X/include/"
  if [ "$MAIN" = tensorflow/libtensorflow_cc.so.2 ]; then
    mv "$X/$MAIN" "$X/lib/libtensorflow_cc.so.2"
    MAINLIB=libtensorflow_cc.so.2
  else
    # _pywrap_tensorflow_internal.so exports the whole TF C API but references
    # CPython symbols (data ones like PyBaseObject_Type must resolve at load).
    # Give it a stub that defines them (they are never called from Node).
    log "building CPython stub + patchelf (2.9.x route)"
    python3 -m pip install -q --target "$CACHE/tools" patchelf >&2
    nm -D --undefined-only "$X/$MAIN" | awk '{print $2}' | sed 's/@.*//' \
      | grep -E '^_?Py' | sort -u > "$X/py-undef.txt"
    python3 - "$X/py-undef.txt" "$X/pystub.c" <<'EOF'
import re, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
out = ['#include <stdio.h>', '#include <stdlib.h>',
       'static void fail(const char*n){fprintf(stderr,"tfjs pystub: %s called\\n",n);abort();}']
for n in names:
    if re.search(r'(_Type|Struct)$', n) or n.startswith('PyExc_'):
        out.append('char %s[512] __attribute__((aligned(64)));' % n)
    elif n == 'Py_IsInitialized':
        out.append('int Py_IsInitialized(void){return 0;}')
    else:
        out.append('void %s(void){fail("%s");}' % (n, n))
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
EOF
    gcc -shared -fPIC -O1 -w -Wl,-soname,libtfjs_pystub.so -o "$X/lib/libtfjs_pystub.so" "$X/pystub.c"
    mv "$X/$MAIN" "$X/lib/libtensorflow.so.2"
    "$CACHE/tools/bin/patchelf" --set-soname libtensorflow.so.2 --set-rpath '$ORIGIN' \
      --add-needed libtfjs_pystub.so "$X/lib/libtensorflow.so.2"
    MAINLIB=libtensorflow.so.2
  fi
  echo "$MAINLIB" > "$X/mainlib"
  rm -rf "$X/tensorflow"
  touch "$X/.done"
fi
MAINLIB=$(cat "$X/mainlib")

# 4. stage into the layout tfjs-node's install.js / binding.gyp expect:
#    deps/lib/libtensorflow.so.2.9.1 (existence => skip download), deps/lib/libtensorflow.so,
#    deps/lib/libtensorflow_framework.so (for -l), deps/include/tensorflow/c/*.h
log "staging into $PKG/deps"
rm -rf "$PKG/deps" "$PKG/lib" "$PKG"/build-tmp-napi-v*
mkdir -p "$PKG/deps/lib" "$PKG/deps/include"
for f in "$X"/lib/*; do cp -l "$f" "$PKG/deps/lib/" 2>/dev/null || cp "$f" "$PKG/deps/lib/"; done
cp -r "$X/include/." "$PKG/deps/include/"
(cd "$PKG/deps/lib" &&
  ln -sf "$MAINLIB" libtensorflow.so &&
  ln -sf "$MAINLIB" libtensorflow.so.2.9.1 &&
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so &&
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1)

# 5. build the addon (node-pre-gyp: prebuilt download fails fast -> node-gyp build).
NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$NODE_PREFIX/include/node/common.gypi" ]; then
  export npm_config_nodedir="$NODE_PREFIX"   # avoid node-gyp fetching headers from nodejs.org
fi
log "building tfjs_binding.node (nodedir=${npm_config_nodedir:-<node-gyp default>})"
(cd "$PKG" && PATH="$PROJ/node_modules/.bin:$PATH" node scripts/install.js >&2)
# install.js exits 0 even on some failures; check the artefact.
ADDON=$(ls "$PKG"/lib/napi-v*/tfjs_binding.node 2>/dev/null | head -1 || true)
[ -n "$ADDON" ] || { log "build failed: no tfjs_binding.node"; exit 1; }

# 6. smoke test
(cd "$PROJ" && TF_CPP_MIN_LOG_LEVEL=2 node -e "
const tf = require('@tensorflow/tfjs-node');
const r = tf.tensor2d([[1,2],[3,4]]).matMul(tf.tensor2d([[1,0],[0,1]])).dataSync();
if (tf.getBackend() !== 'tensorflow' || r[3] !== 4) throw new Error('bad');
console.error('[setup-native] OK: backend', tf.getBackend(), 'libtensorflow', tf.backend().binding.TF_Version);
")
