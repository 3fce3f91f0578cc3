#!/usr/bin/env python3
"""Deterministic data sets for the benchmark, written straight into the S3 server's folder.

  gen.py seed  ROOT            46 buckets, 11,544 objects, 2.06 GB (issue 5's seed data set)
  gen.py tiny  ROOT N          one bucket `tiny-<N>` of N tiny objects (16-512 bytes)
  gen.py rewrite ROOT PERCENT  rewrite PERCENT % of the objects under ROOT with new content of
                               the same size (new mtime); prints the bucket/key list

The same arguments always give the same bytes, keys and mtimes (rewrite excepted: its mtime is
"now", as on S3). A stamp file next to ROOT records a finished generation, so a second run is a
no-op; `rewrite` removes the stamp so the next `seed` run restores the original data.
"""
import math
import os
import random
import sys

WEB_BUCKETS = 42
MEDIA_BUCKETS = 4
TOTAL_OBJECTS = 11_544
MEDIA_OBJECTS = 176  # 44 per media bucket
WEB_BYTES = 139 * 1024 * 1024  # 139 MiB
TOTAL_BYTES = 2_060_000_000  # 2.06 GB
MTIME_BASE = 1_735_689_600  # 2025-01-01T00:00:00Z

WEB_KINDS = [
    ("", "index", "html"),
    ("assets/css/", "style", "css"),
    ("assets/js/", "app", "js"),
    ("assets/img/", "img", "png"),
    ("assets/img/thumbs/", "thumb", "jpg"),
    ("blog/posts/", "post", "html"),
    ("data/", "feed", "json"),
    ("docs/v1/", "page", "html"),
]


def scaled(sizes, total, lo, hi):
    """Scale sizes so they add up to `total`, each kept in [lo, hi]; deterministic."""
    f = total / sum(sizes)
    out = [min(hi, max(lo, int(s * f))) for s in sizes]
    diff = total - sum(out)
    i = 0
    while diff != 0:
        j = i % len(out)
        step = max(-diff // len(out), 1) if diff > 0 else min(diff // len(out), -1)
        step = max(min(step, hi - out[j]), lo - out[j])
        if diff > 0:
            step = min(step, diff)
        else:
            step = max(step, diff)
        out[j] += step
        diff -= step
        i += 1
    return out


def plan_seed():
    """[(bucket, key, size, seed)] for the seed data set."""
    rng = random.Random(5)
    web_n = TOTAL_OBJECTS - MEDIA_OBJECTS
    # 1-50 KB, log-uniform (many small files, a few large), scaled to 139 MiB in all.
    web_sizes = [int(math.exp(rng.uniform(math.log(1000), math.log(50_000)))) for _ in range(web_n)]
    web_sizes = scaled(web_sizes, WEB_BYTES, 1000, 50_000)
    media_sizes = [rng.randint(1_000_000, 20_000_000) for _ in range(MEDIA_OBJECTS)]
    media_sizes = scaled(media_sizes, TOTAL_BYTES - WEB_BYTES, 1_000_000, 20_000_000)
    plan = []
    for i, size in enumerate(web_sizes):
        b = i % WEB_BUCKETS
        n = i // WEB_BUCKETS
        d, stem, ext = WEB_KINDS[n % len(WEB_KINDS)]
        plan.append((f"web-{b:02d}", f"{d}{stem}-{n:04d}.{ext}", size, i))
    for i, size in enumerate(media_sizes):
        b = i % MEDIA_BUCKETS
        n = i // MEDIA_BUCKETS
        plan.append((f"media-{b}", f"videos/{2020 + n % 5}/clip-{n:03d}.mp4", size, 100_000 + i))
    return plan


def plan_tiny(n):
    rng = random.Random(n)
    return [
        (f"tiny-{n}", f"d{i // 1000:04d}/obj-{i:07d}.txt", rng.randint(16, 512), 1_000_000 + i)
        for i in range(n)
    ]


def content(seed, size, salt=0):
    return random.Random(seed * 7919 + salt).randbytes(size)


def write(root, plan):
    made = set()
    for j, (bucket, key, size, seed) in enumerate(plan):
        path = os.path.join(root, bucket, key)
        d = os.path.dirname(path)
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        with open(path, "wb") as f:
            f.write(content(seed, size))
        t = MTIME_BASE + j
        os.utime(path, (t, t))
    for bucket in sorted({p[0] for p in plan}):
        os.utime(os.path.join(root, bucket), (MTIME_BASE, MTIME_BASE))


def generate(root, plan, what):
    stamp = root.rstrip("/") + f".{what}.stamp"
    if os.path.exists(stamp):
        print(f"{root}: {what} already generated")
        return
    os.makedirs(root, exist_ok=True)
    write(root, plan)
    total = sum(p[2] for p in plan)
    with open(stamp, "w") as f:
        f.write(f"{len(plan)} objects {total} bytes\n")
    print(f"{root}: {what}: {len(plan)} objects, {total} bytes, "
          f"{len({p[0] for p in plan})} buckets")


def rewrite(root, percent, salt):
    plan = plan_seed()
    step = max(1, round(100 / percent))
    chosen = plan[3::step]  # spread over web and media buckets alike
    for bucket, key, size, seed in chosen:
        path = os.path.join(root, bucket, key)
        os.chmod(path, 0o644)
        with open(path, "wb") as f:
            f.write(content(seed, size, salt))
    for s in [root.rstrip("/") + ".seed.stamp"]:
        if os.path.exists(s):
            os.remove(s)
    for bucket, key, _, _ in chosen:
        print(f"{bucket}/{key}")


def main():
    a = sys.argv[1:]
    if len(a) >= 2 and a[0] == "seed":
        generate(a[1], plan_seed(), "seed")
    elif len(a) >= 3 and a[0] == "tiny":
        n = int(a[2])
        generate(os.path.join(a[1]), plan_tiny(n), f"tiny-{n}")
    elif len(a) >= 3 and a[0] == "rewrite":
        rewrite(a[1], float(a[2]), int(a[3]) if len(a) > 3 else 1)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
