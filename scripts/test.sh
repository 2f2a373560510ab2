#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: the Swift suites (the store suites on SQLite and on a private
# PostgreSQL cluster), a short run of each fuzz target, the end-to-end suite with the official Python SDKs and
# headless chromium, then the VectorIndex suites again under ThreadSanitizer. What it needs and lacks (apt packages,
# PostgreSQL, the embedding model, the SDKs in .venv), it installs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
# The dashboard's end-to-end test loads /ui in a real headless browser.
ensure_packages chromium
export ROUTERSHIFT_REQUIRE_BROWSER=1
# The store suites run on SQLite and on PostgreSQL: a private cluster, stopped when the script ends.
ensure_postgres

# Two cores, shared with the event loops: BLAS must not start threads of its own.
export OPENBLAS_NUM_THREADS=1
# The model goes to (and is read from) the checkout's git-ignored data/models/, not the per-user data folder.
export ROUTERSHIFT_HOME="$PWD/data"

echo "==> swift build --build-tests" >&2
swift build --build-tests
echo "==> routershift model fetch" >&2
.build/debug/routershift model fetch
echo "==> private PostgreSQL cluster for the store tests (scripts/postgres.sh)" >&2
trap './scripts/postgres.sh stop' EXIT
ROUTERSHIFT_TEST_POSTGRES_URL="$(./scripts/postgres.sh start)"
export ROUTERSHIFT_TEST_POSTGRES_URL
echo "==> swift test" >&2
swift test --skip-build

echo "==> fuzz smoke: each libFuzzer target for 20 s from its seeds" >&2
./scripts/fuzz.sh --seconds 20

echo "==> end-to-end tests with the official OpenAI, Anthropic and Gemini SDKs" >&2
ROUTERSHIFT_BIN=.build/debug/routershift ./scripts/e2e.sh

echo "==> VectorIndex tests under ThreadSanitizer" >&2
# The package reduced to the vector index and its tests (Package.swift), so only those are instrumented.
ROUTERSHIFT_TSAN_SUBSET=1 swift build --build-tests --sanitize=thread --scratch-path .build-tsan
ROUTERSHIFT_TSAN_SUBSET=1 swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter VectorIndexTests
