"""The Gemini API through the google-genai SDK: a native Gemini upstream (gemini-2.5-flash) and an OpenAI
upstream behind translation (gpt-4o-mini)."""

import httpx
import pytest
from google.genai import errors

QUESTION = "Why is the sky blue?"
ANSWER = f"Mock answer to: {QUESTION}"
MODELS = ["gemini-2.5-flash", "gpt-4o-mini"]


@pytest.mark.parametrize("model", MODELS)
def test_generate_content(gemini_client, model):
    response = gemini_client.models.generate_content(model=model, contents=QUESTION)
    assert response.text == ANSWER
    assert response.candidates[0].finish_reason.name == "STOP"
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count > 0 and usage.candidates_token_count > 0


@pytest.mark.parametrize("model", MODELS)
def test_generate_content_stream(gemini_client, model):
    chunks = list(gemini_client.models.generate_content_stream(model=model, contents=QUESTION))
    assert len(chunks) > 1
    assert "".join(chunk.text or "" for chunk in chunks) == ANSWER
    assert chunks[-1].candidates[0].finish_reason.name == "STOP"


def test_unknown_model(gemini_client):
    with pytest.raises(errors.ClientError) as caught:
        gemini_client.models.generate_content(model="gemini-no-such-model", contents=QUESTION)
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    # About the model, not a missing endpoint.
    assert "gemini-no-such-model" in caught.value.message and "No route" not in caught.value.message


def test_bad_key(make_gemini):
    client = make_gemini("not-a-key")  # held: the SDK closes its HTTP client when the Client is collected
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents=QUESTION)
    assert caught.value.code == 401


def test_key_in_query(base_url, api_key):
    response = httpx.post(
        f"{base_url}/v1beta/models/gemini-2.5-flash:generateContent",
        params={"key": api_key},
        json={"contents": [{"role": "user", "parts": [{"text": QUESTION}]}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == ANSWER


def test_stream_with_key_in_query(base_url, api_key):
    with httpx.stream(
        "POST",
        f"{base_url}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        params={"alt": "sse", "key": api_key},
        json={"contents": [{"role": "user", "parts": [{"text": QUESTION}]}]},
        timeout=30,
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers.get("content-type", "").startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data:")]
    assert len(events) > 1
