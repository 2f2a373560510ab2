"""Images, audio, rerank, Midjourney and Suno through the gateway, with the OpenAI SDK where it has the call."""

import io

import httpx
import openai
import pytest

from conftest import MAX_BODY_BYTES, REQUEST_TIMEOUT


def _post(base_url: str, key: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{base_url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=REQUEST_TIMEOUT)


def _upstream_count(gateway, name: str) -> int:
    return httpx.get(f"{gateway.mock_url}/mock/stats", timeout=REQUEST_TIMEOUT).json()["requests"].get(name, 0)


def test_image_generation(openai_client):
    result = openai_client.images.generate(model="dall-e-3", prompt="a lighthouse at dawn", n=2)
    assert [image.url for image in result.data] == [
        "https://mock.invalid/images/0.png",
        "https://mock.invalid/images/1.png",
    ]
    assert result.data[0].revised_prompt == "a lighthouse at dawn"


def test_image_generation_as_base64(openai_client):
    result = openai_client.images.generate(model="dall-e-3", prompt="a red kite", response_format="b64_json")
    assert result.data[0].b64_json


def test_transcription_upload_larger_than_the_json_body_limit_is_streamed(openai_client, gateway):
    audio = bytes(range(256)) * (4 * MAX_BODY_BYTES // 256)
    before = _upstream_count(gateway, "/v1/audio/transcriptions mock-whisper")
    result = openai_client.audio.transcriptions.create(model="whisper-1", file=("speech.mp3", io.BytesIO(audio)))
    assert result.text.startswith("Mock transcription of ")
    assert result.text.endswith(" by mock-whisper")
    received = int(result.text.split()[3])
    assert received > len(audio)  # the whole multipart body, file included, reached the upstream
    assert _upstream_count(gateway, "/v1/audio/transcriptions mock-whisper") == before + 1


def test_transcription_needs_multipart(base_url, api_key):
    response = _post(base_url, api_key, "/v1/audio/transcriptions", {"model": "whisper-1"})
    assert response.status_code == 415, response.text
    assert "multipart/form-data" in response.json()["error"]["message"]


def test_transcription_without_model_field(base_url, api_key):
    files = {"file": ("a.mp3", b"abc")}
    response = httpx.post(
        f"{base_url}/v1/audio/transcriptions", files=files, headers={"Authorization": f"Bearer {api_key}"},
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "model"


def test_speech_is_streamed_back_as_audio(openai_client):
    with openai_client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input="Hello there.", extra_body={"size": 300_000}
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-routershift-deployment"]
        chunks = list(response.iter_bytes())
    audio = b"".join(chunks)
    assert len(audio) == 300_000
    assert audio[:4096] == bytes(4096) and audio[4096:8192] == bytes([1]) * 4096


def test_rerank(base_url, api_key):
    documents = ["the cat sat on the mat", "stock markets fell", "a cat and a dog"]
    response = _post(
        base_url, api_key, "/v1/rerank",
        {"model": "rerank-english-v3.0", "query": "cat mat", "documents": documents, "top_n": 2},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "rerank-english-v3.0"
    assert [result["index"] for result in body["results"]] == [0, 2]
    assert body["results"][0]["relevance_score"] == pytest.approx(1.0)


def test_rerank_needs_documents(base_url, api_key):
    response = _post(base_url, api_key, "/v1/rerank", {"model": "rerank-english-v3.0", "query": "cat"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "documents"


@pytest.mark.parametrize("path, model", [("/v1/midjourney/imagine", "midjourney"), ("/v1/suno/generate", "suno")])
def test_task_apis_pass_through(base_url, api_key, gateway, path, model):
    # Without a `model` the request goes to the group named after the API, and upstream as it came (the mock
    # counts a request without a model as `mock-task`).
    before = _upstream_count(gateway, f"{path} mock-task")
    response = _post(base_url, api_key, path, {"prompt": "a song about the sea"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "submitted" and body["id"].startswith("task-")
    assert body["model"] == model
    assert _upstream_count(gateway, f"{path} mock-task") == before + 1
    named = _post(base_url, api_key, path, {"model": model, "prompt": "a castle"})
    assert named.status_code == 200 and named.json()["model"] == model
    assert _upstream_count(gateway, f"{path} mock-{'mj' if model == 'midjourney' else 'suno'}") >= 1


def test_model_that_does_not_serve_the_endpoint(openai_client):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.images.generate(model="gpt-4o-mini", prompt="a cat")
    error = raised.value.body
    assert error["code"] == "model_not_supported"
    assert "/v1/images/generations" in error["message"] and "chat" in error["message"]


def test_unknown_image_model_is_a_404(openai_client):
    with pytest.raises(openai.NotFoundError):
        openai_client.images.generate(model="no-such-model", prompt="a cat")


def test_failing_image_upstream_is_a_502(openai_client):
    with pytest.raises(openai.InternalServerError) as raised:
        openai_client.images.generate(model="broken-images", prompt="a cat")
    assert raised.value.status_code == 502


def test_key_limited_to_other_models_cannot_generate_images(make_openai, create_key):
    client = make_openai(create_key(models=["gpt-4o-mini"])["key"])
    with pytest.raises(openai.PermissionDeniedError):
        client.images.generate(model="dall-e-3", prompt="a cat")
