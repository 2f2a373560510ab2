"""The OpenAI SDK asking models whose upstream speaks Gemini or Anthropic: the gateway translates."""

import pytest

QUESTION = "Translate hello into French"
ANSWER = f"Mock answer to: {QUESTION}"
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": QUESTION}]
MODELS = ["gemini-2.5-flash", "claude-sonnet-4"]


@pytest.mark.parametrize("model", MODELS)
def test_chat_completion(openai_client, model):
    completion = openai_client.chat.completions.create(model=model, messages=MESSAGES)
    assert completion.model == model
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_streamed_chat_completion(openai_client, model):
    chunks = list(
        openai_client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == ANSWER
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tool_call(openai_client, model):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    completion = openai_client.chat.completions.create(model=model, messages=MESSAGES, tools=tools)
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.choices[0].message.tool_calls[0].function.name == "lookup"
