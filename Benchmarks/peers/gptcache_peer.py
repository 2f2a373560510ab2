"""GPTCache peer for `routershift-bench cache`.

An OpenAI-compatible HTTP server backed by GPTCache, so that the benchmark can
send the same requests to it as to RouterShift's semantic cache:

  run-peer.sh gptcache gptcache_peer.py --upstream http://127.0.0.1:PORT/v1 \
      --port P --threshold T --model-dir DIR [--data-dir DIR] [--threads N] \
      [--max-size N] [--disable-report] [--sqlite-stock]

  POST /v1/chat/completions   non-streaming chat completion; the body is an
                              OpenAI chat completion JSON, with the response
                              header `x-cache: hit|miss`
  GET  /health                "ok"

Once listening it prints ONE line on stdout,
  {"engine":"gptcache","ready":true,"port":P,"pid":...,"version":"<gptcache version>"}
(--port 0 picks a free port, printed there), then serves until SIGTERM or
SIGINT and exits 0. Logs go to stderr. Bad arguments exit 2, a failed start 1.

GPTCache as its users run it: `gptcache.adapter.openai.ChatCompletion.create`
(the pre-1.0 OpenAI API it wraps, openai==0.28.1) with `cache_obj` a
`gptcache.Cache` set up with `Cache.init`:
  pre-embedding   content of the LAST message whose role is "user" (text parts
                  of a content array joined with "\\n")
  embedding       all-minilm-l6-v2 through onnxruntime (one intra-op thread):
                  the onnxruntime peer's Embedder (BertWordPiece tokenizer from
                  vocab.txt, no padding to 128, truncation 256, mean pooling,
                  L2 normalisation) over its cached ONNX export
  data manager    sqlite (CacheBase) + faiss "IDMap,Flat" L2 (VectorBase,
                  top_k=1) + GPTCache's in-memory LRU eviction (--max-size,
                  default 100000 so nothing is evicted during a benchmark),
                  files in --data-dir, deleted at start (default: a temporary
                  directory removed at exit)
  evaluation      SearchDistanceEvaluation(max_distance=4, positive=False)
  sqlite          journal_mode=WAL, synchronous=NORMAL, as RouterShift's
                  store (--sqlite-stock: SQLite's defaults, an fsync per commit,
                  i.e. two per hit, which then dominate hit latency)
  config          Config(similarity_threshold=(1 + T) / 2,
                  enable_token_counter=False); everything else GPTCache's
                  defaults (hit reports written to sqlite unless
                  --disable-report, faiss index + sqlite flushed every 20 saves)
On a miss GPTCache calls the upstream (--upstream as the OpenAI api_base) with
the request's parameters and stores the answer.

Threshold: faiss METRIC_L2 returns the SQUARED distance, and for unit vectors
d^2 = 2 - 2 cos. The evaluation's score is 4 - d^2 = 2 + 2 cos in [0, 4], and
GPTCache hits when score >= (4 - 0) * similarity_threshold. With
similarity_threshold = (1 + T) / 2 that is 2 + 2 cos >= 2 + 2 T, i.e.
cos >= T: the same rule as RouterShift (a hit when cosine similarity >= T),
up to float32 rounding of d^2 (~1e-6). Any T in [-1, 1] maps into GPTCache's
allowed [0, 1].

Concurrency: one process, one asyncio event loop (aiohttp) that only parses
and writes HTTP; each request runs GPTCache's synchronous `create` on a pool
of --threads threads (default 2, the machine's cores). onnxruntime and faiss
release the GIL, so two embeddings can run at once; the rest is GIL-bound.
faiss is set to one OpenMP thread. A lock serialises faiss search/add/delete
(faiss does not allow an add concurrent with a search; a search over a flat
index of a few thousand vectors takes microseconds).

The ONNX export comes from .build-peers/onnx/ (the onnxruntime peer's cache,
keyed on the sha256 of model.safetensors); when it is missing it is made once by
`run-peer.sh onnxruntime onnxruntime_peer.py --export-to ...`, i.e. in that
peer's venv, so torch is never installed in this one.
"""

import argparse
import asyncio
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

# Before faiss (and its OpenMP runtime) is loaded: no spinning worker threads.
os.environ["OMP_NUM_THREADS"] = "1"

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import onnxruntime_peer as ortpeer  # noqa: E402  (stdlib-only at import time)

ENGINE = "gptcache"
DIM = 384


def log(*args):
    print("gptcache-peer:", *args, file=sys.stderr, flush=True)


def die(msg, code=1):
    log("error:", msg)
    sys.exit(code)


