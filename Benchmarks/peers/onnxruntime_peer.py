"""onnxruntime benchmark peer for `routershift-bench embed`.

Runs all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384) through onnxruntime's CPU
execution provider, single-threaded, and times it as `routershift-bench embed` asks, so that the engines run in
alternating rounds in one benchmark instead of one after the other:

  serve mode (--serve)  reads JSON requests on stdin, one per line,
                          {"precision": "fp32"|"int8", "texts": [...],
                           "calls": N, "warmup": W}
                        makes W untimed then N timed embed calls of all the
                        texts (tokenize -> session.run -> mean pooling over the
                        attention mask -> L2 normalise), and answers one line
                          {"wall_s": [...], "cpu_s": [...]}
                        with each call's wall-clock and process CPU seconds.
                        EOF or {"quit": true} ends it.

Two sessions serve it: "fp32", the exported graph, and "int8",
onnxruntime.quantization.quantize_dynamic of it (weight_type=QInt8, the other
settings at their defaults: per-tensor weights, u8 activations quantised per
call), cached beside the export.

Model: the ONNX graph is BertModel (no pooler) exported from model.safetensors
with torch.onnx.export (dynamo exporter, opset 18, fp32, eager attention),
inputs input_ids / attention_mask / token_type_ids [batch, seq] (int64, both
axes dynamic), output last_hidden_state [batch, seq, 384]. Mean pooling and L2
normalisation are done in numpy, inside the timed call. The export runs ONCE in
a child process (so torch never enters this process and its memory is not in
the RSS figures) and is cached under --cache-dir, keyed on the sha256 of
model.safetensors. The export is checked against the torch model before it is
cached.

Session: CPUExecutionProvider, intra_op_num_threads=1, inter_op_num_threads=1,
ORT_SEQUENTIAL, ORT_ENABLE_ALL.

Tokenizer: HuggingFace `tokenizers` BertWordPieceTokenizer from vocab.txt
(lower-case, strip accents, clean text, CJK split), [CLS] ... [SEP], truncation
to 256 tokens, padding only to the longest sequence of a call.

Called as (usually through run-peer.sh, which provides the venv):

  run-peer.sh onnxruntime onnxruntime_peer.py --model-dir DIR --serve \
      [--cache-dir DIR] [--reference DIR]

DIR holds model.safetensors, vocab.txt and config.json.
--reference DIR (e.g. shared/data/embedding) holds reference_embeddings.json
({sentence: [384 floats]}) and optionally reference_meta.json (token ids). The
reference sentences are embedded one at a time and as one padded batch, in a
child process (so the parity run does not grow this process's ORT memory arena
and RSS), before measuring; the minimum cosine is printed to stderr and the peer
exits 1 if it is below --min-cosine (default 0.999).

Before the first request it prints one line
  {"ready": true, "version": "<ort version>", "session_rss_mb": ..}
Progress goes to stderr. A bad request is answered {"error": "..."}.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ENGINE = "onnxruntime"
MAX_SEQ_LEN = 256
OPSET = 18
HIDDEN = 384
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
REPO = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO / ".build-peers" / "onnx"


def log(*args):
    print("onnxruntime-peer:", *args, file=sys.stderr, flush=True)


def die(msg, code=2):
    log("error:", msg)
    sys.exit(code)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rss_mb():
    """Current resident set size of this process in MiB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# --------------------------------------------------------------------------
# Export (runs in a child process: `onnxruntime_peer.py --export-to OUT ...`)
# --------------------------------------------------------------------------

