#!/usr/bin/env bash
# Install the pinned emoji packages the dataset is built from (DESIGN §5) into a cache folder and
# print the node_modules path to pass to `sigil-host dataset build --npm`.
#
#   models/data/fetch-emoji.sh            # cache: $SIGIL_NPM_CACHE, else ~/.cache/sigil/npm
#   SIGIL_NPM_CACHE=/tmp/npm models/data/fetch-emoji.sh
#
# Idempotent: when the cache already holds the pinned versions nothing is downloaded. Package
# install scripts never run (--ignore-scripts). Needs npm and the npm registry.
set -euo pipefail

CACHE="${SIGIL_NPM_CACHE:-${HOME:?set HOME or SIGIL_NPM_CACHE}/.cache/sigil/npm}"
PACKAGES=(
    "emoji-datasource-twitter@16.0.0"
    "emoji-datasource-google@16.0.0"
    "emojibase-data@17.0.0"
)
MODULES="$CACHE/node_modules"

# version_of NAME: the version in node_modules/NAME/package.json, or nothing.
version_of() {
    local pj="$MODULES/$1/package.json"
    [[ -f "$pj" ]] || return 0
    node -e 'try { process.stdout.write(String(require(process.argv[1]).version)) } catch (e) {}' "$pj"
}

all_pinned() {
    local spec
    for spec in "${PACKAGES[@]}"; do
        [[ "$(version_of "${spec%@*}")" == "${spec##*@}" ]] || return 1
    done
}

command -v node >/dev/null || { echo "fetch-emoji.sh: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }

if ! all_pinned; then
    command -v npm >/dev/null || { echo "fetch-emoji.sh: npm is not installed (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$CACHE"
    echo "fetch-emoji.sh: installing ${PACKAGES[*]} into $CACHE" >&2
    npm install --ignore-scripts --no-audit --no-fund --prefix "$CACHE" "${PACKAGES[@]}" >&2
fi

status=0
for spec in "${PACKAGES[@]}"; do
    name="${spec%@*}" want="${spec##*@}"
    have="$(version_of "$name")"
    if [[ "$have" != "$want" ]]; then
        echo "fetch-emoji.sh: $MODULES/$name/package.json has version '${have:-missing}', expected $want;" \
             "remove $CACHE and run this script again" >&2
        status=1
    fi
done
for dir in emoji-datasource-twitter/img/twitter/64 emoji-datasource-google/img/google/64 emojibase-data/en; do
    [[ -d "$MODULES/$dir" ]] || { echo "fetch-emoji.sh: $MODULES/$dir is missing; remove $CACHE and run this script again" >&2; status=1; }
done
[[ $status == 0 ]] || exit 1
echo "$MODULES"
