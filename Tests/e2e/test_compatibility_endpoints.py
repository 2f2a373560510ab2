"""Endpoints besides chat that the official SDKs call, and faithful translation, through the SDKs
themselves: openai's AzureOpenAI client, anthropic's messages.count_tokens and models.list, google-genai's
count_tokens, embed_content and models.get, and json mode and max_completion_tokens against an
Anthropic-kind deployment."""

import json

import pytest

QUESTION = "Why is the sky blue?"


def test_azure_openai_client_chat_and_embeddings(base_url, api_key):
    import openai

    client = openai.AzureOpenAI(
        azure_endpoint=base_url, api_key=api_key, api_version="2024-10-21", max_retries=0, timeout=30
    )
    answer = client.chat.completions.create(
        model="claude-sonnet-4", messages=[{"role": "user", "content": QUESTION}]
    )
    assert answer.choices[0].message.content == f"Mock answer to: {QUESTION}"
    embedded = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(embedded.data) == 2 and len(embedded.data[0].embedding) > 0


def test_openai_model_lookup(openai_client):
    import openai

    assert openai_client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        openai_client.models.retrieve("no-such-model")


def test_anthropic_count_tokens_and_models(anthropic_client):
    counted = anthropic_client.messages.count_tokens(
        model="claude-sonnet-4", messages=[{"role": "user", "content": QUESTION}]
    )
    assert 3 <= counted.input_tokens <= 20
    names = [model.id for model in anthropic_client.models.list()]
    assert "claude-sonnet-4" in names
    assert anthropic_client.models.retrieve("claude-sonnet-4").id == "claude-sonnet-4"


def test_gemini_count_tokens_embed_content_and_models(gemini_client):
    counted = gemini_client.models.count_tokens(model="gemini-2.5-flash", contents=QUESTION)
    assert 3 <= counted.total_tokens <= 20
    embedded = gemini_client.models.embed_content(model="text-embedding-3-small", contents=["a", "b"])
    assert len(embedded.embeddings) == 2 and len(embedded.embeddings[0].values) > 0
    model = gemini_client.models.get(model="gemini-2.5-flash")
    assert model.name == "models/gemini-2.5-flash"


def test_json_mode_and_max_completion_tokens_on_an_anthropic_deployment(openai_client):
    answer = openai_client.chat.completions.create(
        model="claude-sonnet-4",
        messages=[{"role": "user", "content": "Reply with a JSON object."}],
        response_format={"type": "json_object"},
        max_completion_tokens=64,
    )
    assert isinstance(json.loads(answer.choices[0].message.content), dict)
    assert answer.choices[0].finish_reason == "stop"


def test_legacy_completions_through_chat(openai_client):
    answer = openai_client.completions.create(model="claude-sonnet-4", prompt=QUESTION, max_tokens=20)
    assert answer.choices[0].text == f"Mock answer to: {QUESTION}"
    streamed = openai_client.completions.create(model="gpt-4o-mini", prompt=QUESTION, stream=True)
    assert "".join(chunk.choices[0].text for chunk in streamed if chunk.choices) == f"Mock answer to: {QUESTION}"
