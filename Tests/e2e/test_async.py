"""Async chat completions: submitted at once, run in the background, durable across a SIGKILL."""

import secrets
import signal
import time

import httpx
import pytest

from conftest import REQUEST_TIMEOUT, running_gateway, write_config

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Tell me a fact."}]}
WAIT = 30.0


def _request(method: str, url: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, url, headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT, **kwargs)


def _submit(base_url: str, key: str, body: dict) -> dict:
    response = _request("POST", f"{base_url}/v1/chat/completions/async", key, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def _wait(base_url: str, key: str, task_id: str, until=("succeeded", "failed")) -> dict:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        task = _request("GET", f"{base_url}/v1/chat/completions/async/{task_id}", key).json()
        if task["status"] in until:
            return task
        time.sleep(0.05)
    pytest.fail(f"task {task_id} did not reach {until} within {WAIT} s: {task}")


def test_task_runs_and_gives_a_completion(base_url, api_key):
    task = _submit(base_url, api_key, CHAT)
    assert task["id"].startswith("task_") and task["object"] == "chat.completion.task"
    assert task["status"] == "queued" and task["model"] == "gpt-4o-mini" and task["started_at"] is None
    done = _wait(base_url, api_key, task["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    result = _request("GET", f"{base_url}/v1/chat/completions/async/{task['id']}/result", api_key)
    assert result.status_code == 200
    completion = result.json()
    assert completion["object"] == "chat.completion" and completion["model"] == "gpt-4o-mini"
    assert completion["choices"][0]["message"]["content"]


def test_result_before_the_end_is_a_409(base_url, api_key):
    task = _submit(base_url, api_key, {**CHAT, "model": "slow"})
    early = _request("GET", f"{base_url}/v1/chat/completions/async/{task['id']}/result", api_key)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "task_not_finished"
    assert _wait(base_url, api_key, task["id"])["status"] == "succeeded"


def test_failed_task_keeps_the_upstream_error(base_url, api_key):
    task = _submit(base_url, api_key, {**CHAT, "model": "broken"})
    done = _wait(base_url, api_key, task["id"])
    assert done["status"] == "failed" and done["error"]["type"] == "api_error"
    result = _request("GET", f"{base_url}/v1/chat/completions/async/{task['id']}/result", api_key)
    assert result.status_code == 502 and result.json()["error"]["message"]


def test_only_the_creating_key_can_read_a_task(base_url, api_key, create_key):
    task = _submit(base_url, api_key, CHAT)
    other = create_key()["key"]
    for path in (task["id"], f"{task['id']}/result"):
        response = _request("GET", f"{base_url}/v1/chat/completions/async/{path}", other)
        assert response.status_code == 404 and response.json()["error"]["code"] == "task_not_found"
    assert _request("GET", f"{base_url}/v1/chat/completions/async/{task['id']}", api_key).status_code == 200


@pytest.mark.parametrize(
    "body, status, param",
    [
        ({**CHAT, "stream": True}, 400, "stream"),
        ({"model": "gpt-4o-mini", "messages": "hi"}, 400, "messages"),
        ({**CHAT, "model": "nope"}, 404, "model"),
        ({**CHAT, "model": "text-embedding-3-small"}, 400, "model"),
    ],
)
def test_bad_submissions_are_refused_at_once(base_url, api_key, body, status, param):
    response = _request("POST", f"{base_url}/v1/chat/completions/async", api_key, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_unknown_task_is_a_404(base_url, api_key):
    assert _request("GET", f"{base_url}/v1/chat/completions/async/task_nothing", api_key).status_code == 404


@pytest.mark.parametrize("max_attempts, interrupted_status", [(3, "succeeded"), (1, "failed")])
def test_tasks_survive_a_sigkill(routershift_bin, mock_upstream, tmp_path, max_attempts, interrupted_status):
    """One worker, three slow tasks: killed while the first runs, the gateway restarts and runs them all; the
    interrupted one runs again, or fails when it has no attempt left."""
    config = write_config(tmp_path, mock_upstream, server=f"async_workers: 1, async_max_attempts: {max_attempts}")
    master = "sk-master-" + secrets.token_hex(16)
    with running_gateway(routershift_bin, mock_upstream, config, master) as (gateway, process):
        ids = [_submit(gateway.base_url, master, {**CHAT, "model": "slow"})["id"] for _ in range(3)]
        first = _wait(gateway.base_url, master, ids[0], until=("running",))
        assert first["attempts"] == 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    with running_gateway(routershift_bin, mock_upstream, config, master) as (gateway, _):
        tasks = [_wait(gateway.base_url, master, task_id) for task_id in ids]
    assert tasks[0]["status"] == interrupted_status
    if interrupted_status == "failed":
        assert tasks[0]["error"]["code"] == "task_interrupted"
    else:
        assert tasks[0]["attempts"] == 2
    assert [task["status"] for task in tasks[1:]] == ["succeeded", "succeeded"]
