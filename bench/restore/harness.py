#!/usr/bin/env python3
"""Restore benchmark (issue 11 section 4). Run through `bench/restore/run`; see bench/README.md.

The seed data set (or a reduced part of it) is snapshotted once from s3s-fs (untimed); then each
client fills EMPTY buckets on a fresh s3s-fs (crates.io, the independent writable S3 server):
infrasnap `restore plan` + `restore apply` (from its repository), `aws s3 sync` from the files on
disk (8 buckets at a time), and tuned `rclone copy` from the files on disk. Each run is timed
under /usr/bin/time -v (bench/harness.py's `measure`), and every copy is counted afterwards.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness as H  # noqa: E402


def subset(seed, dest, web, media_bytes):
    """Hard links of part of the seed set: `web` web buckets whole, media-0 up to media_bytes."""
    if os.path.exists(dest):
        return dest
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for b in sorted(x for x in os.listdir(seed) if x.startswith("web-"))[:web]:
        subprocess.check_call(["cp", "-al", os.path.join(seed, b), os.path.join(tmp, b)])
    total = 0
    src = os.path.join(seed, "media-0")
    for root, _, files in sorted(os.walk(src)):
        for f in sorted(files):
            p = os.path.join(root, f)
            size = os.path.getsize(p)
            if total + size > media_bytes:
                continue
            q = os.path.join(tmp, "media-0", os.path.relpath(p, src))
            os.makedirs(os.path.dirname(q), exist_ok=True)
            os.link(p, q)
            total += size
    os.rename(tmp, dest)
    return dest


def large(dest, count, size):
    """`count` objects of `size` bytes in one bucket (`media-large`): the multipart path (above the
    64 MiB threshold). Incompressible bytes from a seeded generator, so every run has the same."""
    if os.path.exists(dest):
        return dest
    import random
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "media-large", "video"))
    rng = random.Random(20261203)
    chunk = 8 << 20
    for i in range(count):
        with open(os.path.join(tmp, "media-large", "video", f"take-{i:02}.mp4"), "wb") as f:
            left = size
            while left > 0:
                n = min(chunk, left)
                f.write(rng.randbytes(n))
                left -= n
    os.rename(tmp, dest)
    return dest


def census(root):
    n = size = 0
    buckets = sorted(b for b in os.listdir(root) if os.path.isdir(os.path.join(root, b)))
    for b in buckets:
        for r, _, files in os.walk(os.path.join(root, b)):
            for f in files:
                n += 1
                size += os.path.getsize(os.path.join(r, f))
    return buckets, n, size


def count(url, env, buckets):
    n = 0
    for b in buckets:
        out = subprocess.run(["rclone", "lsf", "-R", "--files-only", "--disable", "ListR",
                              "--checkers", "32", f"bench:{b}"], env=env, capture_output=True, text=True)
        n += len([line for line in out.stdout.splitlines() if line.strip()])
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--infrasnap", required=True)
    ap.add_argument("--s3s-fs", required=True)
    ap.add_argument("--data", default="/work/bench-data")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "out"))
    ap.add_argument("--scale", choices=["seed", "small", "large"], default="seed",
                    help="seed: the whole seed set; small: 4 web buckets + ~190 MB of media-0; "
                         "large: 8 objects of 200 MiB in one bucket (multipart uploads)")
    ap.add_argument("--jobs", type=int, default=64, help="infrasnap restore --jobs")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    H.RESULTS = os.path.join(args.out, "restore-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(H.RESULTS, exist_ok=True)
    H.log(f"results in {H.RESULTS}")
    seed = os.path.join(args.data, "seed")
    if not os.path.isdir(seed) and args.scale != "large":
        subprocess.check_call([sys.executable, os.path.join(os.path.dirname(HERE), "gen.py"), "seed", seed])
    if args.scale == "seed":
        src = seed
    elif args.scale == "small":
        src = subset(seed, os.path.join(args.data, "restore-small"), 4, 190_000_000)
    else:
        src = large(os.path.join(args.data, "restore-large"), 8, 200 << 20)
    buckets, n, size = census(src)
    H.log(f"data set: {len(buckets)} buckets, {n} objects, {size} bytes ({args.scale})")
    work = os.path.join(args.data, "work", "restore")
    H.really_rm(work)
    os.makedirs(work)

    # The snapshot restored from: taken once from s3s-fs serving the files (untimed).
    repo = os.path.join(work, "repo")
    srv = H.S3sFs(args.s3s_fs, src)
    env = H.base_env(srv.url)
    try:
        r = H.measure("snapshot-source", [args.infrasnap, "--repo", repo, "--json", "snapshot", "--only", "s3",
                                          "--endpoint-url", srv.url, "--region", "us-east-1",
                                          "--regions", "us-east-1", "--label", "source"], env, srv)
        if r["rc"] not in (0, 3):  # 3: s3s-fs answers 501 to the bucket settings reads
            raise SystemExit("the source snapshot failed: see stderr.txt")
    finally:
        srv.stop()

    results = {"infrasnap_plan": [], "infrasnap_apply": [], "infrasnap": [], "aws8": [], "rclone": []}
    for i in range(args.rounds):
        for client in ("infrasnap", "aws8", "rclone"):
            dst = os.path.join(work, f"{client}-{i}")
            os.makedirs(dst)
            srv = H.S3sFs(args.s3s_fs, dst)
            env = H.base_env(srv.url)
            try:
                if client == "infrasnap":
                    plan = os.path.join(work, f"plan-{i}.json")
                    common = ["--endpoint-url", srv.url, "--jobs", str(args.jobs)]
                    p = H.measure(f"infrasnap-plan-{i}", [args.infrasnap, "--repo", repo, "restore", "plan",
                                                          "source", "-o", plan, *common], env, srv)
                    a = H.measure(f"infrasnap-apply-{i}", [args.infrasnap, "--repo", repo, "restore", "apply",
                                                           plan, *common], env, srv)
                    results["infrasnap_plan"].append(p)
                    results["infrasnap_apply"].append(a)
                    results["infrasnap"].append({"wall": p["wall"] + a["wall"], "cpu": p["cpu"] + a["cpu"],
                                                 "rc": max(p["rc"], a["rc"])})
                elif client == "aws8":
                    for b in buckets:
                        subprocess.run(["/usr/bin/aws", "--endpoint-url", srv.url, "s3", "mb", f"s3://{b}"],
                                       env=env, capture_output=True)
                    lst = " ".join(buckets)
                    cmd = (f"printf '%s\\n' {lst} | xargs -P8 -I{{}} /usr/bin/aws --endpoint-url {srv.url} "
                           f"s3 sync --only-show-errors {src}/{{}} s3://{{}}")
                    results["aws8"].append(H.measure(f"aws8-upload-{i}", cmd, env, srv, shell=True))
                else:
                    results["rclone"].append(H.measure(
                        f"rclone-upload-{i}", ["rclone", "copy", "--transfers", "32", "--checkers", "32",
                                               "--s3-upload-concurrency", "4", "--s3-chunk-size", "64M",
                                               "--s3-upload-cutoff", "64M", "--s3-no-check-bucket",
                                               src, "bench:"], env, srv))
                got = count(srv.url, env, buckets)
                H.log(f"  {client}: {got} of {n} objects in the target")
                results[client][-1]["objects"] = got
            finally:
                srv.stop()
            H.really_rm(dst)

    def best(k):
        rs = [r for r in results[k] if r.get("rc", 1) == 0] or results[k]
        return min(rs, key=lambda r: r["wall"]) if rs else None

    lines = [f"Restore of {len(buckets)} buckets, {n} objects, {size / 1e6:.0f} MB into empty buckets "
             f"on s3s-fs (loopback), {args.rounds} round(s), infrasnap {args.infrasnap}:",
             "", "| client | wall s | CPU s | objects | vs tuned rclone |", "|---|---|---|---|---|"]
    rc = best("rclone")
    for k, label in (("infrasnap_plan", "infrasnap restore plan (captures the empty target)"),
                     ("infrasnap_apply", "infrasnap restore apply (upload + read back and verify)"),
                     ("infrasnap", "**infrasnap plan + apply**"),
                     ("aws8", "aws s3 sync, 8 buckets at a time"),
                     ("rclone", "rclone copy --transfers 32 (tuned)")):
        r = best(k)
        if not r:
            continue
        ratio = f"{r['wall'] / rc['wall']:.2f}x" if rc else "-"
        lines.append(f"| {label} | {r['wall']:.1f} | {r.get('cpu', 0):.1f} | {r.get('objects', '')} | {ratio} |")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(H.RESULTS, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(H.RESULTS, "restore.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
