"""Runs from anywhere: a copy of the binary alone, a configuration with relative paths in its own folder, a
per-user data folder for the model, and every command run from an unrelated working directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import REPO, STARTUP_TIMEOUT, _free_port, _stop

CONFIG = """\
server: {{ host: 127.0.0.1, port: {port} }}
database: {{ path: state/routershift.sqlite }}
providers:
  - {{ name: mock, kind: openai, base_url: "{mock_url}/v1", timeout: 5s }}
models:
  - {{ name: gpt-4o-mini, deployments: [ {{ provider: mock, model: gpt-4o-mini }} ] }}
cache: {{ enabled: true, threshold: 0.9, scope: global }}
"""


@pytest.fixture()
def install(routershift_bin: Path, mock_upstream: str, tmp_path: Path):
    """(binary, config, environment, working directory): the binary copied alone, its configuration in
    conf/, an empty data home, and a working directory that holds none of them."""
    binary = tmp_path / "bin" / "routershift"
    binary.parent.mkdir()
    shutil.copy2(routershift_bin, binary)
    config = tmp_path / "conf" / "routershift.yaml"
    config.parent.mkdir()
    port = _free_port()
    config.write_text(CONFIG.format(port=port, mock_url=mock_upstream))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "ROUTERSHIFT_HOME": str(tmp_path / "home"), "OPENBLAS_NUM_THREADS": "1"}
    return binary, config, environment, elsewhere, port


def run(binary: Path, environment: dict, cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(binary), *arguments], env=environment, cwd=cwd, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_database_commands_work_from_another_folder_without_the_model(install, tmp_path: Path):
    binary, config, environment, elsewhere, _ = install
    created = run(binary, environment, elsewhere, "keys", "create", "--name", "anywhere", "-c", str(config))
    assert created.returncode == 0, created.stderr
    assert (config.parent / "state" / "routershift.sqlite").is_file(), "the database is not beside the configuration"
    assert not (elsewhere / "state").exists()
    for arguments in (
        ["keys", "list"], ["cache", "stats"], ["cache", "export"], ["cache", "export", "--vectors"],
        ["cache", "purge", "--id", "1"], ["cache", "purge", "--model", "gpt-4o-mini"], ["logs"], ["stats"],
        ["config", "check"],
    ):
        answer = run(binary, environment, elsewhere, *arguments, "-c", str(config))
        assert answer.returncode == 0, f"{arguments}: {answer.stderr}"
        assert "embedding model" not in answer.stderr + answer.stdout, arguments
    assert not (tmp_path / "home").exists(), "a command that needs no model looked for one"


def test_keys_create_refuses_what_the_admin_api_refuses(install):
    """An unknown team or a limit below 1 is refused before anything is written, as `POST /admin/keys` does."""
    binary, config, environment, elsewhere, _ = install
    for arguments, named in ((["--team", "reserch"], "reserch"), (["--rpm", "0"], "rpm")):
        refused = run(binary, environment, elsewhere, "keys", "create", "--name", "k", *arguments, "-c", str(config))
        assert refused.returncode != 0, arguments
        assert named in refused.stderr, refused.stderr
    listed = run(binary, environment, elsewhere, "keys", "list", "-c", str(config))
    assert listed.returncode == 0 and " k " not in listed.stdout, listed.stdout


def test_keys_update_changes_what_it_is_given_and_refuses_what_a_new_key_could_not_be(install):
    binary, config, environment, elsewhere, _ = install
    created = run(binary, environment, elsewhere, "keys", "create", "--name", "k", "--rpm", "5", "--tpm", "900",
                  "-c", str(config))
    assert created.returncode == 0, created.stderr
    key_id = created.stdout.split()[1]
    updated = run(binary, environment, elsewhere, "keys", "update", key_id, "--name", "k2", "--rpm", "7",
                  "--models", "gpt-4o-mini", "--clear", "tpm", "-c", str(config))
    assert updated.returncode == 0 and f"updated {key_id} (k2)" in updated.stdout, updated.stderr
    listed = run(binary, environment, elsewhere, "keys", "list", "-c", str(config))
    row = next(line for line in listed.stdout.splitlines() if line.startswith(key_id))
    assert " k2 " in row and " gpt-4o-mini " in row and " 7 " in row, row
    for arguments, named in ((["--rpm", "0"], "rpm"), (["--team", "reserch"], "reserch"),
                             (["--clear", "colour"], "colour"), ([], "nothing to change")):
        refused = run(binary, environment, elsewhere, "keys", "update", key_id, *arguments, "-c", str(config))
        assert refused.returncode != 0 and named in refused.stderr, (arguments, refused.stderr)
    missing = run(binary, environment, elsewhere, "keys", "update", "key_nobody", "--rpm", "3", "-c", str(config))
    assert missing.returncode != 0 and "no key" in missing.stderr


def test_serve_names_the_data_folder_when_the_model_is_missing(install, tmp_path: Path):
    binary, config, environment, elsewhere, _ = install
    answer = run(binary, environment, elsewhere, "serve", "-c", str(config))
    assert answer.returncode != 0
    assert str(tmp_path / "home" / "models" / "all-MiniLM-L6-v2") in answer.stderr
    assert "routershift model fetch" in answer.stderr


def test_an_installed_binary_serves_with_its_built_in_prices_and_verifier(install, tmp_path: Path):
    binary, config, environment, elsewhere, port = install
    model = REPO / "data" / "models" / "all-MiniLM-L6-v2"
    (tmp_path / "home" / "models").mkdir(parents=True)
    (tmp_path / "home" / "models" / "all-MiniLM-L6-v2").symlink_to(model)
    verified = run(binary, environment, elsewhere, "model", "verify")
    assert verified.returncode == 0 and str(tmp_path / "home") in verified.stdout, verified.stderr
    created = run(binary, environment, elsewhere, "keys", "create", "--name", "client", "-c", str(config))
    key = created.stdout.strip().splitlines()[-1]
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(binary), "serve", "-c", str(config)], env=environment, cwd=elsewhere, stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        healthy = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(f"{base}/health", timeout=1.0)
                if healthy.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert healthy is not None and healthy.status_code == 200, log.read_text()
        headers = {"Authorization": f"Bearer {key}"}
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "priced from the binary"}]}
        answer = httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        _stop(process)
    logs = run(binary, environment, elsewhere, "logs", "--json", "-c", str(config))
    records = [json.loads(line) for line in logs.stdout.splitlines() if line.strip()]
    assert records and records[0]["model"] == "gpt-4o-mini"
    assert records[0]["cost"] > 0, "the built-in price table priced nothing"
