#!/usr/bin/env bash
# Installs routershift: one release build and a copy of the binary, which carries its price table and
# verifier. The embedding model is fetched into the per-user data folder ($ROUTERSHIFT_HOME, else
# $XDG_DATA_HOME/routershift, else ~/.local/share/routershift) by `routershift model fetch`.
#
#   scripts/install.sh                 # into ~/.local/bin
#   PREFIX=/usr/local scripts/install.sh
#   scripts/install.sh --no-model      # skip the model fetch
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
prefix="${PREFIX:-$HOME/.local}"
fetch_model=1
for argument in "$@"; do
    case "$argument" in
        --no-model) fetch_model=0 ;;
        *) echo "install: unknown argument '$argument' (try --no-model)" >&2; exit 2 ;;
    esac
done

echo "==> swift build -c release --product routershift" >&2
swift build -c release --product routershift
mkdir -p "$prefix/bin"
install -m 0755 "$(swift build -c release --show-bin-path)/routershift" "$prefix/bin/routershift"
echo "==> installed $prefix/bin/routershift" >&2
if [[ $fetch_model -eq 1 ]]; then
    "$prefix/bin/routershift" model fetch
fi
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "==> add $prefix/bin to PATH to run routershift by name" >&2 ;;
esac
