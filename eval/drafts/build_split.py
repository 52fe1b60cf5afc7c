"""Step 3: judged sets -> tune/held-out halves, stratified by kind, seed 2026.
Run from anywhere: python eval/drafts/build_split.py"""
import json, random
from collections import Counter
from pathlib import Path
import judgments as J

HERE = Path(__file__).resolve().parent
EVAL = HERE.parent
KINDS = ["keyword", "paraphrase", "question", "english", "typo", "fact"]
blind = [json.loads(l) for l in open(HERE / "queries-written-blind.jsonl", encoding="utf-8")]

search, mandates, dropped = [], [], []
for q in blind:
    if q["id"].startswith("hm"):
        e = J.M[q["id"]]
        if e is None:
            dropped.append({"id": q["id"], "kind": q["kind"], "query": q["query"], "reason": J.MDROPPED[q["id"]]})
        else:
            mandates.append({"id": q["id"], "kind": q["kind"], "query": q["query"], "expect": e})
    else:
        j = J.J[q["id"]]
        if j is None:
            dropped.append({"id": q["id"], "kind": q["kind"], "query": q["query"], "reason": J.DROPPED[q["id"]]})
        else:
            search.append({"id": q["id"], "kind": q["kind"], "query": q["query"], "doc": j[0], "any": j[1]})

def split(rows):
    rng = random.Random(2026)
    tune, held = [], []
    for k in KINDS:
        ids = sorted(r["id"] for r in rows if r["kind"] == k)
        rng.shuffle(ids)
        h = len(ids) // 2
        tune += ids[:h]; held += ids[h:]
    by = {r["id"]: r for r in rows}
    return [by[i] for i in sorted(tune)], [by[i] for i in sorted(held)]

def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

st, sh = split(search); mt, mh = split(mandates)
write(EVAL / "tune_search.jsonl", st); write(EVAL / "heldout_search.jsonl", sh)
write(EVAL / "tune_mandates.jsonl", mt); write(EVAL / "heldout_mandates.jsonl", mh)
write(HERE / "dropped.jsonl", dropped)
for name, rows in [("tune_search", st), ("heldout_search", sh), ("tune_mandates", mt), ("heldout_mandates", mh)]:
    c = Counter(r["kind"] for r in rows)
    print(f"{name:17s} {len(rows):3d}", {k: c[k] for k in KINDS if c[k]})
print("dropped", [d["id"] for d in dropped])
