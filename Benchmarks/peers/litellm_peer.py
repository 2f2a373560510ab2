"""LiteLLM proxy peer for `routershift-bench proxy`.

Starts the LiteLLM proxy (one uvicorn worker, no database) in front of an
OpenAI-compatible upstream, so the benchmark can drive it exactly like
RouterShift. Called as (usually through run-peer.sh, which provides the venv):

  run-peer.sh litellm litellm_peer.py --upstream http://127.0.0.1:PORT/v1 \
      --model NAME --port P [--master-key KEY] [--startup-timeout 180]

What it does:
  * writes a proxy config to a temp dir: one model_list entry (model_name NAME
    -> litellm_params model `openai/mock-small`, api_base UPSTREAM, api_key
    "unused"); general_settings with master_key (if given), no database, no
    spend/error logs, no background health checks; litellm_settings with
    telemetry, callbacks and caching off;
  * sets the LITELLM_LOCAL_* / LITELLM_TELEMETRY_DISABLED env vars so nothing
    is fetched from the network (model cost map, beta headers, ...);
  * runs `litellm --config CFG --host 127.0.0.1 --port P --num_workers 1` in a
    new process group. With one worker uvicorn serves in that very process, so
    its pid is the server whose RSS counts;
  * polls GET /health/liveliness until it answers 200, then prints ONE line
      {"engine":"litellm","ready":true,"port":P,"pid":SERVER_PID,"version":"1.108.7"}
    on stdout; all LiteLLM output (log level WARNING) goes to stderr;
  * keeps running until SIGTERM/SIGINT (or the death of its own parent), which
    it forwards to the server's whole process group; whatever is still alive
    after --stop-timeout seconds is SIGKILLed. The temp dir is removed. If this
    wrapper is SIGKILLed, the server still gets SIGTERM (PR_SET_PDEATHSIG).

Without --master-key the proxy runs unauthenticated (LiteLLM refuses to boot
keyless unless `dangerously_permit_weak_or_unset_master_key` is set, which is
done here). The key need not start with "sk-"; "sk-1234" is refused by LiteLLM.

Pitfalls: startup takes ~7-12 s on 2 cores (importing litellm), and the first
request after readiness is slow (~0.8 s, lazy imports): warm up before timing.

Exit status: 0 after a requested stop, 1 if the server failed to start or died
on its own, 2 for bad arguments or a port that is already taken.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib import metadata

import yaml

ENGINE = "litellm"
READY_PATH = "/health/liveliness"


def log(msg):
    print(f"litellm_peer: {msg}", file=sys.stderr, flush=True)


def fail(msg, status=1):
    print(f"litellm_peer: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(status)


def die_with_parent(sig=signal.SIGTERM):
    """Ask Linux to send `sig` to this process when its parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def write_config(directory, args):
    general = {
        # No DATABASE_URL: LiteLLM runs without Prisma. Make the rest explicit.
        "disable_spend_logs": True,
        "disable_error_logs": True,
        "disable_reset_budget": True,
        "background_health_checks": False,
        "store_model_in_db": False,
    }
    if args.master_key:
        general["master_key"] = args.master_key
    else:
        # LiteLLM >= 1.10x refuses to boot without a master key unless told so.
        general["dangerously_permit_weak_or_unset_master_key"] = True
    config = {
        "model_list": [{
            "model_name": args.model,
            "litellm_params": {
                "model": "openai/mock-small",
                "api_base": args.upstream,
                "api_key": "unused",
            },
        }],
        "general_settings": general,
        "litellm_settings": {
            "telemetry": False,
            "cache": False,
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
            "set_verbose": False,
            "json_logs": False,
        },
    }
    path = os.path.join(directory, "litellm-config.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return path


def server_env(log_level):
    env = dict(os.environ)
    for var in ("DATABASE_URL", "DIRECT_URL", "REDIS_HOST", "REDIS_URL", "PORT", "HOST", "NUM_WORKERS",
                "LITELLM_MASTER_KEY"):
        env.pop(var, None)
    env.update({
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
        "LITELLM_LOCAL_BLOG_POSTS": "True",
        "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
        "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
        "LITELLM_TELEMETRY_DISABLED": "true",
        "LITELLM_LOG": log_level.upper(),
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
        "DISABLE_ADMIN_UI": "True",
        "PYTHONUNBUFFERED": "1",
    })
    # Never send loopback traffic through an HTTP proxy from the environment.
    no_proxy = ",".join(filter(None, [env.get("NO_PROXY"), "127.0.0.1,localhost,::1"]))
    env["NO_PROXY"] = env["no_proxy"] = no_proxy
    return env


def litellm_command():
    exe = os.path.join(os.path.dirname(sys.executable), "litellm")
    if os.access(exe, os.X_OK):
        return exe
    found = shutil.which("litellm")
    if not found:
        fail("the `litellm` command is not installed (run through run-peer.sh litellm ...)")
    return found


def ensure_port_free(port):
    """Fail early: otherwise a foreign server on the port could pass the probe
    (and LiteLLM silently moves to a random port when 4000 is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            fail(f"port {port} on 127.0.0.1 is not free: {e.strerror}", 2)


def probe(port):
    """True if GET /health/liveliness answers 200."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{port}{READY_PATH}", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:4010/v1")
    ap.add_argument("--model", required=True, help="model name clients ask for")
    ap.add_argument("--port", type=int, required=True, help="port for the proxy on 127.0.0.1")
    ap.add_argument("--master-key", default=None, help="proxy master key (clients send Bearer KEY)")
    ap.add_argument("--startup-timeout", type=float, default=180.0, help="seconds to wait for readiness")
    ap.add_argument("--stop-timeout", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL")
    ap.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    args = ap.parse_args()
    if not 1 <= args.port <= 65535:
        fail(f"--port must be 1..65535, got {args.port}", 2)
    if not args.upstream.startswith(("http://", "https://")):
        fail(f"--upstream must be an http(s) URL, got {args.upstream!r}", 2)
    if args.master_key in ("", "sk-1234"):
        fail("LiteLLM refuses an empty master key or its documented sample 'sk-1234'", 2)

    ensure_port_free(args.port)

    stop = {"requested": False}

    def on_signal(signum, _frame):
        stop["requested"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Our parent's death is noticed by polling getppid() (PR_SET_PDEATHSIG on
    # ourselves would also fire when merely the spawning *thread* of a
    # multi-threaded caller exits).
    parent = os.getppid()

    version = metadata.version("litellm")
    tmp = tempfile.mkdtemp(prefix="litellm-peer-")
    proc = None
    try:
        cfg = write_config(tmp, args)
        cmd = [litellm_command(), "--config", cfg, "--host", "127.0.0.1",
               "--port", str(args.port), "--num_workers", "1"]
        log(f"starting LiteLLM {version}: {' '.join(cmd)}")
        started = time.monotonic()
        # New session => the server leads its own process group (pgid == pid),
        # so one killpg reaches it and anything it spawns. If this wrapper is
        # SIGKILLed the server still gets SIGTERM (PR_SET_PDEATHSIG).
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=server_env(args.log_level), stdin=subprocess.DEVNULL,
            stdout=sys.stderr, stderr=sys.stderr, start_new_session=True,
            preexec_fn=die_with_parent,
        )

        while not probe(args.port):
            if stop["requested"] or os.getppid() != parent:
                return 0
            if proc.poll() is not None:
                fail(f"LiteLLM exited with status {proc.returncode} before it was ready")
            if time.monotonic() - started > args.startup_timeout:
                fail(f"LiteLLM not ready on port {args.port} after {args.startup_timeout:.0f} s")
            time.sleep(0.1)
        log(f"ready after {time.monotonic() - started:.1f} s (pid {proc.pid})")
        print(json.dumps({"engine": ENGINE, "ready": True, "port": args.port,
                          "pid": proc.pid, "version": version},
                         separators=(",", ":")), flush=True)

        while not stop["requested"] and os.getppid() == parent:
            if proc.poll() is not None:
                fail(f"LiteLLM exited on its own with status {proc.returncode}")
            time.sleep(0.2)
        return 0
    finally:
        if proc is not None:
            stop_group(proc, args.stop_timeout)
        shutil.rmtree(tmp, ignore_errors=True)


def stop_group(proc, timeout):
    """SIGTERM the server's process group, SIGKILL it after `timeout` s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"LiteLLM still running {timeout:.0f} s after SIGTERM; killing it")
    # Reap stragglers in the group (a server that exited may leave children).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
