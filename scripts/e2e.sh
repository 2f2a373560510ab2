#!/usr/bin/env bash
# End-to-end tests: the real gateway (`routershift serve`) in front of `routershift mock-upstream`, driven
# with the official OpenAI, Anthropic and Gemini Python SDKs. Sets up its own venv in .venv/ on first use.
#
#   scripts/e2e.sh [pytest args...]        e.g. scripts/e2e.sh -k anthropic -x
#   ROUTERSHIFT_BIN=path/to/routershift scripts/e2e.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ROUTERSHIFT_BIN is taken relative to the caller's directory; the default, to the repository's.
bin="${ROUTERSHIFT_BIN:-$root/.build/debug/routershift}"
if [[ ! -f "$bin" || ! -x "$bin" ]]; then
    echo "e2e: no routershift binary at '$bin' (build it with 'swift build' or set ROUTERSHIFT_BIN)" >&2
    exit 2
fi
ROUTERSHIFT_BIN="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
export ROUTERSHIFT_BIN
cd "$root"
# The model goes to (and is read from) the checkout's git-ignored data/models/, not the per-user data folder.
export ROUTERSHIFT_HOME="$PWD/data"

venv=.venv
requirements=Tests/e2e/requirements.txt
stamp="$venv/.e2e-requirements.stamp"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "==> creating $venv" >&2
    python3 -m venv "$venv"
fi
unchecked=Tests/e2e/requirements-nodeps.txt
if [[ ! -f "$stamp" || "$requirements" -nt "$stamp" || "$unchecked" -nt "$stamp" ]]; then
    echo "==> installing $requirements and $unchecked into $venv" >&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" 1>&2
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$unchecked" 1>&2
    touch "$stamp"
fi

# pytest's cache (--lf, --ff) lives in the git-ignored venv.
exec "$venv/bin/python" -m pytest -q -o cache_dir="$venv/.pytest_cache" Tests/e2e "$@"
