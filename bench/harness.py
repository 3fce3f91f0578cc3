#!/usr/bin/env python3
"""infrasnap S3 benchmark harness (issue 5). Run through `bench/run`; see bench/README.md."""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    """user+system CPU seconds of a process (and its waited-for children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / tck


class Server:
    def __init__(self, binary, root, cache, threads=0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [binary, "--root", root, "--md5-cache", cache, "--addr", f"127.0.0.1:{self.port}"]
        if threads:
            cmd += ["--threads", str(threads)]
        self.logf = open(root.rstrip("/") + ".server.log", "w")
        self.p = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 1800
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise SystemExit(f"server exited: see {self.logf.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        log(f"server {self.url} serving {root}")

    def cpu(self):
        return cpu_seconds(self.p.pid)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


class S3sFs(Server):
    """s3s-fs (crates.io), the independent S3 server: serves `<root>/<bucket>/<key>` as ours does.
    Its listing has no ETag and gives millisecond LastModified times; GetObject gives the ETag and
    a time to the second (issue 15 section 5)."""

    def __init__(self, binary, root):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # With keys, it checks SigV4 (without, it refuses every signed request).
        cmd = [binary, "--host", "127.0.0.1", "--port", str(self.port),
               "--access-key", "bench", "--secret-key", "benchsecret", root]
        self.logf = open(root.rstrip("/") + ".s3s-fs.log", "w")
        self.p = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise SystemExit(f"s3s-fs exited: see {self.logf.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        log(f"s3s-fs {self.url} serving {root}")


def base_env(url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.pop("AWS_CA_BUNDLE", None)  # the sandbox sets it; rclone and awscli break on it
    env.update({
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "benchsecret",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "RCLONE_CONFIG": "/dev/null",
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": url,
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": "bench",
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": "benchsecret",
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    })
    return env


TIME_FIELDS = {
    "User time (seconds)": "user",
    "System time (seconds)": "sys",
    "Maximum resident set size (kbytes)": "rss_kb",
    "Exit status": "exit",
}


def measure(name, cmd, env, server=None, out_file=None, shell=False, cwd=None):
    """Run cmd under /usr/bin/time -v; return wall, user, sys, peak RSS, server CPU."""
    subprocess.run(["sync"])
    tfile = os.path.join(RESULTS, "time.txt")
    full = ["/usr/bin/time", "-v", "-o", tfile] + (["bash", "-c", cmd] if shell else cmd)
    s0 = server.cpu() if server else 0.0
    t0 = time.monotonic()
    with open(out_file or os.devnull, "wb") as out, open(os.path.join(RESULTS, "stderr.txt"), "ab") as err:
        err.write(f"\n=== {name}: {cmd}\n".encode())
        err.flush()
        rc = subprocess.call(full, env=env, stdout=out, stderr=err, cwd=cwd)
    wall = time.monotonic() - t0
    s1 = server.cpu() if server else 0.0
    r = {"name": name, "wall": wall, "rc": rc, "server_cpu": s1 - s0}
    with open(tfile) as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            if k in TIME_FIELDS:
                r[TIME_FIELDS[k]] = float(v)
    r["cpu"] = r.get("user", 0) + r.get("sys", 0)
    if rc != 0:
        log(f"  !! {name} exited {rc} (see {RESULTS}/stderr.txt)")
    log(f"  {name}: {wall:.2f} s wall, {r['cpu']:.1f} s CPU, {r.get('rss_kb', 0) / 1024:.0f} MB peak RSS, "
        f"server {r['server_cpu']:.1f} s CPU")
    with open(os.path.join(RESULTS, "results.jsonl"), "a") as f:
        f.write(json.dumps(r) + "\n")
    return r


# Deleting a tree is not instant for the next writer on this machine's ext4 (it has no journal):
# for a minute after inodes are freed (five while their table blocks are unwritten), every new file
# of every client is allocated past them one by one (`recently_deleted` in the kernel's
# `find_inode_bit`), which doubled some runs (bench/README.md). So `rm` only moves a tree aside,
# and `settle` deletes what was set aside, writes it out and waits that minute, between rounds,
# where no client is being timed.
TRASH = "/work/bench-data/trash"
SETTLE_S = 65


def really_rm(path):
    if os.path.exists(path):
        if subprocess.run(["rm", "-rf", path]).returncode != 0:
            subprocess.run(["chmod", "-R", "u+w", path])
            shutil.rmtree(path)


def rm(path):
    if os.path.exists(path):
        os.makedirs(TRASH, exist_ok=True)
        os.rename(path, os.path.join(TRASH, f"{time.time_ns()}-{os.path.basename(path)}"))


def settle(wait=True):
    if not os.path.exists(TRASH):
        return
    really_rm(TRASH)
    subprocess.run(["sync"])
    if wait and SETTLE_S > 0:
        log(f"  (deleted the previous copies; waiting {SETTLE_S} s until the filesystem reuses their inodes freely)")
        time.sleep(SETTLE_S)


KINDS = [  # run name pattern -> results key
    (r"curl-all-\d+", "server"), (r"cp-\d+", "cp_full"), (r"cp-sync-\d+", "cp_sync_full"),
    (r"rclone-sync-full-\d+", "rclone_sync_full"),
    (r"infrasnap-full-\d+", "infrasnap_full"), (r"aws8-full-\d+", "aws8_full"),
    (r"rclone-full-\d+", "rclone_full"), (r"infrasnap-nochange-\d+", "infrasnap_nochange"),
    (r"list-all-\d+", "list_all"), (r"aws8-nochange-\d+", "aws8_nochange"),
    (r"rclone-nochange-\d+", "rclone_nochange"), (r"infrasnap-rewrite", "infrasnap_rewrite"),
    (r"aws8-rewrite", "aws8_rewrite"), (r"rclone-rewrite", "rclone_rewrite"),
    (r"scale-\d+-infrasnap-full", "scale_full"), (r"scale-\d+-infrasnap-nochange", "scale_nochange"),
    (r"scale-\d+-list", "scale_list"), (r"scale-\d+-rclone-full", "scale_rclone_full"),
    (r"scale-\d+-rclone-nochange", "scale_rclone_nochange"),
    (r"s3s-infrasnap-full", "s3s_full"), (r"s3s-infrasnap-nochange-\d+", "s3s_nochange"),
    (r"s3s-list-all-\d+", "s3s_list"),
]


def load_results(dirs, R):
    """Rebuild the results of earlier runs from their results.jsonl (for --report)."""
    for d in dirs:
        with open(os.path.join(d, "results.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                m = re.match(r"scale-(\d+)-", r["name"])
                if m:
                    r["objects"] = int(m.group(1))
                if "changed" in r:
                    R["changed"] = r["changed"]
                for pat, key in KINDS:
                    if re.fullmatch(pat, r["name"]):
                        R[key].append(r)


# ---------------------------------------------------------------- the peers


def infrasnap_cmd(repo, url, extra=()):
    return [INFRASNAP, "--repo", repo, "--json", "snapshot", "--only", "s3",
            "--endpoint-url", url, "--region", "us-east-1", "--regions", "us-east-1", *extra]


def aws8_cmd(buckets, dest, url):
    # awscli 2.9 ignores AWS_ENDPOINT_URL: the endpoint must be given on the command line.
    lst = " ".join(buckets)
    return (f"printf '%s\\n' {lst} | xargs -P8 -I{{}} /usr/bin/aws --endpoint-url {url} s3 sync "
            f"--only-show-errors s3://{{}} {dest}/{{}}")


def rclone_cmd(dest, extra=()):
    return ["rclone", "copy", "--transfers", "32", "--checkers", "32", "--fast-list", *extra,
            "bench:", dest]


def list_cmd():
    return ["rclone", "lsf", "-R", "--fast-list", "--files-only", "--checkers", "32", "bench:"]


def s3s_list_cmd():
    # s3s-fs 0.14.1 takes rclone's empty `delimiter=` (its recursive listing, ListR) for a
    # delimiter and lists nothing below the top folders: walk folder by folder instead.
    return ["rclone", "lsf", "-R", "--files-only", "--disable", "ListR", "--checkers", "32", "bench:"]


def curl_all_cmd(url, buckets_keys, listfile):
    with open(listfile, "w") as f:
        for b, k in buckets_keys:
            f.write(f'url = "{url}/{b}/{k}"\noutput = "/dev/null"\n')
    return ["curl", "-s", "--parallel", "--parallel-max", "32", "-K", listfile]


def snap_meta(out_file):
    try:
        with open(out_file) as f:
            return json.load(f)["metadata"]
    except Exception as e:  # noqa: BLE001
        log(f"  !! cannot read infrasnap output {out_file}: {e}")
        return {}


def s3_summary(meta):
    c = meta.get("collectors", {}).get("s3", {})
    return {k: c.get(k) for k in ("status", "objects_downloaded", "bytes_new", "blobs_new", "bytes_total")} | {
        "objects": (c.get("counts") or {}).get("objects"),
        "errors": len(c.get("errors") or []),
    }


# ---------------------------------------------------------------- stats


def stats(rs, key="wall"):
    v = [r[key] for r in rs]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def row(label, rs):
    if not rs:
        return f"| {label} | - | - | - | - | - |"
    w = stats(rs)
    cpu = statistics.median(r["cpu"] for r in rs)
    rss = max(r.get("rss_kb", 0) for r in rs) / 1024
    srv = statistics.median(r["server_cpu"] for r in rs)
    return (f"| {label} | {w['median']:.2f} | {w['min']:.2f}-{w['max']:.2f} | {cpu:.1f} | {rss:.0f} | "
            f"{srv:.1f} |")


def ratio(a, b):
    if not a or not b:
        return float("nan")
    return statistics.median(r["wall"] for r in a) / statistics.median(r["wall"] for r in b)


# ---------------------------------------------------------------- the runs


def seed_run(args, R):
    data = args.data
    root = os.path.join(data, "seed")
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "seed", root], check=True)
    srv = Server(SERVER, root, os.path.join(data, "seed.md5cache"))
    env = base_env(srv.url)
    buckets = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    keys = []
    for b in buckets:
        for dp, _, fs in os.walk(os.path.join(root, b)):
            for f in fs:
                keys.append((b, os.path.relpath(os.path.join(dp, f), os.path.join(root, b))))
    work = os.path.join(data, "work")
    rm(work)
    os.makedirs(work)
    try:
        # the server alone: every object fetched by curl to /dev/null, 32 at a time
        for i in range(args.rounds):
            R["server"].append(measure(f"curl-all-{i}", curl_all_cmd(srv.url, keys, os.path.join(work, "curl.cfg")), env, srv))
        for i in range(args.rounds):
            settle()
            log(f"round {i + 1}/{args.rounds}: full copies")
            last = i == args.rounds - 1
            repo = os.path.join(work, f"repo-{i}")
            out = os.path.join(RESULTS, f"infrasnap-full-{i}.json")
            r = measure(f"infrasnap-full-{i}", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
            r["s3"] = s3_summary(snap_meta(out))
            R["infrasnap_full"].append(r)
            if not last:
                rm(repo)
            d = os.path.join(work, f"aws-{i}")
            R["aws8_full"].append(measure(f"aws8-full-{i}", aws8_cmd(buckets, d, srv.url), env, srv, shell=True))
            if not last:
                rm(d)
            d = os.path.join(work, f"rclone-{i}")
            R["rclone_full"].append(measure(f"rclone-full-{i}", rclone_cmd(d), env, srv))
            if not last:
                rm(d)
            d = os.path.join(work, f"cp-{i}")
            R["cp_full"].append(measure(f"cp-{i}", ["cp", "-r", root, d], env))
            rm(d)
            # The same two, then `sync`: on disk, as infrasnap's published snapshot is (it syncs
            # before publishing; the others leave up to 2 GB in the page cache when they exit).
            d = os.path.join(work, f"rclone-sync-{i}")
            cmd = " ".join(shlex.quote(x) for x in rclone_cmd(d)) + " && sync"
            R["rclone_sync_full"].append(measure(f"rclone-sync-full-{i}", cmd, env, srv, shell=True))
            rm(d)
            d = os.path.join(work, f"cp-sync-{i}")
            cmd = f"cp -r {shlex.quote(root)} {shlex.quote(d)} && sync"
            R["cp_sync_full"].append(measure(f"cp-sync-{i}", cmd, env, shell=True))
            rm(d)
        n = args.rounds - 1
        repo = os.path.join(work, f"repo-{n}")
        settle()
        for i in range(args.rounds):
            log(f"round {i + 1}/{args.rounds}: no-change re-runs")
            out = os.path.join(RESULTS, f"infrasnap-nochange-{i}.json")
            r = measure(f"infrasnap-nochange-{i}", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
            r["s3"] = s3_summary(snap_meta(out))
            R["infrasnap_nochange"].append(r)
            R["list_all"].append(measure(f"list-all-{i}", list_cmd(), env, srv))
            R["aws8_nochange"].append(measure(f"aws8-nochange-{i}", aws8_cmd(buckets, os.path.join(work, f"aws-{n}"), srv.url), env, srv, shell=True))
            R["rclone_nochange"].append(measure(f"rclone-nochange-{i}", rclone_cmd(os.path.join(work, f"rclone-{n}")), env, srv))
        log("1% same-size rewrite")
        changed = subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "rewrite", root, "1", "7"],
                                 check=True, capture_output=True, text=True).stdout.split()
        R["changed"] = len(changed)
        out = os.path.join(RESULTS, "infrasnap-rewrite.json")
        r = measure("infrasnap-rewrite", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
        meta = snap_meta(out)
        r["s3"] = s3_summary(meta)
        snapdir = os.path.join(repo, meta.get("name", "?"), "s3_buckets")
        r["caught"] = caught(root, snapdir, changed)
        r["changed"] = len(changed)
        amend_last(r)
        R["infrasnap_rewrite"].append(r)
        r = measure("aws8-rewrite", aws8_cmd(buckets, os.path.join(work, f"aws-{n}"), srv.url), env, srv, shell=True)
        r["caught"] = caught(root, os.path.join(work, f"aws-{n}"), changed)
        r["changed"] = len(changed)
        amend_last(r)
        R["aws8_rewrite"].append(r)
        r = measure("rclone-rewrite", rclone_cmd(os.path.join(work, f"rclone-{n}")), env, srv)
        r["caught"] = caught(root, os.path.join(work, f"rclone-{n}"), changed)
        r["changed"] = len(changed)
        amend_last(r)
        R["rclone_rewrite"].append(r)
        # restore the seed data set for the next run (the rewrite removed its stamp)
    finally:
        srv.stop()
    if not args.keep:
        rm(work)


def s3s_run(args, R):
    """The seed data set served by s3s-fs: one full snapshot, then no-change re-runs alternating
    with a bare listing. Target: a no-change run downloads nothing and takes at most 1.2x the
    listing."""
    root = os.path.join(args.data, "seed")
    subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "seed", root], check=True)
    srv = S3sFs(args.s3s_fs, root)
    env = base_env(srv.url)
    repo = os.path.join(args.data, "work", "s3s-repo")
    rm(repo)
    settle()
    try:
        out = os.path.join(RESULTS, "s3s-infrasnap-full.json")
        r = measure("s3s-infrasnap-full", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
        r["s3"] = s3_summary(snap_meta(out))
        amend_last(r)
        R["s3s_full"].append(r)
        for i in range(args.rounds):
            log(f"s3s-fs round {i + 1}/{args.rounds}: no-change re-run and bare listing")
            out = os.path.join(RESULTS, f"s3s-infrasnap-nochange-{i}.json")
            r = measure(f"s3s-infrasnap-nochange-{i}", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
            r["s3"] = s3_summary(snap_meta(out))
            amend_last(r)
            R["s3s_nochange"].append(r)
            R["s3s_list"].append(measure(f"s3s-list-all-{i}", s3s_list_cmd(), env, srv))
    finally:
        srv.stop()
    if not args.keep:
        rm(repo)


def amend_last(r):
    """Write `r` again over the last line of results.jsonl (after fields found once it ran)."""
    path = os.path.join(RESULTS, "results.jsonl")
    with open(path) as f:
        lines = f.readlines()
    lines[-1] = json.dumps(r) + "\n"
    with open(path, "w") as f:
        f.writelines(lines)


def caught(root, copy_root, changed):
    n = 0
    for c in changed:
        try:
            with open(os.path.join(root, c), "rb") as a, open(os.path.join(copy_root, c), "rb") as b:
                n += a.read() == b.read()
        except OSError:
            pass
    return n


def scale_run(args, R):
    for n in args.scale:
        root = os.path.join(args.data, f"scale-{n}")
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "tiny", root, str(n)], check=True)
        srv = Server(SERVER, root, root + ".md5cache")
        env = base_env(srv.url)
        repo = os.path.join(args.data, "work", f"scale-repo-{n}")
        rm(repo)
        settle()
        try:
            out = os.path.join(RESULTS, f"scale-{n}-full.json")
            r = measure(f"scale-{n}-infrasnap-full", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
            r["s3"] = s3_summary(snap_meta(out))
            r["objects"] = n
            R["scale_full"].append(r)
            out = os.path.join(RESULTS, f"scale-{n}-nochange.json")
            r = measure(f"scale-{n}-infrasnap-nochange", infrasnap_cmd(repo, srv.url), env, srv, out_file=out)
            r["s3"] = s3_summary(snap_meta(out))
            r["objects"] = n
            R["scale_nochange"].append(r)
            r = measure(f"scale-{n}-list", list_cmd(), env, srv)
            r["objects"] = n
            R["scale_list"].append(r)
            if n <= args.rclone_scale_max:
                d = os.path.join(args.data, "work", f"scale-rclone-{n}")
                rm(d)
                r = measure(f"scale-{n}-rclone-full", rclone_cmd(d), env, srv)
                r["objects"] = n
                R["scale_rclone_full"].append(r)
                r = measure(f"scale-{n}-rclone-nochange", rclone_cmd(d), env, srv)
                r["objects"] = n
                R["scale_rclone_nochange"].append(r)
                rm(d)
        finally:
            srv.stop()
        if not args.keep:
            rm(repo)


def report(args, R):
    L = []
    L.append(f"## Results ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {args.rounds} rounds)\n")
    L.append("Seed data set: 46 buckets, 11,544 objects, 2.06 GB. Wall seconds; CPU = user+sys of the "
             "client (all its processes); RSS = peak of the largest process; server = CPU seconds the "
             "S3 server spent during that run.\n")
    L.append("| run | median s | min-max s | CPU s | peak RSS MB | server CPU s |")
    L.append("|---|---|---|---|---|---|")
    for label, k in [
        ("server alone: curl GET of every object to /dev/null, 32 parallel", "server"),
        ("cp -r of the server's folder (ceiling)", "cp_full"),
        ("**infrasnap snapshot, fresh repository**", "infrasnap_full"),
        ("aws s3 sync, 8 buckets at a time", "aws8_full"),
        ("rclone copy --transfers 32 --checkers 32 --fast-list", "rclone_full"),
        ("rclone copy tuned, then sync (on disk, as a published snapshot is)", "rclone_sync_full"),
        ("cp -r, then sync", "cp_sync_full"),
        ("**infrasnap no-change re-snapshot**", "infrasnap_nochange"),
        ("bare listing of every bucket (rclone lsf -R --fast-list)", "list_all"),
        ("aws s3 sync 8-at-a-time, no-change", "aws8_nochange"),
        ("rclone copy tuned, no-change", "rclone_nochange"),
        ("**infrasnap after 1% same-size rewrite**", "infrasnap_rewrite"),
        ("aws s3 sync 8-at-a-time after rewrite", "aws8_rewrite"),
        ("rclone copy tuned after rewrite", "rclone_rewrite"),
    ]:
        if R.get(k):
            L.append(row(label, R[k]))
    if R.get("changed"):
        L.append(f"\nSame-size rewrite: {R['changed']} objects (1%) rewritten; caught: " + ", ".join(
            f"{k.split('_')[0]} {R[k][0].get('caught')}/{R['changed']}"
            for k in ("infrasnap_rewrite", "aws8_rewrite", "rclone_rewrite") if R.get(k)))
        if R.get("infrasnap_rewrite"):
            L.append(f"(infrasnap downloaded {R['infrasnap_rewrite'][0]['s3'].get('objects_downloaded')} objects)")
    if R.get("infrasnap_full"):
        L.append("\n| target | measured | met |")
        L.append("|---|---|---|")
        f = R["infrasnap_full"]
        for label, other, limit, inv in [
            ("full: at least as fast as tuned rclone (infrasnap/rclone <= 1)", "rclone_full", 1.0, False),
            ("full: 3x faster than aws s3 sync 8-at-a-time (aws/infrasnap >= 3)", "aws8_full", 3.0, True),
            ("full: within 10% of the copy ceiling (infrasnap/cp <= 1.1)", "cp_full", 1.1, False),
            ("(also) full vs tuned rclone + sync (infrasnap/(rclone+sync) <= 1)", "rclone_sync_full", 1.0, False),
            ("(also) full vs cp -r + sync (infrasnap/(cp+sync) <= 1.1)", "cp_sync_full", 1.1, False),
        ]:
            if R.get(other):
                x = ratio(R[other], f) if inv else ratio(f, R[other])
                ok = x >= limit if inv else x <= limit
                L.append(f"| {label} | {x:.2f} | {'yes' if ok else 'no'} |")
        nc = R.get("infrasnap_nochange")
        if nc and R.get("list_all"):
            x = ratio(nc, R["list_all"])
            L.append(f"| no-change: within 1.2x of a bare listing (infrasnap/listing <= 1.2) | {x:.2f} | {'yes' if x <= 1.2 else 'no'} |")
        if nc and R.get("rclone_nochange"):
            x = ratio(R["rclone_nochange"], nc)
            L.append(f"| no-change: 3x faster than tuned rclone's re-run (rclone/infrasnap >= 3) | {x:.2f} | {'yes' if x >= 3 else 'no'} |")
        if R.get("infrasnap_rewrite") and R.get("changed"):
            c = R["infrasnap_rewrite"][0].get("caught")
            L.append(f"| every same-size change caught | {c}/{R['changed']} | {'yes' if c == R['changed'] else 'no'} |")
    if R.get("scale_full"):
        L.append("\nScale: one bucket of N tiny objects (16-512 bytes).\n")
        L.append("| objects | full s | full peak RSS MB | no-change s | no-change peak RSS MB | bare listing s | rclone full s | rclone no-change s |")
        L.append("|---|---|---|---|---|---|---|---|")
        by = lambda k, n: next((r for r in R.get(k, []) if r["objects"] == n), None)  # noqa: E731
        for fr in R["scale_full"]:
            n = fr["objects"]
            nc, ls, rf, rn = by("scale_nochange", n), by("scale_list", n), by("scale_rclone_full", n), by("scale_rclone_nochange", n)
            g = lambda r, k="wall": f"{r[k]:.2f}" if r else "-"  # noqa: E731
            L.append(f"| {n:,} | {fr['wall']:.2f} | {fr.get('rss_kb', 0) / 1024:.0f} | {g(nc)} | "
                     f"{(nc or {}).get('rss_kb', 0) / 1024:.0f} | {g(ls)} | {g(rf)} | {g(rn)} |")
    if R.get("s3s_nochange"):
        L.append("\nThe independent server: s3s-fs 0.14.1 (crates.io) serving the seed data set (its listing has "
                 "no ETag and millisecond times).\n")
        L.append("| run | median s | min-max s | CPU s | peak RSS MB | server CPU s |")
        L.append("|---|---|---|---|---|---|")
        L.append(row("infrasnap snapshot, fresh repository", R.get("s3s_full", [])))
        L.append(row("**infrasnap no-change re-snapshot**", R["s3s_nochange"]))
        L.append(row("bare listing of every bucket (rclone lsf -R --disable ListR)", R.get("s3s_list", [])))
        dl = [(r.get("s3") or {}).get("objects_downloaded") for r in R["s3s_nochange"]]
        x = ratio(R["s3s_nochange"], R.get("s3s_list"))
        L.append(f"\n| target | measured | met |\n|---|---|---|\n"
                 f"| s3s-fs no-change: downloads nothing | {dl} | {'yes' if all(d == 0 for d in dl) else 'no'} |\n"
                 f"| s3s-fs no-change: within 1.2x of its bare listing | {x:.2f} | {'yes' if x <= 1.2 else 'no'} |")
    text = "\n".join(L) + "\n"
    with open(os.path.join(RESULTS, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    print(text)


def main():
    global RESULTS, SERVER, INFRASNAP, TRASH, SETTLE_S
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default="/work/bench-data")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--server", default="")
    ap.add_argument("--infrasnap", default="")
    ap.add_argument("--s3s-fs", default="", help="the s3s-fs binary (bench/run installs it)")
    ap.add_argument("--no-s3s", action="store_true", help="skip the s3s-fs runs")
    ap.add_argument("--s3s-only", action="store_true", help="only the s3s-fs runs")
    ap.add_argument("--no-seed", action="store_true")
    ap.add_argument("--scale", default="10000,100000,1000000",
                    help="object counts of the scale run, comma-separated ('' to skip)")
    ap.add_argument("--rclone-scale-max", type=int, default=100000,
                    help="also run rclone at scale up to this many objects")
    ap.add_argument("--keep", action="store_true", help="keep the repositories and copies")
    ap.add_argument("--settle", type=int, default=SETTLE_S,
                    help="seconds to wait after deleting earlier copies, between rounds (0: no wait)")
    ap.add_argument("--report", nargs="+", metavar="RESULTS_DIR",
                    help="only print the table of earlier runs (their results.jsonl)")
    args = ap.parse_args()
    args.scale = [int(x) for x in args.scale.split(",") if x.strip()]
    SERVER, INFRASNAP = args.server, args.infrasnap
    TRASH, SETTLE_S = os.path.join(args.data, "trash"), args.settle
    RESULTS = args.report[0] if args.report else os.path.join(args.out, time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(RESULTS, exist_ok=True)
    log(f"results in {RESULTS}")
    R = {k: [] for k in ("server", "cp_full", "cp_sync_full", "rclone_sync_full", "infrasnap_full", "aws8_full", "rclone_full", "infrasnap_nochange",
                         "list_all", "aws8_nochange", "rclone_nochange", "infrasnap_rewrite", "aws8_rewrite",
                         "rclone_rewrite", "scale_full", "scale_nochange", "scale_list", "scale_rclone_full",
                         "scale_rclone_nochange", "s3s_full", "s3s_nochange", "s3s_list")}
    if args.report:
        load_results(args.report, R)
        report(args, R)
        return
    try:
        if not args.no_seed and not args.s3s_only:
            seed_run(args, R)
        if args.scale and not args.s3s_only:
            scale_run(args, R)
        if args.s3s_fs and not args.no_s3s:
            s3s_run(args, R)
    finally:
        report(args, R)
        settle(wait=False)


if __name__ == "__main__":
    main()
