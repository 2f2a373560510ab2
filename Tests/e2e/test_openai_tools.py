"""Tool calls through the OpenAI SDK: the mock answers any request with tools by calling the first one."""

import json

TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
MESSAGES = [{"role": "user", "content": "Look up the weather in Paris"}]


def test_tool_call(openai_client):
    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].type == "function"
    assert calls[0].id
    assert calls[0].function.name == "lookup"
    assert isinstance(json.loads(calls[0].function.arguments), dict)


def test_streamed_tool_call(openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True)
    calls: dict[int, dict] = {}
    finishes = []
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
            if delta.id:
                call["id"] = delta.id
            if delta.function and delta.function.name:
                call["name"] += delta.function.name
            if delta.function and delta.function.arguments:
                call["arguments"] += delta.function.arguments
    assert finishes == ["tool_calls"]
    assert list(calls) == [0]
    assert calls[0]["id"]
    assert calls[0]["name"] == "lookup"
    assert isinstance(json.loads(calls[0]["arguments"]), dict)


def test_tool_result_round_trip(openai_client):
    first = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    messages = MESSAGES + [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"},
    ]
    second = openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "Mock answer to: Look up the weather in Paris"
