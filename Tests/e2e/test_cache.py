"""The semantic cache as SDK users meet it: hits carry the cache headers and replay in each protocol,
streamed hits parse in the official SDKs."""

import uuid


def _ask(client, prompt, **kwargs):
    return client.chat.completions.with_raw_response.create(
        model="cached", messages=[{"role": "user", "content": prompt}], max_tokens=64, **kwargs
    )


def test_a_repeated_question_is_an_exact_hit(openai_client):
    prompt = f"What is a semantic cache? ({uuid.uuid4().hex[:6]})"
    first = _ask(openai_client, prompt)
    assert first.headers["x-routershift-cache"] == "miss"
    second = _ask(openai_client, prompt)
    assert second.headers["x-routershift-cache"] == "hit"
    assert second.headers["x-routershift-cache-key"] == first.headers["x-routershift-cache-key"]
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content


def test_a_paraphrase_is_a_semantic_hit(openai_client):
    first = _ask(openai_client, "How do I rotate my SSH keys safely?")
    assert first.headers["x-routershift-cache"] == "miss"
    second = _ask(openai_client, "how can I safely rotate my ssh keys")
    assert second.headers["x-routershift-cache"] == "semantic-hit"
    assert 0.9 <= float(second.headers["x-routershift-cache-similarity"]) < 1
    assert second.parse().choices[0].message.content == "Mock answer to: How do I rotate my SSH keys safely?"


def test_a_streamed_miss_is_stored_and_a_streamed_hit_parses_in_the_sdk(openai_client):
    prompt = f"Stream me a cached answer ({uuid.uuid4().hex[:6]})"
    miss = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in openai_client.chat.completions.create(
            model="cached", messages=[{"role": "user", "content": prompt}], max_tokens=64, stream=True
        )
        if chunk.choices
    )
    import time

    time.sleep(0.3)  # the stream is stored just after it completes
    response = openai_client.chat.completions.with_raw_response.create(
        model="cached",
        messages=[{"role": "user", "content": prompt}],
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert response.headers["x-routershift-cache"] == "hit"
    chunks = list(response.parse())
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == miss
    assert chunks[-1].usage is not None


def test_an_answer_cached_through_openai_is_a_hit_through_anthropic_and_gemini(openai_client, anthropic_client, gemini_client):
    prompt = f"Which SDK asked first? ({uuid.uuid4().hex[:6]})"
    _ask(openai_client, prompt)
    message = anthropic_client.messages.with_raw_response.create(
        model="cached", max_tokens=64, messages=[{"role": "user", "content": prompt}]
    )
    assert message.headers["x-routershift-cache"] == "hit"
    assert message.parse().content[0].text == f"Mock answer to: {prompt}"
    with anthropic_client.messages.stream(model="cached", max_tokens=64, messages=[{"role": "user", "content": prompt}]) as stream:
        assert "".join(stream.text_stream) == f"Mock answer to: {prompt}"
    from google.genai import types

    answer = gemini_client.models.generate_content(
        model="cached", contents=prompt, config=types.GenerateContentConfig(max_output_tokens=64)
    )
    assert answer.text == f"Mock answer to: {prompt}"


def test_cache_off_bypasses_the_cache(openai_client):
    prompt = f"Never cache this ({uuid.uuid4().hex[:6]})"
    for _ in range(2):
        response = _ask(openai_client, prompt, extra_headers={"x-routershift-cache": "off"})
        assert response.headers["x-routershift-cache"] == "bypass"
    assert _ask(openai_client, prompt).headers["x-routershift-cache"] == "miss"
