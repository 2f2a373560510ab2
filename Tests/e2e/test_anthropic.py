"""The Anthropic Messages API through the Anthropic SDK: a native Anthropic upstream (claude-sonnet-4) and
an OpenAI upstream behind translation (claude-via-openai)."""

import anthropic
import pytest

QUESTION = "Name three primary colours"
ANSWER = f"Mock answer to: {QUESTION}"
MESSAGES = [{"role": "user", "content": QUESTION}]
MODELS = ["claude-sonnet-4", "claude-via-openai"]
TOOLS = [{"name": "lookup", "description": "Looks things up.", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize("model", MODELS)
def test_message(anthropic_client, model):
    message = anthropic_client.messages.create(model=model, max_tokens=100, messages=MESSAGES)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == model
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == ANSWER
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_message_with_system_and_history(anthropic_client):
    message = anthropic_client.messages.create(
        model="claude-sonnet-4",
        max_tokens=100,
        system="You are terse.",
        messages=[
            {"role": "user", "content": "An earlier question"},
            {"role": "assistant", "content": "An earlier answer"},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
        ],
    )
    assert message.content[0].text == ANSWER


@pytest.mark.parametrize("model", MODELS)
def test_streamed_message(anthropic_client, model):
    with anthropic_client.messages.stream(model=model, max_tokens=100, messages=MESSAGES) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(deltas) > 1
    assert "".join(deltas) == ANSWER
    assert final.content[0].type == "text" and final.content[0].text == ANSWER
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tool_use(anthropic_client, model):
    message = anthropic_client.messages.create(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "Look up the weather"}], tools=TOOLS
    )
    assert message.stop_reason == "tool_use"
    uses = [block for block in message.content if block.type == "tool_use"]
    assert len(uses) == 1
    assert uses[0].name == "lookup"
    assert uses[0].id
    assert isinstance(uses[0].input, dict)


@pytest.mark.parametrize("model", MODELS)
def test_streamed_tool_use(anthropic_client, model):
    with anthropic_client.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "Look up the weather"}], tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    uses = [block for block in final.content if block.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "lookup" and isinstance(uses[0].input, dict)


def test_unknown_model(anthropic_client):
    with pytest.raises(anthropic.NotFoundError) as caught:
        anthropic_client.messages.create(model="claude-no-such-model", max_tokens=100, messages=MESSAGES)
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "not_found_error"
    assert "claude-no-such-model" in caught.value.body["error"]["message"]


def test_bad_key(base_url):
    client = anthropic.Anthropic(base_url=base_url, api_key="sk-not-a-key", max_retries=0, timeout=30)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model="claude-sonnet-4", max_tokens=100, messages=MESSAGES)
    assert caught.value.body["error"]["type"] == "authentication_error"