def export_onnx(model_dir, out_path):
    import numpy as np
    import torch
    import transformers
    from transformers import BertModel

    torch.set_num_threads(1)
    model = BertModel.from_pretrained(
        str(model_dir), add_pooling_layer=False, attn_implementation="eager"
    ).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state

    wrapped = LastHiddenState(model).eval()
    # Example with batch 2 and a padded row, so no axis gets specialised to 1.
    ids = torch.tensor([[101, 7592, 2088, 999, 102, 0], [101, 2054, 2003, 1996, 3007, 102]])
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    dyn = {name: {0: "batch", 1: "seq"} for name in INPUT_NAMES}

    tmp = out_path.with_name(out_path.name + f".tmp{os.getpid()}")
    t0 = time.perf_counter()
    try:
        with torch.no_grad():
            torch.onnx.export(
                wrapped,
                (ids, mask, types),
                str(tmp),
                input_names=INPUT_NAMES,
                output_names=["last_hidden_state"],
                opset_version=OPSET,
                dynamo=True,
                dynamic_shapes=dyn,
                external_data=False,
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log(f"exported in {time.perf_counter() - t0:.1f} s (torch {torch.__version__}, "
        f"transformers {transformers.__version__})")

    # Check the graph against torch on shapes other than the example's.
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(tmp), so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for b, s in [(1, 1), (1, 9), (3, 40), (2, 256)]:
        x = rng.integers(1000, 30000, size=(b, s), dtype=np.int64)
        x[:, 0], x[:, -1] = 101, 102
        m = np.ones_like(x)
        if b > 1:
            m[-1, s // 2:] = 0  # one padded row
            x[-1, s // 2:] = 0
        t = np.zeros_like(x)
        got = sess.run(None, {"input_ids": x, "attention_mask": m, "token_type_ids": t})[0]
        with torch.no_grad():
            want = wrapped(torch.from_numpy(x), torch.from_numpy(m), torch.from_numpy(t)).numpy()
        valid = m.astype(bool)
        worst = max(worst, float(np.abs(got[valid] - want[valid]).max()))
    log(f"export check vs torch: max |diff| of last_hidden_state = {worst:.2e}")
    if not worst < 1e-3:
        tmp.unlink(missing_ok=True)
        die(f"exported graph disagrees with torch (max diff {worst})", 1)
    meta = {
        "model_safetensors_sha256": sha256_file(model_dir / "model.safetensors"),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime_checked": ort.__version__,
        "opset": OPSET,
        "exporter": "torch.onnx.export(dynamo=True), attn_implementation=eager",
        "outputs": ["last_hidden_state"],
        "max_abs_diff_vs_torch": worst,
    }
    out_path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, out_path)  # atomic: a cached file is always complete


def cached_onnx_path(cache_dir, digest):
    """Where the export of the model.safetensors with this sha256 is cached
    (also used by gptcache_peer.py)."""
    return cache_dir / f"all-minilm-l6-v2-{digest}-fp32-opset{OPSET}.onnx"


def ensure_onnx(model_dir, cache_dir):
    weights = model_dir / "model.safetensors"
    digest = sha256_file(weights)
    out = cached_onnx_path(cache_dir, digest)
    if out.is_file():
        log(f"using cached ONNX {out}")
        return out, digest
    cache_dir.mkdir(parents=True, exist_ok=True)
    log(f"exporting ONNX to {out} (once; needs torch)")
    rc = subprocess.call(
        [sys.executable, str(Path(__file__).resolve()),
         "--export-to", str(out), "--model-dir", str(model_dir)],
        stdout=sys.stderr,
    )
    if rc != 0 or not out.is_file():
        die(f"ONNX export failed (exit {rc})", 1)
    return out, digest


# --------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------

class Embedder:
    def __init__(self, onnx_path, vocab_path):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import BertWordPieceTokenizer

        self.np = np
        tok = BertWordPieceTokenizer(
            str(vocab_path),
            clean_text=True,
            handle_chinese_chars=True,
            strip_accents=True,
            lowercase=True,
        )
        tok.enable_truncation(max_length=MAX_SEQ_LEN)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: longest in the call
        self.tok = tok

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.run_options = ort.RunOptions()
        names = [i.name for i in self.sess.get_inputs()]
        if names != INPUT_NAMES:
            die(f"unexpected ONNX inputs {names}", 1)

    def encode(self, texts):
        encs = self.tok.encode_batch(texts)
        np = self.np
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        return ids, mask

    def embed(self, texts):
        """texts -> [n, 384] float32, L2-normalised. Everything timed is in here."""
        np = self.np
        ids, mask = self.encode(texts)
        hidden = self.sess.run(
            None,
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            self.run_options,
        )[0]
        m = mask.astype(np.float32)[:, :, None]
        summed = (hidden * m).sum(axis=1)
        pooled = summed / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def check_parity(emb, ref_dir):
    np = emb.np
    ref_path = ref_dir / "reference_embeddings.json"
    if not ref_path.is_file():
        die(f"no reference_embeddings.json in {ref_dir}")
    ref = json.loads(ref_path.read_text())
    sentences = list(ref)
    want = np.array([ref[s] for s in sentences], dtype=np.float32)
    want /= np.linalg.norm(want, axis=1, keepdims=True)

    meta_path = ref_dir / "reference_meta.json"
    if meta_path.is_file():
        ids_ref = json.loads(meta_path.read_text()).get("token_ids", {})
        bad = [s for s in sentences if s in ids_ref and emb.tok.encode(s).ids != ids_ref[s]]
        log(f"parity: token ids match the reference for "
            f"{len(sentences) - len(bad)}/{len(sentences)} sentences")
        for s in bad:
            log(f"  token id mismatch: {s[:60]!r}")

    single = np.vstack([emb.embed([s]) for s in sentences])
    batched = emb.embed(sentences)  # padded batch: exercises the attention mask
    cos_single = (single * want).sum(axis=1)
    cos_batch = (batched * want).sum(axis=1)
    i = int(cos_single.argmin())
    log(f"parity vs {ref_path}: min cosine {cos_single.min():.7f} one at a time "
        f"(worst: {sentences[i][:50]!r}), {cos_batch.min():.7f} as one padded batch "
        f"of {len(sentences)}")
    return float(min(cos_single.min(), cos_batch.min()))


def quantized_path(onnx_path):
    """onnxruntime's own int8 dynamic quantisation of the export, made once."""
    out = onnx_path.with_name(onnx_path.stem + "-int8-dynamic.onnx")
    if out.is_file():
        return out
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    log(f"quantising {onnx_path.name} with quantize_dynamic(weight_type=QInt8)")
    quantize_dynamic(str(onnx_path), str(tmp), weight_type=QuantType.QInt8)
    os.replace(tmp, out)
    return out


def serve(engines):
    """Answers timing requests on stdin until EOF or {"quit": true}."""
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request.get("quit"):
                return
            emb = engines[request["precision"]]
            texts = [str(t) for t in request["texts"]]
            calls, warmup = int(request["calls"]), int(request.get("warmup", 0))
            if not texts or calls < 1 or warmup < 0:
                raise ValueError("texts must be non-empty, calls >= 1, warmup >= 0")
        except (ValueError, KeyError, TypeError) as e:
            print(json.dumps({"error": f"bad request: {e}"}), flush=True)
            continue
        for _ in range(warmup):
            emb.embed(texts)
        wall, cpu = [], []
        for _ in range(calls):
            c0 = time.process_time()
            t0 = time.perf_counter()
            emb.embed(texts)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(json.dumps({"wall_s": wall, "cpu_s": cpu}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True, type=Path)
    ap.add_argument("--serve", action="store_true", help="answer timing requests on stdin")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--reference", type=Path, help="dir with reference_embeddings.json")
    ap.add_argument("--min-cosine", type=float, default=0.999,
                    help="fail if the parity check's minimum cosine is below this (default 0.999)")
    ap.add_argument("--export-to", type=Path, help=argparse.SUPPRESS)  # internal: child process
    ap.add_argument("--parity-only", type=Path, help=argparse.SUPPRESS)  # internal: child process
    args = ap.parse_args()

    model_dir = args.model_dir.resolve()
    for f in ("model.safetensors", "vocab.txt", "config.json"):
        if not (model_dir / f).is_file():
            die(f"{model_dir} has no {f}")

    if args.export_to:
        export_onnx(model_dir, args.export_to)
        return
    if args.parity_only:
        if not args.reference:
            die("--parity-only needs --reference")
        emb = Embedder(args.parity_only, model_dir / "vocab.txt")
        worst = check_parity(emb, args.reference)
        if not worst >= args.min_cosine:
            die(f"minimum cosine {worst:.6f} is below {args.min_cosine}", 1)
        return
    if not args.serve:
        die("give --serve (or --export-to)")

    onnx_path, _ = ensure_onnx(model_dir, args.cache_dir.resolve())
    int8_path = quantized_path(onnx_path)

    if args.reference:
        # In a child process: the padded parity batch (up to 256 tokens) would
        # otherwise grow ORT's memory arena and inflate this process's RSS.
        rc = subprocess.call(
            [sys.executable, str(Path(__file__).resolve()), "--model-dir", str(model_dir),
             "--parity-only", str(onnx_path), "--reference", str(args.reference.resolve()),
             "--min-cosine", str(args.min_cosine)],
            stdout=sys.stderr,
        )
        if rc != 0:
            die(f"parity check failed (exit {rc})", 1)

    import onnxruntime as ort

    engines = {"fp32": Embedder(onnx_path, model_dir / "vocab.txt"),
               "int8": Embedder(int8_path, model_dir / "vocab.txt")}
    session_rss = rss_mb()
    log(f"onnxruntime {ort.__version__}, providers {engines['fp32'].sess.get_providers()}, "
        f"RSS after loading both sessions {session_rss:.1f} MiB")
    print(json.dumps({"ready": True, "version": ort.__version__,
                      "session_rss_mb": round(session_rss, 2)}), flush=True)
    serve(engines)


if __name__ == "__main__":
    main()
