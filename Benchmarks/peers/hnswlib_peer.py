"""hnswlib benchmark peer for `routershift-bench index`.

Builds an hnswlib inner-product index over the same vectors as our Swift HNSW
index and measures, single-threaded:

  build_s                time of init_index + add_items (M, ef_construction,
                         random_seed=100, one thread)
  bytes_per_vector       size of save_index's file divided by n: the index's own
                         structures (vectors, links, labels), comparable with
                         RouterShift's accounted bytes per vector
  rss_bytes_per_vector   process RSS growth from just before init_index to
                         after the build, divided by n (the index's own memory:
                         vectors, graph links, label map, visited lists)
  reopen_s               time of load_index of that file into a fresh Index
  per ef: recall_at_10   mean over queries of |found ∩ truth| / k (recall@k)
          qps            queries / second, issuing ONE query per knn_query call
                         (single-thread per-query latency, like the Swift side);
                         best of --repeats timed loops

Called as (usually through run-peer.sh, which provides the venv):

  run-peer.sh hnswlib hnswlib_peer.py --base BASE.f32 --queries QUERIES.f32 \
      --truth TRUTH.i32 --dim D [--k 10] [--efs 10,20,40,80,160,320] \
      [--m 16] [--ef-construction 200] [--repeats 1]

Inputs are raw little-endian row-major arrays: BASE.f32 is n x D float32
(already L2-normalised; label = row number), QUERIES.f32 is nq x D float32,
TRUTH.i32 is nq x k int32 exact top-k row ids per query.

Output is JSON Lines on stdout: one summary object
  {"engine","build_s","bytes_per_vector","rss_bytes_per_vector","reopen_s",
   "n","dim","version"}
followed by one {"engine","ef","recall_at_10","qps"} per ef. Progress goes to
stderr. Bad input exits with status 2 and a message on stderr.
"""

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from importlib import metadata

import hnswlib
import numpy as np

ENGINE = "hnswlib"


