"""Reader for the shapes-world dataset written by `uae scenes` and for its tokenizer.json.

TypeScript (src/shapes) is the single source of truth; this module only reads what it wrote.
Layout (docs/shapes.md): DIR/dataset.json, DIR/shard-XXXXX.u8 (uint8 [n, H, W, 3], row-major RGB),
DIR/shard-XXXXX.jsonl (one record per scene: index, seed, scene, captions [L0..L4], sha256).
"""
import hashlib
import json
import os

import numpy as np

SPECIAL_TOKENS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")


def read_manifest(directory):
    """Returns the parsed DIR/dataset.json (dict) after checking its format tag."""
    with open(os.path.join(directory, "dataset.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if not str(manifest.get("format", "")).startswith("uae-shapes/"):
        raise ValueError(f"{directory}: not a uae-shapes dataset (format={manifest.get('format')!r})")
    return manifest


def _read_records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def iter_shards(directory, mmap=True):
    """Yields (images uint8 [n,H,W,3], records list[dict]) per shard; images memory-mapped by default."""
    m = read_manifest(directory)
    h, w = int(m["height"]), int(m["width"])
    for shard in m["shards"]:
        n = int(shard["count"])
        path = os.path.join(directory, shard["images"])
        expected = n * h * w * 3
        if os.path.getsize(path) != expected:
            raise ValueError(f"{path}: {os.path.getsize(path)} bytes, expected {expected}")
        if mmap:
            images = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, h, w, 3))
        else:
            images = np.fromfile(path, dtype=np.uint8).reshape(n, h, w, 3)
        records = _read_records(os.path.join(directory, shard["records"]))
        if len(records) != n:
            raise ValueError(f"{shard['records']}: {len(records)} records, expected {n}")
        yield images, records


def load_dataset(directory, mmap=True):
    """Returns (images uint8 ndarray [N,H,W,3], records list[dict]) for a whole dataset folder.

    A single-shard dataset stays memory-mapped (when mmap=True); several shards are concatenated
    into one in-memory array.
    """
    parts, records = [], []
    for images, recs in iter_shards(directory, mmap=mmap):
        parts.append(images)
        records.extend(recs)
    images = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return images, records


def verify_dataset(images, records):
    """Returns the number of images whose sha256 differs from the one TypeScript recorded (0 = intact)."""
    bad = 0
    for img, rec in zip(images, records):
        if "sha256" in rec and hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest() != rec["sha256"]:
            bad += 1
    return bad


class WordTokenizer:
    """Word-level tokenizer from a Hugging Face tokenizer.json (WordLevel model, WhitespaceSplit)."""

    def __init__(self, spec):
        model = spec.get("model", {})
        if model.get("type") != "WordLevel":
            raise ValueError("expected a WordLevel tokenizer.json")
        self.vocab = dict(model["vocab"])
        self.tokens = [None] * (max(self.vocab.values()) + 1)
        for word, i in self.vocab.items():
            self.tokens[i] = word
        self.special_ids = {t["id"] for t in spec.get("added_tokens", []) if t.get("special")}
        self.unk_id = self.vocab[model.get("unk_token", "[UNK]")]
        self.pad_id = self.vocab["[PAD]"]
        self.bos_id = self.vocab["[BOS]"]
        self.eos_id = self.vocab["[EOS]"]
        self.vocab_size = len(self.tokens)

    def encode(self, text):
        """Returns the ids (list[int]) of the whitespace-separated words of text; no special tokens."""
        return [self.vocab.get(w, self.unk_id) for w in text.split()]

    def decode(self, ids):
        """Returns the words of ids joined by single spaces, skipping special and out-of-range ids."""
        out = []
        for i in ids:
            i = int(i)
            if 0 <= i < self.vocab_size and i not in self.special_ids:
                out.append(self.tokens[i])
        return " ".join(out)

    def encode_padded(self, texts, length):
        """Returns int64 [len(texts), length]: [BOS] words [EOS] then [PAD]; long captions are cut before [EOS]."""
        out = np.full((len(texts), length), self.pad_id, dtype=np.int64)
        for row, text in enumerate(texts):
            seq = [self.bos_id] + self.encode(text)[: length - 2] + [self.eos_id]
            out[row, : len(seq)] = seq
        return out


def load_tokenizer(path):
    """Returns a WordTokenizer read from a tokenizer.json path."""
    with open(path, encoding="utf-8") as f:
        return WordTokenizer(json.load(f))
