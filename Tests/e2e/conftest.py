"""Session fixtures: a mock upstream and a real gateway in front of it, both on 127.0.0.1.

`routershift mock-upstream --port 0` picks its own port and prints it; `routershift serve` gets a temporary
configuration (its own database) pointing at that port, and a free port picked here. Both are stopped at the
end of the session: SIGTERM, then SIGKILL after 10 s. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
MAX_BODY_BYTES = 65536

# The SDKs read these from the environment (base URLs, keys, proxies); the suite must only ever talk to the
# servers it started, with the keys it made.
for _name in list(os.environ):
    if _name.startswith(("OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_")):
        del os.environ[_name]
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

CONFIG_TEMPLATE = """\
server: {{ host: 127.0.0.1, port: 4000, master_key: env:ROUTERSHIFT_MASTER_KEY, max_body_bytes: {max_body}{server_extra} }}
database: {{ path: {database} }}
providers:
  - {{ name: mock-openai, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", timeout: 5s }}
  - {{ name: mock-anthropic, kind: anthropic, base_url: "http://127.0.0.1:{mock_port}", timeout: 5s }}
  - {{ name: mock-gemini, kind: gemini, base_url: "http://127.0.0.1:{mock_port}/v1beta", timeout: 5s }}
models:
  # Only `cached` goes through the semantic cache: the other tests check what the upstream answers.
  - {{ name: gpt-4o-mini, cache: false, deployments: [ {{ provider: mock-openai, model: mock-small }} ] }}
  - {{ name: claude-via-openai, cache: false, deployments: [ {{ provider: mock-openai, model: mock-small }} ] }}
  - {{ name: claude-sonnet-4, cache: false, deployments: [ {{ provider: mock-anthropic, model: mock-large }} ] }}
  - {{ name: gemini-2.5-flash, cache: false, deployments: [ {{ provider: mock-gemini, model: mock-small }} ] }}
  - {{ name: slow, cache: false, deployments: [ {{ provider: mock-openai, model: "mock@latency1500" }} ] }}
  - {{ name: broken, cache: false, deployments: [ {{ provider: mock-openai, model: "mock@fail500" }} ] }}
  - {{ name: text-embedding-3-small, endpoints: [embeddings], deployments: [ {{ provider: mock-openai, model: mock-embedding }} ] }}
  - {{ name: dall-e-3, endpoints: [images], deployments: [ {{ provider: mock-openai, model: mock-image }} ] }}
  - {{ name: whisper-1, endpoints: [audio_transcription], deployments: [ {{ provider: mock-openai, model: mock-whisper }} ] }}
  - {{ name: tts-1, endpoints: [audio_speech], deployments: [ {{ provider: mock-openai, model: mock-tts }} ] }}
  - {{ name: rerank-english-v3.0, endpoints: [rerank], deployments: [ {{ provider: mock-openai, model: mock-rerank }} ] }}
  - {{ name: midjourney, endpoints: [midjourney], deployments: [ {{ provider: mock-openai, model: mock-mj }} ] }}
  - {{ name: suno, endpoints: [suno], deployments: [ {{ provider: mock-openai, model: mock-suno }} ] }}
  - {{ name: broken-images, endpoints: [images], deployments: [ {{ provider: mock-openai, model: "mock@fail500" }} ] }}
  - {{ name: cached, deployments: [ {{ provider: mock-openai, model: mock-small }} ] }}
cache: {{ enabled: true, threshold: 0.9, scope: global, verifier: {{ enabled: false }},
         embedder: {{ kind: local, model_dir: "{repo}/data/models/all-MiniLM-L6-v2" }} }}
pricing: {{ file: "{repo}/data/prices.json" }}
routing: {{ retries: 1, backoff: 10ms, breaker: {{ consecutive_failures: 50 }} }}
"""

CONFIGURED_MODELS = [
    "gpt-4o-mini",
    "claude-via-openai",
    "claude-sonnet-4",
    "gemini-2.5-flash",
    "slow",
    "broken",
    "text-embedding-3-small",
    "dall-e-3",
    "whisper-1",
    "tts-1",
    "rerank-english-v3.0",
    "midjourney",
    "suno",
    "broken-images",
    "cached",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _read_mock_port(process: subprocess.Popen, log: Path) -> int:
    """The port from the mock's `mock upstream listening on http://127.0.0.1:PORT` line, within 30 s."""
    found: dict[str, int] = {}
    ready = threading.Event()

    def reader() -> None:
        # Reads stdout to its end, so the mock never blocks on a full pipe.
        assert process.stdout is not None
        for line in process.stdout:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match and not ready.is_set():
                found["port"] = int(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=reader, name="mock-stdout", daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT) or "port" not in found:
        _stop(process)
        pytest.fail(
            f"mock-upstream did not print 'mock upstream listening on http://127.0.0.1:PORT' on stdout within "
            f"{STARTUP_TIMEOUT:.0f} s (is the line flushed? a pipe is block-buffered); exit status {process.poll()}; "
            f"stderr:\n{_tail(log)}"
        )
    return found["port"]


def _wait_healthy(process: subprocess.Popen, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"routershift serve exited with status {process.returncode}; log:\n{_tail(log)}")
        try:
            response = httpx.get(f"{base_url}/health", timeout=1.0)
            if response.status_code == 200:
                return
            last_error = f"status {response.status_code}"
        except httpx.HTTPError as error:
            last_error = repr(error)
        time.sleep(0.1)
    _stop(process)
    pytest.fail(f"GET {base_url}/health did not answer 200 within {STARTUP_TIMEOUT:.0f} s ({last_error}); log:\n{_tail(log)}")


@dataclass
class Gateway:
    base_url: str
    master_key: str
    mock_url: str
    config_path: Path
    log_path: Path

    def admin(self, method: str, path: str, key: str | None = None, **kwargs) -> httpx.Response:
        """A request to the admin API, with the master key unless `key` is given."""
        headers = {"Authorization": f"Bearer {key or self.master_key}"}
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)

    def create_key(self, name: str | None = None, models: list[str] | None = None, rpm: int | None = None) -> dict:
        """Creates a virtual key; returns the admin API's JSON (`key` is the secret, `id` its id)."""
        body: dict = {"name": name or f"e2e-{uuid.uuid4().hex[:8]}"}
        if models is not None:
            body["models"] = models
        if rpm is not None:
            body["rpm"] = rpm
        response = self.admin("POST", "/admin/keys", json=body)
        assert response.status_code == 201, f"POST /admin/keys {body} -> {response.status_code} {response.text}"
        created = response.json()
        assert created.get("key") and created.get("id"), created
        return created

    def revoke_key(self, key_id: str) -> httpx.Response:
        return self.admin("DELETE", f"/admin/keys/{key_id}")


@pytest.fixture(scope="session")
def routershift_bin() -> Path:
    path = Path(os.environ.get("ROUTERSHIFT_BIN", REPO / ".build/debug/routershift"))
    if not path.is_absolute():
        path = REPO / path
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.exit(f"no routershift binary at {path} (set ROUTERSHIFT_BIN)", returncode=2)
    return path


@pytest.fixture(scope="session")
def mock_upstream(routershift_bin: Path, tmp_path_factory: pytest.TempPathFactory):
    """The mock upstream's base URL (`http://127.0.0.1:PORT`)."""
    log = tmp_path_factory.mktemp("mock") / "mock-upstream.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(routershift_bin), "mock-upstream", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True, cwd=REPO,
        )
    try:
        port = _read_mock_port(process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def write_config(directory: Path, mock_url: str, server: str = "") -> Path:
    """The suite's configuration for a gateway whose database lives in `directory`; `server` adds settings to
    its `server` mapping (`"async_workers: 1"`)."""
    config = directory / "routershift.yaml"
    config.write_text(
        CONFIG_TEMPLATE.format(
            max_body=MAX_BODY_BYTES, database=directory / "routershift.sqlite", mock_port=int(mock_url.rsplit(":", 1)[1]),
            repo=REPO, server_extra=f", {server}" if server else "",
        )
    )
    return config


@contextmanager
def running_gateway(routershift_bin: Path, mock_url: str, config: Path, master_key: str, port: int | None = None):
    """`routershift serve` on `config`, healthy, as a (Gateway, process) pair; stopped on exit if still running."""
    port = port or _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = config.parent / f"serve-{port}.log"
    environment = {**os.environ, "ROUTERSHIFT_MASTER_KEY": master_key}
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(routershift_bin), "serve", "-c", str(config), "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment, cwd=config.parent,
        )
    try:
        _wait_healthy(process, base_url, log)
        yield Gateway(base_url=base_url, master_key=master_key, mock_url=mock_url, config_path=config, log_path=log), process
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def gateway(routershift_bin: Path, mock_upstream: str, tmp_path_factory: pytest.TempPathFactory):
    config = write_config(tmp_path_factory.mktemp("gateway"), mock_upstream)
    with running_gateway(routershift_bin, mock_upstream, config, "sk-master-" + secrets.token_hex(16)) as (gateway, _):
        yield gateway


