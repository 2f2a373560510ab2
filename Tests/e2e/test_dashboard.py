"""The dashboard at /ui, loaded in a real headless browser (Debian's chromium) against a gateway that has served
known traffic: every figure it shows equals the admin API's."""

import os
import re
import secrets
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import openai
import pytest

from conftest import REQUEST_TIMEOUT, running_gateway, write_config

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _browser(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    command = [
        BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={profile}",
        # Virtual time runs the page's scripts and fetches to completion before the DOM is read.
        "--virtual-time-budget=10000", *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


class _Attributes(HTMLParser):
    """Every element's attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))


def _page(url: str, profile: Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The body's attributes and every element's, as the page left them."""
    dom = _browser("--dump-dom", url, profile=profile).stdout
    parser = _Attributes()
    parser.feed(dom)
    body = next(attributes for tag, attributes in parser.elements if tag == "body")
    return body, [attributes for _, attributes in parser.elements]


def _same(shown: str, actual) -> bool:
    if actual is None:
        return shown == ""
    return shown != "" and abs(float(shown) - float(actual)) <= 1e-9 * max(1.0, abs(float(actual)))


@pytest.fixture(scope="module")
def dashboard_gateway(routershift_bin, mock_upstream, tmp_path_factory):
    if BROWSER is None:
        if os.environ.get("ROUTERSHIFT_REQUIRE_BROWSER"):
            pytest.fail("no chromium on PATH: scripts/test.sh installs it (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium) to test the dashboard in")
    config = write_config(tmp_path_factory.mktemp("dashboard"), mock_upstream)
    with running_gateway(routershift_bin, mock_upstream, config, "sk-master-" + secrets.token_hex(16)) as (gateway, _):
        yield gateway


def _send_known_traffic(gateway) -> None:
    master = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=gateway.master_key, max_retries=0, timeout=REQUEST_TIMEOUT)
    # The last is a semantic hit: the uncased model embeds it as the first, while its exact key differs.
    for text in ["What is RouterShift?", "How do I rotate keys?", "What is a circuit breaker?", "What is RouterShift?",
                 "what is routershift?"]:
        master.chat.completions.create(model="cached", messages=[{"role": "user", "content": text}])
    master.chat.completions.create(model="claude-sonnet-4", messages=[{"role": "user", "content": "Hello Claude"}])
    with pytest.raises(openai.NotFoundError):
        master.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    key = gateway.create_key(name="dashboard-tester")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key["key"], max_retries=0, timeout=REQUEST_TIMEOUT)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "From a virtual key"}])
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "fail"}])


def test_dashboard_shows_the_api_figures(dashboard_gateway, tmp_path):
    gateway = dashboard_gateway
    _send_known_traffic(gateway)
    body, elements = _page(f"{gateway.base_url}/ui#key={gateway.master_key}", tmp_path / "profile")
    assert body.get("data-view") == "dashboard" and body.get("data-ready") == "true", body

    def api(path: str) -> dict:
        response = gateway.admin("GET", path)
        assert response.status_code == 200, response.text
        return response.json()

    stats = api("/admin/stats?from=24h")
    expected = {
        "requests": stats["requests"], "errors": stats["errors"], "cache_hit_rate": stats["cache"]["hit_rate"],
        "exact_hits": stats["cache"]["exact_hits"], "semantic_hits": stats["cache"]["semantic_hits"],
        "misses": stats["cache"]["misses"], "cost": stats["cost"], "cost_saved": stats["cost_saved"],
        "tokens_saved": stats["tokens"]["saved"], "latency_p50": stats["latency_ms"]["p50"],
        "latency_p90": stats["latency_ms"]["p90"], "latency_p99": stats["latency_ms"]["p99"],
        "ttft_p50": stats["ttft_ms"]["p50"],
    }
    assert stats["requests"] >= 8 and stats["cache"]["exact_hits"] >= 1 and stats["errors"] >= 2
    shown = {element["data-figure"]: element.get("data-value", "") for element in elements if "data-figure" in element}
    for name, value in expected.items():
        assert name in shown, f"the page shows no {name}"
        assert _same(shown[name], value), f"{name}: page {shown[name]!r}, API {value!r}"

    by_model = {row["group"]: row["cost"] for row in api("/admin/spend?group_by=model&from=24h")["data"]}
    shown_models = {element["data-spend-model"]: element["data-value"] for element in elements if "data-spend-model" in element}
    assert shown_models.keys() == by_model.keys() and all(_same(shown_models[m], c) for m, c in by_model.items())

    by_key = {row["group"]: row["cost"] for row in api("/admin/spend?group_by=key&from=24h")["data"]}
    shown_keys = {element["data-spend-key"]: element["data-value"] for element in elements if "data-spend-key" in element}
    assert shown_keys.keys() == by_key.keys() and all(_same(shown_keys[k], c) for k, c in by_key.items())

    volume = sum(row["requests"] for row in api("/admin/spend?interval=hour&from=24h")["data"])
    bars = [element for element in elements if "data-period" in element]
    assert sum(int(element["data-value"]) for element in bars) == volume == stats["requests"]

    breakers = {row["name"]: (row["breaker"], str(row["total_requests"])) for row in api("/admin/routing")["data"]}
    shown_breakers = {
        element["data-breaker"]: (element["data-value"], element["data-requests"])
        for element in elements if "data-breaker" in element
    }
    assert shown_breakers == breakers

    # The semantic cache: recent hits, their cosines, the cache's figures over time and the audits.
    hits = api("/admin/cache/hits?limit=20")["data"]
    assert len(hits) >= 1 and hits[0]["matched_prompt"] == "What is RouterShift?"
    assert [element["data-hit-request"] for element in elements if "data-hit-request" in element] == [
        hit["request_id"] for hit in hits]
    buckets = [int(element["data-count"]) for element in elements if "data-similarity-bucket" in element]
    assert len(buckets) == 10 and sum(buckets) == len(hits)
    cache_hits = sum(row["cache_hits"] for row in api("/admin/spend?interval=hour&from=24h")["data"])
    assert sum(int(element["data-hits"]) for element in elements if "data-cache-period" in element) == cache_hits
    assert cache_hits == stats["cache"]["exact_hits"] + stats["cache"]["semantic_hits"]
    audit = api("/admin/cache/audit")
    assert audit["groups"] == [] and not any("data-audit-model" in element for element in elements)

    errors = [row["id"] for row in api("/admin/logs?errors=true&limit=20&from=24h")["data"]]
    shown_errors = [element["data-error-id"] for element in elements if "data-error-id" in element]
    assert shown_errors == errors and len(errors) == stats["errors"]


def test_dashboard_asks_for_the_master_key(dashboard_gateway, tmp_path):
    gateway = dashboard_gateway
    body, _ = _page(f"{gateway.base_url}/ui#key=sk-wrong-key", tmp_path / "profile")
    assert body.get("data-view") == "login"
    key = gateway.create_key(name="not-admin")
    body, _ = _page(f"{gateway.base_url}/ui#key={key['key']}", tmp_path / "profile2")
    assert body.get("data-view") == "login"


def test_dashboard_renders_a_screenshot(dashboard_gateway, tmp_path):
    gateway = dashboard_gateway
    shot = tmp_path / "dashboard.png"
    _browser(
        "--hide-scrollbars", "--window-size=1400,1000", f"--screenshot={shot}",
        f"{gateway.base_url}/ui#key={gateway.master_key}", profile=tmp_path / "profile",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
