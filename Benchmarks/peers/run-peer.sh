#!/usr/bin/env bash
# Run a Python benchmark peer in its own virtualenv.
#
#   Benchmarks/peers/run-peer.sh PEER_NAME SCRIPT.py [args...]
#
# - The venv lives at $REPO/.build-peers/venv-PEER_NAME (created with
#   `python3 -m venv`; set PYTHON to use another interpreter).
# - Benchmarks/peers/requirements-PEER_NAME.txt is installed into it whenever
#   that file is newer than the venv's stamp file (or the venv is new).
# - pip output goes to stderr only, so the peer's stdout stays machine-readable.
# - SCRIPT.py is resolved against the current directory first, then the repo
#   root, then this directory; works from any cwd.
# - The peer's exit status is passed through unchanged.
set -euo pipefail

die() { echo "run-peer: error: $*" >&2; exit 1; }

[[ $# -ge 2 ]] || die "usage: $(basename "$0") PEER_NAME SCRIPT.py [args...]"
peer=$1 script=$2
shift 2
[[ $peer =~ ^[A-Za-z0-9_.-]+$ ]] || die "invalid peer name '$peer' (use letters, digits, '_', '.', '-')"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

reqs="$here/requirements-$peer.txt"
[[ -f $reqs ]] || die "no requirements file for peer '$peer': $reqs"

if [[ -f $script ]]; then :
elif [[ -f $repo/$script ]]; then script="$repo/$script"
elif [[ -f $here/$script ]]; then script="$here/$script"
else die "peer script not found: $script"
fi

venv="$repo/.build-peers/venv-$peer"
stamp="$venv/.requirements-stamp"
mkdir -p "$repo/.build-peers"

# Serialise venv setup between concurrent runs of the same peer.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$repo/.build-peers/venv-$peer.lock"
    flock 9
fi

# (Re)create the venv if it is missing or its interpreter no longer runs
# (e.g. the base Python it was made from went away).
if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf -- "$venv"
    echo "run-peer: creating venv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv" >&2 || die "could not create venv at $venv"
fi

if [[ ! -f $stamp || $reqs -nt $stamp ]]; then
    echo "run-peer: installing $(basename "$reqs") into venv-$peer (may compile native code)" >&2
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs" >&2; then
        rm -f -- "$stamp"
        die "pip install -r $reqs failed for peer '$peer' (see pip output above)"
    fi
    touch "$stamp"
fi

# Release the setup lock before running the (possibly long) benchmark.
if command -v flock >/dev/null 2>&1; then exec 9>&-; fi

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
unset PYTHONHOME
exec "$venv/bin/python" "$script" "$@"
