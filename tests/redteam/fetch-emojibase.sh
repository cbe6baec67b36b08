#!/usr/bin/env bash
# Fetch emojibase-data@17.0.0 (MIT; CLDR annotations under the Unicode License) from npm into a
# git-ignored cache and print the path of its English data.json. Idempotent: a second run with
# the package already in place installs nothing.
#
#   tests/redteam/fetch-emojibase.sh            # cache in tests/redteam/.cache/
#   SIGIL_NPM_CACHE=/some/dir tests/redteam/fetch-emojibase.sh
#
# stdout carries only the path (so `DATA=$(tests/redteam/fetch-emojibase.sh)` works);
# npm's own output goes to stderr.
set -euo pipefail

PKG=emojibase-data
VERSION=17.0.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SIGIL_NPM_CACHE:-$here/.cache}"
data="$cache/node_modules/$PKG/en/data.json"
pkgjson="$cache/node_modules/$PKG/package.json"

installed_version() {
    [ -f "$pkgjson" ] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$pkgjson" 2>/dev/null || true
}

if [ ! -f "$data" ] || [ "$(installed_version)" != "$VERSION" ]; then
    command -v npm >/dev/null 2>&1 || { echo "fetch-emojibase: npm not found on PATH" >&2; exit 1; }
    mkdir -p "$cache"
    # A package.json of its own keeps npm from walking up into some other project.
    [ -f "$cache/package.json" ] || printf '{\n  "name": "sigil-redteam-cache",\n  "private": true\n}\n' >"$cache/package.json"
    echo "fetch-emojibase: installing $PKG@$VERSION into $cache" >&2
    npm install --prefix "$cache" --save-exact --ignore-scripts --no-audit --no-fund "$PKG@$VERSION" >&2
fi

if [ ! -f "$data" ] || [ "$(installed_version)" != "$VERSION" ]; then
    echo "fetch-emojibase: $data missing or not version $VERSION after install" >&2
    exit 1
fi
echo "$data"
