#!/usr/bin/env python3
"""k chosen by `--k auto` and agreement with the planted segments (adjusted Rand index) on the
five table shapes of the user notebooks, over several seeds. Standard library only.

    python3 benches/kchoice_shapes.py --bin target/release/segmenter --seeds 1,2,3
    python3 benches/kchoice_shapes.py --bin OLD --gen target/release/segmenter   # old binary, new data

`--gen` is the binary that generates the data (the generators of the shapes are newer than
some binaries being measured); `--bin` runs the segmentation.
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time
from collections import Counter

# shape: (planted k, generate args, run args, truth key column in segments.csv, truth key)
SHAPES = {
    "customers5": (5, ["customers", "--segments", "5", "--rows", "{n}"], [], "row", "row"),
    "shoppers": (4, ["shoppers", "--rows", "{n}"], [], "row", "row"),
    "events": (4, ["events", "--users", "{n}"], ["--from", "events"], "customer_id", "user_id"),
    "baskets": (3, ["transactions", "--groups", "baskets", "--customers", "{m}"],
                ["--from", "transactions"], "customer_id", "customer_id"),
    "mixed": (4, ["mixed", "--rows", "{n}"], [], "row", "row"),
}


def ari(a, b):
    n = len(a)
    c2 = lambda v: v * (v - 1) / 2
    idx = sum(c2(v) for v in Counter(zip(a, b)).values())
    sa = sum(c2(v) for v in Counter(a).values())
    sb = sum(c2(v) for v in Counter(b).values())
    exp = sa * sb / c2(n)
    mx = (sa + sb) / 2
    return (idx - exp) / (mx - exp) if mx != exp else 1.0


def read(path, key, val):
    with open(path, newline="") as f:
        return {r[key]: r[val] for r in csv.DictReader(f)}


def one(gen, binary, shape, seed, n, m, tmp, extra):
    planted, gargs, rargs, skey, tkey = SHAPES[shape]
    data = os.path.join(tmp, f"{shape}-{seed}.csv")
    truth = os.path.join(tmp, f"{shape}-{seed}.truth.csv")
    g = [a.format(n=n, m=m) for a in gargs]
    subprocess.run([gen, "generate", *g, "--seed", str(seed), "-o", data, "--truth", truth],
                   check=True, capture_output=True)
    out = os.path.join(tmp, f"out-{shape}-{seed}")
    t = time.time()
    r = subprocess.run([binary, "run", data, "--out", out, "--quiet", "--json", "--seed",
                        str(seed), *rargs, *extra], capture_output=True, text=True)
    secs = time.time() - t
    if r.returncode != 0:
        return {"shape": shape, "seed": seed, "error": r.stderr.strip()}
    j = json.loads(r.stdout)
    seg = read(os.path.join(out, "segments.csv"), skey, "segment")
    tr = read(truth, tkey if tkey != "row" else "row", "segment" if tkey == "row" else "group")
    keys = [k for k in seg if k in tr]
    return {"shape": shape, "seed": seed, "planted": planted, "k": j["k"],
            "ari": ari([seg[k] for k in keys], [tr[k] for k in keys]),
            "choose_k_s": j["stage_seconds"].get("choose_k"), "run_s": secs,
            "k_scores": j.get("k_scores"), "k_rule": j.get("k_rule")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/segmenter")
    ap.add_argument("--gen", default=None)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--json", help="write every result here")
    ap.add_argument("extra", nargs="*", help="more `run` flags (after --)")
    a = ap.parse_args()
    gen = a.gen or a.bin
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        for shape in a.shapes.split(","):
            for seed in map(int, a.seeds.split(",")):
                r = one(gen, a.bin, shape, seed, a.rows, a.customers, tmp, a.extra)
                res.append(r)
                if "error" in r:
                    print(f"{shape:11} seed {seed}: ERROR {r['error']}")
                else:
                    print(f"{shape:11} seed {seed}: planted {r['planted']} chosen {r['k']}"
                          f"  ARI {r['ari']:.3f}  choose_k {r['choose_k_s']}s", flush=True)
    ok = [r for r in res if "error" not in r]
    by = {}
    for r in ok:
        by.setdefault(r["shape"], []).append(r)
    hit = sum(1 for s, rs in by.items() if sum(r["k"] == r["planted"] for r in rs) * 2 > len(rs))
    print(f"planted k found (majority of seeds) on {hit} of {len(by)} shapes")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
