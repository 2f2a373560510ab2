#!/usr/bin/env bash
# Sets up a fresh machine and runs the gateway with data/routershift.yaml in front of the local mock
# upstream, so a first run needs no provider account. Installs what is missing (apt packages, the
# embedding model), builds in release mode, then serves on http://127.0.0.1:4000 until Ctrl-C.
#
#   ./scripts/serve.sh                      # default configuration, with the mock upstream
#   ./scripts/serve.sh -c routershift.yaml  # your own configuration (no mock is started)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
export OPENBLAS_NUM_THREADS=1
# The model goes to (and is read from) the checkout's git-ignored data/models/, not the per-user data folder.
export ROUTERSHIFT_HOME="$PWD/data"

echo "==> swift build -c release" >&2
swift build -c release --product routershift
bin=.build/release/routershift
"$bin" model fetch

if [[ $# -eq 0 ]]; then
    export ROUTERSHIFT_MASTER_KEY="${ROUTERSHIFT_MASTER_KEY:-sk-routershift-local-dev}"
    "$bin" mock-upstream --port 4010 >/dev/null &
    mock=$!
    trap 'kill $mock 2>/dev/null' EXIT
    echo "==> mock upstream on http://127.0.0.1:4010; gateway on http://127.0.0.1:4000" >&2
    echo "==> master key: $ROUTERSHIFT_MASTER_KEY" >&2
    "$bin" serve -c data/routershift.yaml
else
    "$bin" serve "$@"
fi
