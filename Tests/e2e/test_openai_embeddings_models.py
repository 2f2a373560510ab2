"""Embeddings and the model list through the OpenAI SDK."""

from conftest import CONFIGURED_MODELS


def test_embedding_of_a_string(openai_client):
    result = openai_client.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert result.model == "text-embedding-3-small"
    assert len(result.data) == 1
    assert result.data[0].index == 0
    assert len(result.data[0].embedding) > 0
    assert all(isinstance(value, float) for value in result.data[0].embedding)


def test_embeddings_of_a_list(openai_client):
    texts = ["one", "two", "three"]
    result = openai_client.embeddings.create(model="text-embedding-3-small", input=texts)
    assert result.model == "text-embedding-3-small"
    assert [item.index for item in result.data] == [0, 1, 2]
    vectors = [item.embedding for item in result.data]
    assert all(len(vector) == len(vectors[0]) > 0 for vector in vectors)
    assert vectors[0] != vectors[1]
    single = openai_client.embeddings.create(model="text-embedding-3-small", input="two")
    assert single.data[0].embedding == vectors[1]


def test_models_list(openai_client):
    ids = [model.id for model in openai_client.models.list()]
    assert sorted(ids) == sorted(CONFIGURED_MODELS)


def test_models_list_of_a_restricted_key(make_openai, create_key):
    client = make_openai(create_key(models=["gpt-4o-mini"])["key"])
    assert [model.id for model in client.models.list()] == ["gpt-4o-mini"]


def test_models_list_the_endpoints_each_serves(base_url, api_key):
    import httpx

    response = httpx.get(f"{base_url}/v1/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    models = {model["id"]: model for model in response.json()["data"]}
    assert models["gpt-4o-mini"]["capabilities"] == ["chat"]
    assert "/v1/chat/completions" in models["gpt-4o-mini"]["endpoints"]
    assert "/v1/messages" in models["gpt-4o-mini"]["endpoints"]
    assert "/v1beta/models/gpt-4o-mini:generateContent" in models["gpt-4o-mini"]["endpoints"]
    assert models["text-embedding-3-small"]["endpoints"] == ["/v1/embeddings"]
    assert models["whisper-1"]["endpoints"] == ["/v1/audio/transcriptions"]
    assert models["tts-1"]["capabilities"] == ["audio_speech"]
