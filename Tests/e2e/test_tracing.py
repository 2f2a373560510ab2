"""OpenTelemetry traces from a real `routershift serve`, exported over OTLP/HTTP (protobuf) to a receiver run
here and decoded with opentelemetry-proto: the span tree and attributes of a miss, a hit, a retried request
and a stream, and a client's `traceparent` continued."""

from __future__ import annotations

import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from conftest import REQUEST_TIMEOUT, running_gateway, write_config

RETRIED_GROUP = (
    '  - { name: retried, cache: false, strategy: failover, deployments: ['
    ' { name: failing, provider: mock-openai, model: "mock@fail500", priority: 0 },'
    ' { name: working, provider: mock-openai, model: mock-small, priority: 1 } ] }\n'
)
SERVER, CLIENT = 2, 3  # Span.SpanKind
STATUS_ERROR = 2  # Status.StatusCode
EXPORT_WAIT = 30.0  # the batch processor exports every 5 s


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


class Receiver:
    """An OTLP/HTTP trace receiver on loopback: every exported span with its service name."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                receiver.spans.append({
                                    "service": resource.get("service.name"), "name": span.name, "kind": span.kind,
                                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex(), "status": span.status.code,
                                    "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                                    "attributes": {a.key: value(a.value) for a in span.attributes},
                                    "path": self.path,
                                })
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *arguments) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def trace_of(self, request_id: str, log: Path) -> tuple[dict, list[dict]]:
        """The server span whose request had `request_id`, and the other spans of its trace."""
        deadline = time.monotonic() + EXPORT_WAIT
        while True:
            with self.lock:
                servers = [s for s in self.spans if s["attributes"].get("routershift.request_id") == request_id]
                if servers:
                    root = servers[0]
                    return root, [s for s in self.spans if s["trace_id"] == root["trace_id"] and s is not root]
            assert time.monotonic() < deadline, f"no span for {request_id} within {EXPORT_WAIT:.0f} s:\n{log.read_text()}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture()
def traced(routershift_bin: Path, mock_upstream: str, tmp_path: Path):
    receiver = Receiver()
    config = write_config(tmp_path, mock_upstream)
    config.write_text(
        config.read_text().replace("models:\n", "models:\n" + RETRIED_GROUP, 1)
        + f"telemetry: {{ otlp: {{ endpoint: 'http://127.0.0.1:{receiver.port}', service_name: routershift-e2e }} }}\n")
    try:
        with running_gateway(routershift_bin, mock_upstream, config, "sk-master-trace-e2e-0001") as (gateway, _):
            yield gateway, receiver
    finally:
        receiver.stop()


def chat(gateway, model: str, content: str, stream: bool = False, headers: dict | None = None) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=REQUEST_TIMEOUT,
                      headers={"Authorization": f"Bearer {gateway.master_key}", **(headers or {})})


def test_a_miss_continues_the_clients_trace_and_a_hit_skips_the_upstream(traced):
    gateway, receiver = traced
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    prompt = f"a traced question {secrets.token_hex(4)}"
    miss = chat(gateway, "cached", prompt, headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert miss.status_code == 200, miss.text
    server, children = receiver.trace_of(miss.headers["x-request-id"], gateway.log_path)
    assert server["service"] == "routershift-e2e" and server["path"] == "/v1/traces"
    assert server["kind"] == SERVER and server["name"] == "POST /v1/chat/completions"
    assert server["trace_id"] == trace_id and server["parent"] == parent_id
    attributes = server["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "cached"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.response.model"]
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gen_ai.usage.input_tokens"] > 0 and attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["routershift.cache.result"] == "miss"
    assert attributes["http.response.status_code"] == 200
    by_name = {span["name"]: span for span in children}
    # The scope holds no entry yet, so the lookup embeds the prompt and has nothing to search.
    assert {"authenticate", "cache.lookup", "cache.embed", "chat mock-small", "cache.store"} <= set(by_name)
    for name in ("authenticate", "cache.lookup", "chat mock-small", "cache.store"):
        assert by_name[name]["parent"] == server["span_id"], name
    assert by_name["cache.embed"]["parent"] == by_name["cache.lookup"]["span_id"]
    upstream = by_name["chat mock-small"]
    assert upstream["kind"] == CLIENT
    assert upstream["attributes"]["routershift.breaker.state"] == "closed"
    assert upstream["attributes"]["gen_ai.request.model"] == "mock-small"
    # The request log row names the trace.
    logs = gateway.admin("GET", "/admin/logs", params={"limit": 50}).json()["data"]
    row = next(row for row in logs if row["request_id"] == miss.headers["x-request-id"])
    assert row["trace_id"] == trace_id

    hit = chat(gateway, "cached", prompt)
    assert hit.headers["x-routershift-cache"] == "hit", hit.headers
    server, children = receiver.trace_of(hit.headers["x-request-id"], gateway.log_path)
    assert server["trace_id"] != trace_id and server["parent"] == ""
    assert server["attributes"]["routershift.cache.result"] == "hit"
    assert server["attributes"]["gen_ai.usage.output_tokens"] > 0
    assert {span["name"] for span in children} == {"authenticate", "cache.lookup"}

    # Another prompt, now that the scope has an entry: embedded, then searched.
    other = chat(gateway, "cached", f"something unrelated {secrets.token_hex(4)}")
    server, children = receiver.trace_of(other.headers["x-request-id"], gateway.log_path)
    lookup = next(span for span in children if span["name"] == "cache.lookup")
    steps = {span["name"]: span for span in children if span["parent"] == lookup["span_id"]}
    assert {"cache.embed", "cache.search"} <= set(steps), children
    assert steps["cache.search"]["attributes"]["routershift.cache.candidates"] >= 0


def test_a_retried_request_has_a_failed_and_a_successful_attempt(traced):
    gateway, receiver = traced
    answer = chat(gateway, "retried", "again")
    assert answer.status_code == 200, answer.text
    server, children = receiver.trace_of(answer.headers["x-request-id"], gateway.log_path)
    attempts = sorted((span for span in children if span["kind"] == CLIENT),
                      key=lambda span: span["attributes"]["routershift.attempt"])
    assert [span["attributes"]["routershift.deployment"] for span in attempts] == ["failing", "working"]
    assert attempts[0]["status"] == STATUS_ERROR and attempts[1]["status"] != STATUS_ERROR
    assert server["attributes"]["routershift.retries"] == 1
    assert server["attributes"]["routershift.deployment"] == "working"


def test_a_streams_span_ends_after_its_last_event(traced):
    gateway, receiver = traced
    with httpx.stream("POST", f"{gateway.base_url}/v1/chat/completions", timeout=REQUEST_TIMEOUT,
                      headers={"Authorization": f"Bearer {gateway.master_key}"},
                      json={"model": "gpt-4o-mini", "stream": True,
                            "messages": [{"role": "user", "content": "a traced stream"}]}) as response:
        request_id = response.headers["x-request-id"]
        text = "".join(response.iter_text())
    assert "data: [DONE]" in text
    server, children = receiver.trace_of(request_id, gateway.log_path)
    assert server["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert server["attributes"]["gen_ai.usage.output_tokens"] > 0
    upstream = next(span for span in children if span["kind"] == CLIENT)
    assert server["end"] >= upstream["end"]