def onnx_export(model_dir, cache_dir):
    """The onnxruntime peer's cached export; made in that peer's venv if missing."""
    path = ortpeer.cached_onnx_path(cache_dir, ortpeer.sha256_file(model_dir / "model.safetensors"))
    if path.is_file():
        return path
    log(f"no ONNX export at {path}; making it with the onnxruntime peer (once, needs its venv)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    rc = subprocess.call(
        [str(HERE / "run-peer.sh"), "onnxruntime", str(HERE / "onnxruntime_peer.py"),
         "--export-to", str(path), "--model-dir", str(model_dir)],
        stdout=sys.stderr,
    )
    if rc != 0 or not path.is_file():
        die(f"ONNX export failed (exit {rc}); run the onnxruntime peer once "
            f"(Benchmarks/peers/run-peer.sh onnxruntime onnxruntime_peer.py --model-dir "
            f"{model_dir} --serve < /dev/null) and retry")
    return path


def last_user_content(data, **_):
    """GPTCache pre-embedding function: the last user message's text."""
    for message in reversed(data.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "\n".join(p.get("text", "") for p in content
                                 if isinstance(p, dict) and p.get("type") == "text")
            return content if isinstance(content, str) else ""
    return ""


def lock_methods(obj, names, lock):
    for name in names:
        fn = getattr(obj, name)

        def locked(*a, _fn=fn, **kw):
            with lock:
                return _fn(*a, **kw)
        setattr(obj, name, locked)


def use_wal_normal(engine):
    """journal_mode=WAL + synchronous=NORMAL on every connection of GPTCache's
    SQLAlchemy engine: the durability of RouterShift's store (no fsync per
    commit). SQLite's default (rollback journal, synchronous=FULL) fsyncs on
    each of the two commits GPTCache makes per hit (last_access, report row)."""
    from sqlalchemy import event

    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # pooled connections made before the listener are dropped


def make_cache(args, embedder):
    import faiss
    from gptcache import Cache, Config
    from gptcache.manager import CacheBase, VectorBase, get_data_manager
    from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

    faiss.omp_set_num_threads(1)
    data_manager = get_data_manager(
        CacheBase("sqlite", sql_url=f"sqlite:///{args.data_dir / 'sqlite.db'}"),
        VectorBase("faiss", dimension=DIM, index_path=str(args.data_dir / "faiss.index"), top_k=1),
        max_size=args.max_size,
    )
    lock_methods(data_manager.v, ("search", "mul_add", "delete"), threading.Lock())
    if not args.sqlite_stock:
        use_wal_normal(data_manager.s._engine)

    def embed(text, **_):
        return embedder.embed([text])[0]

    cache = Cache()
    cache.init(
        pre_embedding_func=last_user_content,
        embedding_func=embed,
        data_manager=data_manager,
        similarity_evaluation=SearchDistanceEvaluation(max_distance=4.0, positive=False),
        config=Config(similarity_threshold=(1.0 + args.threshold) / 2.0,
                      enable_token_counter=False, disable_report=args.disable_report),
    )
    return cache


def make_app(args, cache):
    from aiohttp import web
    import openai as openai_sdk
    from gptcache.adapter import openai as cached_openai

    pool = ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="gptcache")

    def complete(body, api_key):
        return cached_openai.ChatCompletion.create(
            cache_obj=cache, api_base=args.upstream, api_key=api_key,
            request_timeout=args.upstream_timeout, **body)

    def error(status, message, kind="invalid_request_error"):
        return web.json_response({"error": {"message": message, "type": kind}}, status=status)

    async def chat(request):
        try:
            body = await request.json()
        except ValueError:
            return error(400, "body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) \
                or not body["messages"] or not isinstance(body.get("model"), str):
            return error(400, "need `model` (string) and `messages` (non-empty array)")
        if body.get("stream"):
            return error(400, "streaming is not supported by this peer")
        body = {k: v for k, v in body.items()
                if k not in ("cache_obj", "api_base", "api_key", "request_timeout")}
        auth = request.headers.get("Authorization", "")
        api_key = auth[7:] if auth.startswith("Bearer ") else "sk-gptcache-peer"
        try:
            resp = await asyncio.get_running_loop().run_in_executor(pool, complete, body, api_key)
        except openai_sdk.error.OpenAIError as e:
            status = e.http_status if isinstance(e.http_status, int) and e.http_status >= 400 else 502
            if isinstance(e.json_body, dict) and "error" in e.json_body:
                return web.json_response(e.json_body, status=status)  # upstream's own error
            return error(status, f"upstream: {type(e).__name__}: {str(e)[:300]}", "upstream_error")
        except Exception as e:  # noqa: BLE001 (report, keep serving)
            log(f"request failed: {type(e).__name__}: {e}")
            return error(500, f"{type(e).__name__}: {e}", "server_error")
        hit = isinstance(resp, dict) and resp.get("gptcache") is True
        if hit:  # GPTCache's cached reply lacks these two OpenAI fields
            resp.setdefault("id", f"chatcmpl-gptcache-{uuid.uuid4().hex[:24]}")
            resp.setdefault("model", body["model"])
        return web.Response(body=json.dumps(resp).encode(), content_type="application/json",
                            headers={"x-cache": "hit" if hit else "miss"})

    async def health(_):
        return web.Response(text="ok")

    app = web.Application(client_max_size=16 << 20)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    app.on_cleanup.append(lambda _: asyncio.to_thread(pool.shutdown, wait=True))
    return app


async def serve(args, app):
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, reuse_address=True)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        die(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror}")
    port = site._server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"engine": ENGINE, "ready": True, "port": port, "pid": os.getpid(),
                      "version": metadata.version("gptcache")}, separators=(",", ":")), flush=True)
    log(f"listening on 127.0.0.1:{port}, threshold cos >= {args.threshold}, "
        f"{args.threads} thread(s), data in {args.data_dir}")
    await stop.wait()
    log("stopping")
    await runner.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True,
                    help="OpenAI-compatible base URL, e.g. http://127.0.0.1:4010/v1")
    ap.add_argument("--port", required=True, type=int, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--threshold", required=True, type=float,
                    help="cosine similarity a hit needs, in [-1, 1] (same as RouterShift's)")
    ap.add_argument("--model-dir", required=True, type=Path,
                    help="all-MiniLM-L6-v2 dir: model.safetensors, vocab.txt, config.json")
    ap.add_argument("--data-dir", type=Path,
                    help="where GPTCache keeps sqlite.db and faiss.index (emptied of them at "
                         "start; default: a temporary dir removed at exit)")
    ap.add_argument("--threads", type=int, default=2, help="request worker threads (default 2)")
    ap.add_argument("--max-size", type=int, default=100_000,
                    help="GPTCache's LRU capacity in entries (default 100000)")
    ap.add_argument("--disable-report", action="store_true",
                    help="Config(disable_report=True): do not write a report row to sqlite per hit")
    ap.add_argument("--sqlite-stock", action="store_true",
                    help="keep SQLite's defaults (rollback journal, synchronous=FULL: an fsync "
                         "per commit) instead of WAL + synchronous=NORMAL like RouterShift's store")
    ap.add_argument("--upstream-timeout", type=float, default=60.0, help="seconds (default 60)")
    ap.add_argument("--onnx-cache-dir", type=Path, default=ortpeer.DEFAULT_CACHE,
                    help=f"the onnxruntime peer's export cache (default {ortpeer.DEFAULT_CACHE})")
    args = ap.parse_args()

    if not -1.0 <= args.threshold <= 1.0:
        die("--threshold must be a cosine similarity in [-1, 1]", 2)
    if not 0 <= args.port <= 65535 or args.threads < 1 or args.max_size < 1:
        die("need 0 <= --port <= 65535, --threads >= 1, --max-size >= 1", 2)
    if not args.upstream.startswith(("http://", "https://")):
        die(f"--upstream must be an http(s) base URL, got {args.upstream!r}", 2)
    args.upstream = args.upstream.rstrip("/")
    model_dir = args.model_dir.resolve()
    for f in ("model.safetensors", "vocab.txt", "config.json"):
        if not (model_dir / f).is_file():
            die(f"{model_dir} has no {f} (run `routershift model fetch`)", 2)

    if args.data_dir is None:
        args.data_dir = Path(tempfile.mkdtemp(prefix="gptcache-peer-"))
        # Registered before Cache.init's own atexit hook, so it runs after it
        # (GPTCache flushes faiss.index and sqlite into this dir on exit).
        atexit.register(shutil.rmtree, args.data_dir, ignore_errors=True)
    else:
        args.data_dir = args.data_dir.resolve()
        args.data_dir.mkdir(parents=True, exist_ok=True)
        for name in ("sqlite.db", "sqlite.db-wal", "sqlite.db-shm", "sqlite.db-journal",
                     "faiss.index"):
            (args.data_dir / name).unlink(missing_ok=True)

    t0 = time.perf_counter()
    onnx_path = onnx_export(model_dir, args.onnx_cache_dir.resolve())
    embedder = ortpeer.Embedder(onnx_path, model_dir / "vocab.txt")
    embedder.embed(["warm-up"])
    cache = make_cache(args, embedder)
    app = make_app(args, cache)
    log(f"ready in {time.perf_counter() - t0:.1f} s (ONNX {onnx_path.name})")
    asyncio.run(serve(args, app))


if __name__ == "__main__":
    main()
