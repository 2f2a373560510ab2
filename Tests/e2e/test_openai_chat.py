"""Chat completions through the OpenAI SDK, streamed and not."""

QUESTION = "What is the capital of France?"
ANSWER = f"Mock answer to: {QUESTION}"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "An earlier question"},
    {"role": "assistant", "content": "An earlier answer"},
    {"role": "user", "content": QUESTION},
]


def test_chat_completion(openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.headers.get("x-routershift-deployment"), dict(raw.headers)
    completion = raw.parse()
    assert completion.model == "gpt-4o-mini"
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == ANSWER
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def _content(chunks) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_streamed_chat_completion_with_usage(openai_client):
    chunks = list(
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert len(chunks) > 2
    assert _content(chunks) == ANSWER
    assert all(chunk.model == "gpt-4o-mini" for chunk in chunks)
    finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finishes == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None
    assert final.usage.prompt_tokens > 0 and final.usage.completion_tokens > 0
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_streamed_chat_completion_without_usage(openai_client):
    chunks = list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert _content(chunks) == ANSWER
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks), "a chunk without choices (a usage chunk) was sent unasked"


def test_streamed_chat_completion_has_deployment_header(openai_client):
    with openai_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        assert response.headers.get("x-routershift-deployment"), dict(response.headers)
        assert response.headers.get("content-type", "").startswith("text/event-stream")
        assert _content(response.parse()) == ANSWER
