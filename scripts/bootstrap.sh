#!/usr/bin/env bash
# Installs what building RouterShift needs on a fresh Debian or Ubuntu machine: OpenBLAS, SQLite and
# pkg-config. Skips what is already there. Sourced by the quick-start scripts, which may call
# `ensure_packages` for more (the test script adds chromium, for the dashboard's browser test).
set -euo pipefail

ensure_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    echo "bootstrap: installing ${missing[*]}" >&2
    local sudo_if_needed=()
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL's server binaries, for the store tests' private cluster (scripts/postgres.sh). Debian's package would
# start its own cluster as a system service; the tests never use one, so service starts are refused during the install.
ensure_postgres() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
    local sudo_if_needed=()
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo_if_needed[@]}" tee "$policy" >/dev/null
        "${sudo_if_needed[@]}" chmod +x "$policy"
        added_policy=1
    fi
    local installed=0
    ensure_packages postgresql-15 || installed=$?
    [ -z "$added_policy" ] || "${sudo_if_needed[@]}" rm -f "$policy"
    return "$installed"
}

ensure_packages libopenblas-dev libsqlite3-dev pkg-config

command -v swift >/dev/null || {
    echo "bootstrap: swift is not on PATH; install Swift 6 (https://www.swift.org/install/linux/)" >&2
    exit 1
}
