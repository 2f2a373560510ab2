"""Live configuration reload of a real `routershift serve`: SIGHUP and `POST /admin/config/reload` change model
groups without a restart while an open stream finishes, a broken file is refused with every problem and
changes nothing, and a setting that needs a restart is named."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from conftest import REQUEST_TIMEOUT, running_gateway, write_config

# A group whose stream takes a few seconds (250 ms between chunks), so a reload can happen while it is open.
STREAMING_GROUP = '  - { name: streaming, cache: false, deployments: [ { provider: mock-openai, model: "mock@chunkdelay250" } ] }\n'
RELOADED_GROUP = '  - { name: reloaded, cache: false, deployments: [ { provider: mock-openai, model: mock-large } ] }\n'


def with_groups(text: str, *groups: str) -> str:
    return text.replace("models:\n", "models:\n" + "".join(groups), 1)


def model_ids(openai_client) -> set[str]:
    return {model.id for model in openai_client.models.list()}


def wait_for(condition, what: str, log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s:\n{log.read_text()}"
        time.sleep(0.1)


@pytest.fixture()
def reloadable(routershift_bin: Path, mock_upstream: str, tmp_path: Path):
    config = write_config(tmp_path, mock_upstream)
    template = config.read_text()
    config.write_text(with_groups(template, STREAMING_GROUP))
    with running_gateway(routershift_bin, mock_upstream, config, "sk-master-reload-e2e-0001") as (gateway, process):
        yield gateway, process, template


def openai_for(gateway):
    import openai

    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=gateway.create_key()["key"], max_retries=0)


def test_sighup_changes_model_groups_while_an_open_stream_finishes(reloadable):
    gateway, process, template = reloadable
    client = openai_for(gateway)
    assert "reloaded" not in model_ids(client)
    stream = client.chat.completions.create(
        model="streaming", messages=[{"role": "user", "content": "a stream across a reload"}], stream=True)
    chunks = iter(stream)
    first = next(chunks)
    # The new file drops the streaming group and adds another.
    gateway.config_path.write_text(with_groups(template, RELOADED_GROUP))
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "reloaded" in model_ids(client), "the reloaded group was not listed", gateway.log_path)
    assert process.poll() is None
    rest = list(chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in [first, *rest] if chunk.choices)
    assert text == "Mock answer to: a stream across a reload"
    assert [chunk.choices[0].finish_reason for chunk in rest if chunk.choices][-1] == "stop"
    answer = client.chat.completions.create(model="reloaded", messages=[{"role": "user", "content": "new"}])
    assert answer.choices[0].message.content == "Mock answer to: new"
    assert "streaming" not in model_ids(client)
    assert "configuration reloaded" in gateway.log_path.read_text()


def test_a_broken_file_is_refused_with_every_problem_and_changes_nothing(reloadable):
    gateway, process, template = reloadable
    client = openai_for(gateway)
    broken = with_groups(
        template, '  - { name: bad, strategy: fastest, deployments: [ { provider: nowhere, model: m } ] }\n',
        RELOADED_GROUP)
    gateway.config_path.write_text(broken)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reload refused" in gateway.log_path.read_text(), "no refusal was logged",
             gateway.log_path)
    answer = gateway.admin("POST", "/admin/config/reload")
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_configuration"
    paths = {problem["path"] for problem in error["problems"]}
    assert {"models[0].strategy", "models[0].deployments[0].provider"} <= paths, error
    assert process.poll() is None
    listed = model_ids(client)
    assert "streaming" in listed and "reloaded" not in listed and "bad" not in listed


def test_a_setting_that_needs_a_restart_is_named_and_left_as_it_is(reloadable):
    gateway, _, template = reloadable
    gateway.config_path.write_text(
        with_groups(template.replace("max_body_bytes: 65536", "max_body_bytes: 1024"), RELOADED_GROUP))
    answer = gateway.admin("POST", "/admin/config/reload")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"reloaded": True, "changed": ["models"], "restart_required": ["server.max_body_bytes"]}
    # The old limit stays in force: a 4 KiB body is still accepted.
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", timeout=REQUEST_TIMEOUT,
        headers={"Authorization": f"Bearer {gateway.master_key}"},
        json={"model": "reloaded", "messages": [{"role": "user", "content": "x" * 4096}]})
    assert response.status_code == 200, response.text
