#!/usr/bin/env python3
"""Read DynamoDB data files as DynamoDB's export to S3 defines them (the "DynamoDB JSON" output
format of "DynamoDB table export output format" in the DynamoDB Developer Guide), written from that
description alone, not from infrasnap's code: gzip files of lines, each line one JSON object
`{"Item": {<attribute name>: <attribute value>}}`, each attribute value an object with exactly one
of the type descriptors S, N, B, SS, NS, BS, M, L, NULL, BOOL (B and BS base64, N and NS numbers as
strings, sets non-empty and without duplicates, NULL true).

    dynamodb_json_read.py <table key attribute>... -- <data file>...

prints {"items": [<every item, in a canonical DynamoDB JSON: set members sorted, binaries
re-encoded as standard base64>]} and exits 1 at the first line that is not in the format (a
missing key attribute included).
"""
import base64
import binascii
import decimal
import gzip
import json
import sys

TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def check_number(s, where):
    if not isinstance(s, str):
        raise ValueError(f"{where}: a number must be a string")
    try:
        d = decimal.Decimal(s)
    except decimal.InvalidOperation:
        raise ValueError(f"{where}: {s!r} is not a number")
    if not d.is_finite():
        raise ValueError(f"{where}: {s!r} is not finite")


def check_binary(s, where):
    if not isinstance(s, str):
        raise ValueError(f"{where}: binary must be a base64 string")
    try:
        base64.b64decode(s, validate=True)
    except binascii.Error as e:
        raise ValueError(f"{where}: not base64: {e}")


def check_value(v, where):
    if not isinstance(v, dict) or len(v) != 1:
        raise ValueError(f"{where}: an attribute value has exactly one type descriptor: {v!r}")
    (t, x), = v.items()
    if t not in TYPES:
        raise ValueError(f"{where}: unknown type descriptor {t!r}")
    if t == "S" and not isinstance(x, str):
        raise ValueError(f"{where}: S must be a string")
    if t == "N":
        check_number(x, where)
    if t == "B":
        check_binary(x, where)
    if t in ("SS", "NS", "BS"):
        if not isinstance(x, list) or not x:
            raise ValueError(f"{where}: a set is a non-empty list")
        if len(set(x)) != len(x):
            raise ValueError(f"{where}: a set has duplicates")
        for m in x:
            if t == "SS" and not isinstance(m, str):
                raise ValueError(f"{where}: SS member must be a string")
            if t == "NS":
                check_number(m, where)
            if t == "BS":
                check_binary(m, where)
    if t == "M":
        if not isinstance(x, dict):
            raise ValueError(f"{where}: M must be an object")
        for k, mv in x.items():
            check_value(mv, f"{where}.{k}")
    if t == "L":
        if not isinstance(x, list):
            raise ValueError(f"{where}: L must be a list")
        for i, lv in enumerate(x):
            check_value(lv, f"{where}[{i}]")
    if t == "NULL" and x is not True:
        raise ValueError(f"{where}: NULL must be true")
    if t == "BOOL" and not isinstance(x, bool):
        raise ValueError(f"{where}: BOOL must be true or false")


def canonical(v):
    """The value with set members sorted and binaries re-encoded, for comparison."""
    (t, x), = v.items()
    if t == "B":
        return {t: base64.b64encode(base64.b64decode(x)).decode()}
    if t == "BS":
        return {t: sorted(base64.b64encode(base64.b64decode(m)).decode() for m in x)}
    if t in ("SS", "NS"):
        return {t: sorted(x)}
    if t == "M":
        return {t: {k: canonical(mv) for k, mv in x.items()}}
    if t == "L":
        return {t: [canonical(lv) for lv in x]}
    return v


def json_lines(text):
    """The lines of a JSON-lines text: each ends with "\\n" (and only "\\n" ends one: U+2028 and
    the like are valid inside JSON strings, so str.splitlines would be wrong)."""
    if text and not text.endswith("\n"):
        raise ValueError("the last line does not end with \\n")
    return text.split("\n")[:-1]


def main():
    sep = sys.argv.index("--")
    key_attrs, files = sys.argv[1:sep], sys.argv[sep + 1:]
    items = []
    for path in files:
        with gzip.open(path, "rb") as f:
            for n, line in enumerate(json_lines(f.read().decode("utf-8")), 1):
                where = f"{path}:{n}"
                doc = json.loads(line)
                if not isinstance(doc, dict) or list(doc) != ["Item"]:
                    sys.exit(f"{where}: a line is {{\"Item\": ...}} and nothing else")
                item = doc["Item"]
                try:
                    for name, v in item.items():
                        check_value(v, f"{where} {name}")
                except ValueError as e:
                    sys.exit(str(e))
                for k in key_attrs:
                    if k not in item:
                        sys.exit(f"{where}: key attribute {k} missing")
                items.append({k: canonical(v) for k, v in item.items()})
    print(json.dumps({"items": items}, ensure_ascii=False))


if __name__ == "__main__":
    main()