def log(msg):
    print(f"hnswlib_peer: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    print(f"hnswlib_peer: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def emit(obj):
    print(json.dumps(obj), flush=True)


def rss_bytes():
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def load_rows(path, dtype, width, what):
    """Read a raw little-endian matrix with `width` columns; validate its size."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        fail(f"cannot read {what} file {path}: {e.strerror}")
    row_bytes = width * np.dtype(dtype).itemsize
    if size == 0 or size % row_bytes:
        fail(f"{what} file {path} is {size} bytes, not a positive multiple of "
             f"{width} x {np.dtype(dtype).itemsize} = {row_bytes} bytes per row")
    return np.fromfile(path, dtype=dtype).reshape(-1, width)


def positive_int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}")
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"need one or more positive integers: {text!r}")
    return values


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="n x D float32 base vectors")
    p.add_argument("--queries", required=True, help="nq x D float32 query vectors")
    p.add_argument("--truth", required=True, help="nq x k int32 exact top-k ids")
    p.add_argument("--dim", required=True, type=positive_int)
    p.add_argument("--k", type=positive_int, default=10)
    p.add_argument("--efs", type=positive_int_list, default=[10, 20, 40, 80, 160, 320])
    p.add_argument("--m", type=positive_int, default=16)
    p.add_argument("--ef-construction", type=positive_int, default=200)
    p.add_argument("--repeats", type=positive_int, default=1)
    return p.parse_args()


def timed_queries(index, rows, k):
    """One knn_query call per query row; returns (seconds, labels[nq, k])."""
    query = index.knn_query
    found = []
    append = found.append
    gc.disable()
    try:
        t0 = time.perf_counter()
        for q in rows:
            append(query(q, k=k, num_threads=1)[0])
        seconds = time.perf_counter() - t0
    finally:
        gc.enable()
    return seconds, np.concatenate(found)


def main():
    args = parse_args()
    dim, k = args.dim, args.k

    base = load_rows(args.base, "<f4", dim, "base")
    queries = np.ascontiguousarray(load_rows(args.queries, "<f4", dim, "queries"), dtype=np.float32)
    n, nq = len(base), len(queries)
    if not os.path.isfile(args.truth):
        fail(f"cannot read truth file {args.truth}")
    truth_size = os.path.getsize(args.truth)
    if truth_size != nq * k * 4:
        fail(f"truth file {args.truth} is {truth_size} bytes; expected "
             f"{nq} queries x k={k} x 4 = {nq * k * 4}")
    truth = np.fromfile(args.truth, dtype="<i4").reshape(nq, k)
    if k > n:
        fail(f"k={k} is larger than the base ({n} vectors)")
    if truth.min() < 0 or truth.max() >= n:
        fail(f"truth ids must lie in 0..{n - 1}; found {truth.min()}..{truth.max()}")
    if not np.isfinite(base).all() or not np.isfinite(queries).all():
        fail("base or queries contain NaN/inf")
    norms = np.linalg.norm(base[: min(n, 1000)], axis=1)
    if np.abs(norms - 1).max() > 1e-3:
        log(f"warning: base vectors are not unit length (norms {norms.min():.4f}..{norms.max():.4f}); "
            "inner product will not match cosine ranking")
    version = metadata.version("hnswlib")
    log(f"hnswlib {version}: n={n} nq={nq} dim={dim} k={k} M={args.m} "
        f"ef_construction={args.ef_construction}")

    # Build. Everything the build reads (data, ids) is resident before the RSS
    # baseline, so the growth is the index's own memory.
    base = np.ascontiguousarray(base, dtype=np.float32)
    ids = np.arange(n, dtype=np.int64)
    index = hnswlib.Index(space="ip", dim=dim)
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index.init_index(max_elements=n, ef_construction=args.ef_construction, M=args.m, random_seed=100)
    index.set_num_threads(1)
    index.add_items(base, ids, num_threads=1)
    build_s = time.perf_counter() - t0
    rss_bytes_per_vector = (rss_bytes() - rss0) / n
    log(f"built in {build_s:.2f}s, {rss_bytes_per_vector:.0f} B/vector resident")

    # Save, measure the file, time a reopen, clean up.
    fd, path = tempfile.mkstemp(prefix="hnswlib-peer-", suffix=".bin")
    os.close(fd)
    try:
        index.save_index(path)
        bytes_per_vector = os.path.getsize(path) / n
        reopened = hnswlib.Index(space="ip", dim=dim)
        t0 = time.perf_counter()
        reopened.load_index(path)
        reopen_s = time.perf_counter() - t0
        if reopened.get_current_count() != n:
            fail(f"reopened index has {reopened.get_current_count()} elements, expected {n}")
        del reopened
    finally:
        os.unlink(path)
    log(f"file {bytes_per_vector:.0f} B/vector, reopened in {reopen_s:.3f}s")

    emit({"engine": ENGINE, "build_s": round(build_s, 6),
          "bytes_per_vector": round(bytes_per_vector, 1),
          "rss_bytes_per_vector": round(rss_bytes_per_vector, 1),
          "reopen_s": round(reopen_s, 6), "n": n, "dim": dim, "version": version})

    # Search: one query per call, single thread. Row views are made up front so
    # the timed loop is just the knn_query calls.
    rows = [queries[i:i + 1] for i in range(nq)]
    for ef in args.efs:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(args.repeats):
            try:
                seconds, found = timed_queries(index, rows, k)
            except RuntimeError as e:
                fail(f"knn_query failed at ef={ef}: {e}")
            best = min(best, seconds)
        hits = (found[:, :, None] == truth[:, None, :]).any(axis=2).sum(axis=1)
        recall = float(hits.mean() / k)
        qps = nq / best
        log(f"ef={ef}: recall@{k}={recall:.4f} qps={qps:.0f}")
        emit({"engine": ENGINE, "ef": ef, "recall_at_10": round(recall, 6), "qps": round(qps, 2)})


if __name__ == "__main__":
    main()
