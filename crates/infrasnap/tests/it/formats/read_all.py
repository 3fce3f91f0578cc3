#!/usr/bin/env python3
"""Parse every JSON, JSON-lines, gzip JSON-lines and CSV file infrasnap wrote in a snapshot folder
with Python's standard readers (json, csv, gzip), strictly: a JSON document must be one value with
no NaN/Infinity, a JSON-lines file one value per line, a CSV file RFC 4180 (CRLF line ends, every
row as wide as its header).

Captured content is not infrasnap's format and is skipped: S3 objects (s3_buckets/), the files of
local sources (untracked/, conflicted/, files/, kept_secrets/), Apps Script sources (any
appsscript.json is the project's own manifest, read as JSON anyway).

    read_all.py <snapshot folder>

prints {"json": n, "jsonl": n, "json.gz": n, "csv": n, "csv_headers": {path: header}} and exits 1
listing every file that failed.
"""
import csv
import gzip
import io
import json
import os
import sys

SKIP_DIRS = {"untracked", "conflicted", "files", "kept_secrets"}


def strict_loads(text):
    def bad_constant(c):
        raise ValueError(f"non-standard JSON constant {c}")

    return json.loads(text, parse_constant=bad_constant)


def json_lines(text):
    """The lines of a JSON-lines text: each ends with "\\n" (and only "\\n" ends one: U+2028 and
    the like are valid inside JSON strings, so str.splitlines would be wrong)."""
    if text and not text.endswith("\n"):
        raise ValueError("the last line does not end with \\n")
    return text.split("\n")[:-1]


def main():
    root = sys.argv[1]
    counts = {"json": 0, "jsonl": 0, "json.gz": 0, "csv": 0}
    headers = {}
    errors = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == "s3_buckets" or rel_dir.startswith("s3_buckets" + os.sep):
            dirnames[:] = []
            continue
        if rel_dir.startswith("local_repos"):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            try:
                if name.endswith(".json"):
                    with open(path, "rb") as f:
                        strict_loads(f.read().decode("utf-8"))
                    counts["json"] += 1
                elif name.endswith(".jsonl"):
                    with open(path, "rb") as f:
                        for i, line in enumerate(json_lines(f.read().decode("utf-8")), 1):
                            try:
                                strict_loads(line)
                            except ValueError as e:
                                raise ValueError(f"line {i}: {e}")
                    counts["jsonl"] += 1
                elif name.endswith(".json.gz"):
                    with gzip.open(path, "rb") as f:
                        for i, line in enumerate(json_lines(f.read().decode("utf-8")), 1):
                            try:
                                strict_loads(line)
                            except ValueError as e:
                                raise ValueError(f"line {i}: {e}")
                    counts["json.gz"] += 1
                elif name.endswith(".csv"):
                    with open(path, "rb") as f:
                        raw = f.read().decode("utf-8")
                    if raw and not raw.endswith("\r\n"):
                        raise ValueError("does not end with CRLF")
                    if "\n" in raw.replace("\r\n", ""):
                        raise ValueError("a line ends without CR (RFC 4180 wants CRLF)")
                    rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
                    if not rows:
                        raise ValueError("no header")
                    width = len(rows[0])
                    for i, row in enumerate(rows[1:], 2):
                        if len(row) != width:
                            raise ValueError(f"row {i} has {len(row)} fields, the header {width}")
                    headers[rel] = ",".join(rows[0])
                    counts["csv"] += 1
            except (ValueError, UnicodeDecodeError, OSError, csv.Error, EOFError) as e:
                errors.append(f"{rel}: {e}")
    print(json.dumps({**counts, "csv_headers": headers, "errors": errors}, sort_keys=True))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
