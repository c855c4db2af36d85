#!/usr/bin/env bash
# Creates bench/reference/.venv with the pinned reference toolkits (Surprise, cornac, River).
# Python is for this bench only: nothing in rxrec or its tests imports it.
#   bash bench/reference/setup.sh            # PYTHON=python3.11 to choose the interpreter
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"
stamp="$venv/.requirements"

if [[ -f "$stamp" ]] && cmp -s "$stamp" "$here/requirements.txt"; then
  echo "bench/reference: $venv is up to date" >&2
  exit 0
fi
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  { echo "bench/reference: $python is $("$python" --version 2>&1); the references need Python 3.10 or newer (set PYTHON)" >&2; exit 1; }
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Wheels only: a toolkit that would have to be compiled here is a pin to change, not a build to attempt.
"$venv/bin/python" -m pip install --quiet --only-binary=:all: -r "$here/requirements.txt"
"$venv/bin/python" -c 'import surprise, cornac, river; print(f"bench/reference: surprise {surprise.__version__}, cornac {cornac.__version__}, river {river.__version__}")' >&2
cp "$here/requirements.txt" "$stamp"
