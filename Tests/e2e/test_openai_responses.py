"""The OpenAI Responses API through the official SDK: create (plain, with tools, towards an Anthropic deployment),
stream, retrieve, delete, previous_response_id, and a hosted tool refused in OpenAI's error format."""

import json

import openai
import pytest

TOOLS = [
    {
        "type": "function",
        "name": "lookup",
        "description": "Looks up the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-flash"])
def test_create(openai_client, model):
    response = openai_client.responses.create(
        model=model, instructions="Be brief.", input="What is the capital of France?", max_output_tokens=64
    )
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == model
    assert response.instructions == "Be brief."
    assert response.output_text
    assert response.output[0].type == "message"
    assert response.output[0].content[0].type == "output_text"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_function_tool_round_trip(openai_client):
    question = [{"role": "user", "content": "Weather in Paris?"}]
    first = openai_client.responses.create(model="gpt-4o-mini", input=question, tools=TOOLS)
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "lookup" and calls[0].call_id
    assert isinstance(json.loads(calls[0].arguments), dict)
    second = openai_client.responses.create(
        model="gpt-4o-mini",
        tools=TOOLS,
        input=question
        + [calls[0].model_dump(exclude_none=True), {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18 C"}],
    )
    assert second.output_text


def test_stream(openai_client):
    types = []
    text = ""
    with openai_client.responses.stream(model="gpt-4o-mini", input="Name a colour.") as stream:
        for event in stream:
            types.append(event.type)
            if event.type == "response.output_text.delta":
                text += event.delta
        final = stream.get_final_response()
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert "response.output_text.delta" in types
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final.status == "completed" and final.output_text == text and text
    assert final.usage.output_tokens > 0


def test_streamed_function_call(openai_client):
    stream = openai_client.responses.create(
        model="gpt-4o-mini", input="Weather in Paris?", tools=TOOLS, stream=True
    )
    events = list(stream)
    done = [event for event in events if event.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0].arguments) is not None
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output[0].type == "function_call"
    assert [event.sequence_number for event in events] == list(range(len(events)))


def test_retrieve_continue_and_delete(openai_client, make_openai, create_key):
    first = openai_client.responses.create(model="gpt-4o-mini", input="My name is Ada.")
    retrieved = openai_client.responses.retrieve(first.id)
    assert retrieved.id == first.id and retrieved.output_text == first.output_text

    second = openai_client.responses.create(model="gpt-4o-mini", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens

    stranger = make_openai(create_key(name="e2e-responses-stranger")["key"])
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(first.id)

    deleted = openai_client.responses.delete(first.id)
    assert deleted is None  # the SDK returns nothing for a successful delete
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(first.id)


def test_hosted_tool_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.responses.create(model="gpt-4o-mini", input="Search the web", tools=[{"type": "web_search"}])
    assert refused.value.param == "tools[0].type"
