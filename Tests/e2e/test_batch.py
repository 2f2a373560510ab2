"""POST /v1/batch: sub-requests of every batchable endpoint, in order, each with its own status."""

import base64

import httpx

from conftest import REQUEST_TIMEOUT

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}


def _batch(base_url: str, key: str, body: dict, headers: dict | None = None) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/batch", json=body, headers={"Authorization": f"Bearer {key}", **(headers or {})},
        timeout=REQUEST_TIMEOUT,
    )


def _item(custom_id: str, url: str, body: dict) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def test_batch_of_every_endpoint_keeps_order_and_isolates_failures(base_url, api_key):
    items = [
        _item("chat", "/v1/chat/completions", CHAT),
        _item("messages", "/v1/messages", {"model": "claude-sonnet-4", "max_tokens": 32, "messages": CHAT["messages"]}),
        _item("gemini", "/v1beta/models/gemini-2.5-flash:generateContent", {"contents": [{"parts": [{"text": "Hi"}]}]}),
        _item("embed", "/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]}),
        _item("image", "/v1/images/generations", {"model": "dall-e-3", "prompt": "a boat"}),
        _item("rerank", "/v1/rerank", {"model": "rerank-english-v3.0", "query": "boat", "documents": ["a boat", "x"]}),
        _item("speech", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy", "size": 5000}),
        _item("broken", "/v1/chat/completions", {**CHAT, "model": "broken"}),
        _item("streaming", "/v1/chat/completions", {**CHAT, "stream": True}),
        _item("nowhere", "/v1/batch", {}),
        _item("bad-body", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": "hello"}),
        _item("mj", "/v1/midjourney/imagine", {"prompt": "a castle"}),
    ]
    response = _batch(base_url, api_key, {"requests": items})
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["data"]
    assert [result["custom_id"] for result in results] == [item["custom_id"] for item in items]
    status = {result["custom_id"]: result["response"]["status_code"] for result in results}
    answer = {result["custom_id"]: result["response"]["body"] for result in results}
    assert all(result["id"].startswith("batch_req_") for result in results)

    assert status["chat"] == 200 and answer["chat"]["object"] == "chat.completion"
    assert answer["chat"]["model"] == "gpt-4o-mini"
    assert status["messages"] == 200 and answer["messages"]["type"] == "message"
    assert status["gemini"] == 200 and answer["gemini"]["candidates"][0]["content"]["parts"][0]["text"]
    assert status["embed"] == 200 and len(answer["embed"]["data"]) == 2
    assert status["image"] == 200 and answer["image"]["data"][0]["url"]
    assert status["rerank"] == 200 and answer["rerank"]["results"][0]["index"] == 0
    assert status["speech"] == 200 and answer["speech"]["content_type"] == "audio/mpeg"
    assert len(base64.b64decode(answer["speech"]["data"])) == 5000
    assert status["mj"] == 200 and answer["mj"]["status"] == "submitted"

    assert status["broken"] == 502 and answer["broken"]["error"]["type"] == "api_error"
    assert status["streaming"] == 400 and answer["streaming"]["error"]["param"] == "stream"
    assert status["nowhere"] == 400 and answer["nowhere"]["error"]["param"] == "url"
    assert status["bad-body"] == 400 and answer["bad-body"]["error"]["param"] == "messages"
    assert body["request_counts"] == {"total": 12, "completed": 8, "failed": 4}


def test_items_run_with_the_batch_key_and_its_model_list(base_url, create_key):
    key = create_key(models=["gpt-4o-mini"])["key"]
    items = [
        _item("allowed", "/v1/chat/completions", CHAT),
        _item("forbidden", "/v1/chat/completions", {**CHAT, "model": "claude-sonnet-4"}),
    ]
    results = _batch(base_url, key, {"requests": items}).json()["data"]
    assert [result["response"]["status_code"] for result in results] == [200, 403]


def test_many_items_with_a_small_concurrency(base_url, api_key):
    items = [
        _item(f"q{index}", "/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": f"Question {index}"}]})
        for index in range(40)
    ]
    response = _batch(base_url, api_key, {"requests": items, "concurrency": 3})
    assert response.status_code == 200
    results = response.json()["data"]
    assert [result["custom_id"] for result in results] == [f"q{index}" for index in range(40)]
    assert all(result["response"]["status_code"] == 200 for result in results)


def test_batch_errors_fail_the_whole_batch(base_url, api_key):
    duplicate = _batch(base_url, api_key, {"requests": [_item("a", "/v1/chat/completions", CHAT)] * 2})
    assert duplicate.status_code == 400 and "more than once" in duplicate.json()["error"]["message"]
    empty = _batch(base_url, api_key, {"requests": []})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "requests"
    missing_id = _batch(base_url, api_key, {"requests": [{"url": "/v1/chat/completions", "body": CHAT}]})
    assert missing_id.status_code == 400 and "custom_id" in missing_id.json()["error"]["message"]
    not_a_list = _batch(base_url, api_key, {"requests": "all of them"})
    assert not_a_list.status_code == 400


def test_batch_needs_a_key(base_url):
    response = httpx.post(f"{base_url}/v1/batch", json={"requests": []}, timeout=REQUEST_TIMEOUT)
    assert response.status_code == 401


def test_cache_directives_of_the_batch_apply_to_its_items(base_url, api_key):
    prompt = {"model": "cached", "messages": [{"role": "user", "content": "What is the batch cache test answer?"}]}
    items = [_item("first", "/v1/chat/completions", prompt)]
    first = _batch(base_url, api_key, {"requests": items}).json()["data"][0]["response"]
    second = _batch(base_url, api_key, {"requests": items}).json()["data"][0]["response"]
    assert first["headers"]["x-routershift-cache"] == "miss"
    assert second["headers"]["x-routershift-cache"] == "hit"
    assert second["body"]["choices"] == first["body"]["choices"]
    bypassed = _batch(base_url, api_key, {"requests": items}, headers={"x-routershift-cache": "off"}).json()["data"][0]
    assert bypassed["response"]["status_code"] == 200
    assert bypassed["response"]["headers"]["x-routershift-cache"] == "bypass"
