#!/usr/bin/env python3
"""Load a Route53 zone file infrasnap wrote with dnspython (PyPI), a master-file parser that is
not BIND's, and compare its records with the zone's records.json (Route53's own answer).

    zone_vs_records.py <zone file> <records.json>

Every record set of records.json that a master file can hold (not an alias, no routing policy)
must be in the zone file with the same name, type, TTL and values, and the zone file must hold
nothing else, except its SOA when Route53's SOA value is not in the master-file form (infrasnap
then synthesizes one and says so in a comment). Route53 names use octal escapes (`\\052` for
`*`); they are decoded here from Route53's documentation, independently of infrasnap's code.
Prints {"compared": n, "aliases": n} and exits 1 with the differences.
"""
import json
import re
import sys

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone


def route53_name(s):
    """Route53's presentation of a name (\\NNN octal escapes) as a dnspython name."""
    out = []
    i = 0
    while i < len(s):
        m = re.match(r"\\([0-7]{3})", s[i:])
        if m:
            b = int(m.group(1), 8)
            ch = chr(b)
            out.append(ch if ch.isalnum() or ch in "-_*" else "\\%03d" % b)
            i += 4
        else:
            out.append(s[i])
            i += 1
    return dns.name.from_text("".join(out))


def main():
    zone_path, records_path = sys.argv[1], sys.argv[2]
    zone = dns.zone.from_file(zone_path, relativize=False, check_origin=True)
    with open(records_path, "rb") as f:
        records = json.loads(f.read())

    got = set()
    soa_in_file = 0
    for name, ttl, rdata in zone.iterate_rdatas():
        if rdata.rdtype == dns.rdatatype.SOA:
            soa_in_file += 1
        got.add((name.to_text(), dns.rdatatype.to_text(rdata.rdtype), ttl, rdata.to_text()))

    want = set()
    aliases = 0
    soa_wanted = True
    for rs in records["ResourceRecordSets"]:
        if "AliasTarget" in rs:
            aliases += 1
            continue
        if any(k in rs for k in ("SetIdentifier", "Weight", "Region", "Failover", "GeoLocation",
                                 "MultiValueAnswer", "CidrRoutingConfig", "GeoProximityLocation")):
            continue
        name = route53_name(rs["Name"])
        rtype = rs["Type"]
        for rr in rs.get("ResourceRecords", []):
            try:
                rd = dns.rdata.from_text(dns.rdataclass.IN, rtype, rr["Value"],
                                         origin=dns.name.root, relativize=False)
            except Exception as e:
                if rtype == "SOA":
                    soa_wanted = False  # not in master-file form: synthesized by infrasnap
                    continue
                sys.exit(f"records.json value {rr['Value']!r} of {rs['Name']} {rtype}: {e}")
            want.add((name.to_text(), rtype, rs["TTL"], rd.to_text()))

    if not soa_wanted:
        got = {g for g in got if g[1] != "SOA"}
    if soa_in_file != 1:
        sys.exit(f"the zone file has {soa_in_file} SOA records, not 1")
    if got != want:
        lines = [f"only in the zone file: {g}" for g in sorted(got - want)]
        lines += [f"only in records.json: {w}" for w in sorted(want - got)]
        sys.exit("\n".join(lines))
    print(json.dumps({"compared": len(want), "aliases": aliases, "soa_from_records": soa_wanted}))


if __name__ == "__main__":
    main()
