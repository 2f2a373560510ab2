"""The OpenAI Agents SDK (`openai-agents`) running an agent through the gateway's Responses API: the mock
upstream calls the agent's one function tool, the SDK runs it and sends its output back, and the second turn
answers. Streamed and not."""

import asyncio

import agents
import pytest


@pytest.fixture
def weather_agent(base_url, api_key):
    from openai import AsyncOpenAI

    agents.set_tracing_disabled(True)
    calls: list[str] = []

    @agents.function_tool
    def lookup(query: str) -> str:
        """Looks up the weather."""
        calls.append(query)
        return "18 C and cloudy"

    client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=30)
    agent = agents.Agent(
        name="weather",
        instructions="Answer briefly.",
        tools=[lookup],
        model=agents.OpenAIResponsesModel(model="gpt-4o-mini", openai_client=client),
    )
    return agent, calls


def test_agent_turn_with_a_function_tool(weather_agent):
    agent, calls = weather_agent
    result = agents.Runner.run_sync(agent, "What is the weather in Paris?")
    assert calls == ["What is the weather in Paris?"]
    assert isinstance(result.final_output, str) and result.final_output
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"]


def test_streamed_agent_turn(weather_agent):
    agent, calls = weather_agent

    async def run():
        result = agents.Runner.run_streamed(agent, "Is it raining in Paris?")
        seen = [event.type async for event in result.stream_events()]
        return result, seen

    result, seen = asyncio.run(run())
    assert calls == ["Is it raining in Paris?"]
    assert "raw_response_event" in seen and "run_item_stream_event" in seen
    assert isinstance(result.final_output, str) and result.final_output
