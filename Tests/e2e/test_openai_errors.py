"""Gateway errors reach OpenAI SDK users as the SDK's own exception classes, in OpenAI's error format."""

import httpx
import openai
import pytest

from conftest import MAX_BODY_BYTES

MESSAGES = [{"role": "user", "content": "hello"}]


def _post_chat(base_url: str, key: str, content: bytes) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/chat/completions",
        content=content,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )


def _assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers.get("content-type", "").startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}, error
    assert error["message"]
    return error


def test_malformed_json_is_a_400(base_url, api_key):
    error = _assert_openai_error(_post_chat(base_url, api_key, b'{"model": "gpt-4o-mini", "messages": ['), 400)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "body, param",
    [
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "temperature"),
        (b'{"model": "gpt-4o-mini", "messages": "hi"}', "messages"),
        (b'{"model": 42, "messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
    ],
    ids=["temperature-string", "messages-string", "model-number", "model-missing"],
)
def test_wrong_types_name_the_param(base_url, api_key, body, param):
    error = _assert_openai_error(_post_chat(base_url, api_key, body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error


def test_wrong_type_through_the_sdk(openai_client):
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature="hot")
    assert caught.value.param == "temperature"


def test_missing_key(base_url, make_openai):
    response = httpx.post(f"{base_url}/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MESSAGES}, timeout=30)
    assert _assert_openai_error(response, 401)["type"] == "authentication_error"
    # The SDK will not go without a key: it gets one, and the request goes without the header.
    with pytest.raises(openai.AuthenticationError):
        make_openai("unused").chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"Authorization": openai.Omit()}
        )


def test_wrong_key(make_openai):
    with pytest.raises(openai.AuthenticationError) as caught:
        make_openai("sk-not-a-key").chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 401


def test_unknown_model(openai_client):
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert "no-such-model" in caught.value.message
    assert caught.value.param == "model"


def test_key_restricted_to_other_models(make_openai, create_key):
    client = make_openai(create_key(models=["gpt-4o-mini"])["key"])
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="claude-sonnet-4", messages=MESSAGES)
    assert caught.value.status_code == 403
    with pytest.raises(openai.PermissionDeniedError):
        client.embeddings.create(model="text-embedding-3-small", input="hello")


def test_body_too_large(openai_client):
    with pytest.raises(openai.APIStatusError) as caught:
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * (MAX_BODY_BYTES + 1000)}]
        )
    assert caught.value.status_code == 413


def test_rate_limited_key(make_openai, create_key):
    client = make_openai(create_key(rpm=2)["key"])
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    retry_after = caught.value.response.headers.get("retry-after")
    assert retry_after is not None and float(retry_after) > 0, dict(caught.value.response.headers)


def test_failing_upstream_is_a_502(openai_client):
    with pytest.raises(openai.InternalServerError) as caught:
        openai_client.chat.completions.create(model="broken", messages=MESSAGES)
    assert caught.value.status_code == 502


def test_failing_upstream_stream_is_a_502(openai_client):
    with pytest.raises(openai.InternalServerError) as caught:
        list(openai_client.chat.completions.create(model="broken", messages=MESSAGES, stream=True))
    assert caught.value.status_code == 502


def test_revoked_key_is_refused_at_once(gateway, make_openai, create_key):
    created = create_key()
    client = make_openai(created["key"])
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert gateway.revoke_key(created["id"]).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
