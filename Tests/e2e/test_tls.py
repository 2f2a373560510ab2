"""HTTPS with a certificate made here by openssl: the official OpenAI SDK over TLS trusting the test CA, and
a certificate reload on SIGHUP that new connections see while the gateway keeps serving."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import STARTUP_TIMEOUT, _free_port, _stop, write_config


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", str(directory / "ca.key"), "-out", str(directory / "ca.pem"))
    return directory / "ca.pem"


def issue(ca_directory: Path, certificate: Path, key: Path) -> None:
    """A server certificate for 127.0.0.1 signed by the CA in `ca_directory`."""
    request = ca_directory / "server.csr"
    extensions = ca_directory / "server.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(key), "-out", str(request))
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca_directory / "ca.pem"), "-CAkey",
            str(ca_directory / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
            "-out", str(certificate))


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def health(base_url: str, ca: Path) -> int | None:
    """GET /health on a new connection trusting only `ca`; None when the handshake fails."""
    try:
        with httpx.Client(verify=trusting(ca), timeout=2.0) as client:
            return client.get(f"{base_url}/health").status_code
    except httpx.HTTPError:
        return None


@pytest.fixture()
def tls_gateway(routershift_bin: Path, mock_upstream: str, tmp_path: Path):
    """(base URL, first CA, files, process, master key) for `routershift serve` with `server.tls`."""
    first = make_ca(tmp_path / "ca-one", "RouterShift e2e CA one")
    certificate, key = tmp_path / "server.pem", tmp_path / "server.key"
    issue(first.parent, certificate, key)
    config = write_config(tmp_path, mock_upstream, server=f"tls: {{ certificate: {certificate}, key: {key} }}")
    port = _free_port()
    base_url = f"https://127.0.0.1:{port}"
    master_key = "sk-master-tls-e2e-0001"
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(routershift_bin), "serve", "-c", str(config), "--port", str(port)],
            env={**os.environ, "ROUTERSHIFT_MASTER_KEY": master_key}, stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while health(base_url, first) != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the TLS gateway did not answer on {base_url}:\n{log.read_text()}")
            time.sleep(0.1)
        yield base_url, first, (certificate, key), process, master_key, log
    finally:
        _stop(process)


def test_the_openai_sdk_talks_https_to_the_gateway_with_the_test_ca(tls_gateway):
    import openai

    base_url, ca, _, _, master_key, _ = tls_gateway
    key = httpx.post(f"{base_url}/admin/keys", json={"name": "tls"}, verify=trusting(ca), timeout=10,
                     headers={"Authorization": f"Bearer {master_key}"}).json()["key"]
    with httpx.Client(verify=trusting(ca)) as http_client:
        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, http_client=http_client, max_retries=0)
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello over TLS"}])
        assert completion.choices[0].message.content == "Mock answer to: hello over TLS"
        chunks = list(client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "a stream over TLS"}], stream=True))
        assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    with pytest.raises(openai.APIConnectionError):
        with httpx.Client() as untrusting:
            openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, http_client=untrusting, max_retries=0) \
                .chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])


def test_sighup_reloads_the_certificate_for_new_connections(tls_gateway, tmp_path: Path):
    base_url, first, (certificate, key), process, _, log = tls_gateway
    second = make_ca(tmp_path / "ca-two", "RouterShift e2e CA two")
    issue(second.parent, certificate, key)
    assert health(base_url, second) is None, "the new certificate was served before the reload"
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while health(base_url, second) != 200:
        assert process.poll() is None, f"SIGHUP stopped the gateway:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the reloaded certificate was not served within 10 s:\n{log.read_text()}"
        time.sleep(0.1)
    assert health(base_url, first) is None
    assert "TLS certificate reloaded" in log.read_text()
    # A broken pair is refused and the gateway goes on serving the last good one.
    key.write_text("not a key")
    process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload failed" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    assert process.poll() is None and health(base_url, second) == 200
