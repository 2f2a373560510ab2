"""Structured output as LangChain and instructor users write it, against an Anthropic-kind deployment:
`response_format` (json_schema from LangChain's `with_structured_output`, json_object from instructor's
JSON mode) becomes a forced Anthropic tool whose input comes back as the message content, and LangChain's
`max_tokens=` (sent as `max_completion_tokens`) becomes Anthropic's `max_tokens`.

The mock's Anthropic tool calls carry `{"query": <the question>}`, so the schema here is a search query."""

import httpx
import pydantic

QUESTION = "Find me the weather in Paris."


class SearchQuery(pydantic.BaseModel):
    query: str


def last_anthropic_body(mock_upstream):
    return httpx.get(f"{mock_upstream}/mock/last", params={"path": "/v1/messages"}, timeout=10).json()["body"]


def test_langchain_openai_structured_output_and_max_tokens(base_url, api_key, mock_upstream):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="claude-sonnet-4", base_url=f"{base_url}/v1", api_key=api_key, max_tokens=48, max_retries=0, timeout=30
    )
    plain = model.invoke(QUESTION)
    assert plain.content == f"Mock answer to: {QUESTION}"
    assert last_anthropic_body(mock_upstream)["max_tokens"] == 48
    structured = model.with_structured_output(SearchQuery).invoke(QUESTION)
    assert isinstance(structured, SearchQuery)
    assert structured.query == QUESTION
    forced = last_anthropic_body(mock_upstream)
    assert forced["tool_choice"]["type"] == "tool" and forced["max_tokens"] == 48


def test_instructor_json_mode(base_url, api_key):
    import instructor
    import openai

    client = instructor.from_openai(
        openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=30), mode=instructor.Mode.JSON
    )
    answer = client.chat.completions.create(
        model="claude-sonnet-4",
        response_model=SearchQuery,
        max_retries=0,
        messages=[{"role": "user", "content": QUESTION}],
    )
    assert isinstance(answer, SearchQuery)
    assert QUESTION in answer.query