@pytest.fixture(scope="session")
def base_url(gateway: Gateway) -> str:
    return gateway.base_url


@pytest.fixture(scope="session")
def master_key(gateway: Gateway) -> str:
    return gateway.master_key


@pytest.fixture(scope="session")
def create_key(gateway: Gateway) -> Callable[..., dict]:
    """`create_key(name=None, models=None, rpm=None)` -> the admin API's JSON for a new virtual key."""
    return gateway.create_key


@pytest.fixture(scope="session")
def api_key(gateway: Gateway) -> str:
    """An unrestricted virtual key, what a client of the gateway normally holds."""
    return gateway.create_key(name="e2e-default")["key"]


@pytest.fixture(scope="session")
def openai_client(base_url: str, api_key: str):
    import openai

    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=REQUEST_TIMEOUT)


@pytest.fixture(scope="session")
def make_openai(base_url: str):
    """`make_openai(api_key)` -> an OpenAI client that never retries."""
    import openai

    def make(key: str) -> "openai.OpenAI":
        return openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=REQUEST_TIMEOUT)

    return make


@pytest.fixture(scope="session")
def anthropic_client(base_url: str, api_key: str):
    import anthropic

    return anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=0, timeout=REQUEST_TIMEOUT)


@pytest.fixture(scope="session")
def make_gemini(base_url: str):
    """`make_gemini(api_key)` -> a google-genai client on the gateway's /v1beta API (it never retries)."""
    from google import genai
    from google.genai import types

    def make(key: str) -> "genai.Client":
        # This SDK's default API version is v1; the gateway serves the Gemini API at /v1beta.
        options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(REQUEST_TIMEOUT * 1000))
        return genai.Client(api_key=key, http_options=options)

    return make


@pytest.fixture(scope="session")
def gemini_client(make_gemini, api_key: str):
    return make_gemini(api_key)
