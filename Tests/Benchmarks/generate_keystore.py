#!/usr/bin/env python3
"""Test-data generator for Tests/Benchmarks/run (not part of keyctl).

  generate_keystore.py keystore SRC DST N
      Copy keyctl keystore SRC (made by keyctl itself: init + create) to DST with N
      revoked records inserted before the existing ones. Each new record copies the
      field order of SRC's first record and is written the way keyctl writes one
      (compact JSON, one record per line, records separated by ",\\n"); the text of SRC
      is otherwise kept byte for byte. Revoked records are older than every live key.
      DST is created with mode 0600. SRC's audit log (SRC.log) is copied to DST.log:
      the keystore records the log's head, and keyctl refuses to write a keystore
      whose log is missing (LOG_CORRUPT). The inserted records are not in the log.

  generate_keystore.py htpasswd DST N
      Write an htpasswd file of N {SHA} entries "userI:{SHA}base64(sha1("pwI"))",
      I = 0..N-1, so the last line is user{N-1} / pw{N-1}.
"""
import base64
import datetime
import hashlib
import json
import os
import random
import re
import sys

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def keystore(src, dst, n, check=True):
    text = open(src, encoding="utf-8").read()
    store = json.loads(text)
    live = store["keys"]
    if not live:
        sys.exit("generate_keystore.py: %s has no keys to copy the record shape from" % src)
    template = live[0]
    prefix = store.get("prefix", "ak")
    ids = {k["id"] for k in live}
    digests = {k["digest"] for k in live}
    oldest_live = min(k["created_at"] for k in live)
    rng = random.Random(5)
    base = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    # 100,000 records span about a year; a million are packed closer, so all are older than every live key.
    newest = datetime.datetime.strptime(oldest_live, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    step = max(1, min(300, int((newest - 7200 - base) / max(n, 1))))
    lines = []
    for i in range(n):
        while True:
            kid = "key_" + "".join(rng.choice(BASE62) for _ in range(16))
            if kid not in ids:
                ids.add(kid)
                break
        digest = hashlib.sha256(("bench-revoked-%d-%d" % (i, rng.getrandbits(64))).encode()).hexdigest()
        assert digest not in digests
        digests.add(digest)
        env = "live" if i % 3 else "test"
        created = base + i * step
        values = {
            "id": kid,
            "name": "svc-%d" % (i % 500),  # revoked names repeat
            "digest": digest,
            "hint": "%s_%s_\u2026%s" % (prefix, env, "".join(rng.choice(BASE62) for _ in range(4))),
            "environment": env,
            "permissions": ["read"] if i % 4 else ["read", "write"],
            "created_at": rfc3339(created),
            "expires_at": rfc3339(created + 90 * 86400) if i % 2 else None,
            "revoked_at": rfc3339(created + 3600),
            "last_used_at": rfc3339(created + 60) if i % 5 else None,
            "rotated_from": None,
            "rotated_to": None,
        }
        assert values["created_at"] < oldest_live
        rec = {}
        for field in template:  # keyctl's own field order; unknown fields stay as in a live key
            rec[field] = values[field] if field in values else template[field]
        for field in ("id", "digest", "revoked_at", "created_at"):
            if field not in rec:
                sys.exit("generate_keystore.py: the keystore format changed (no %r field)" % field)
        lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    m = re.search(r'"keys"\s*:\s*\[(\s*)', text)
    if not m:
        sys.exit("generate_keystore.py: no \"keys\" array in %s" % src)
    sep = ",\n"
    insert = sep.join(lines) + ("," + m.group(1) if m.group(1) else sep) if lines else ""
    out = text[: m.end()] + insert + text[m.end():]
    if check:  # a million records: keyctl itself checks the file (the benchmark verifies with it)
        assert len(json.loads(out)["keys"]) == len(live) + n
    write_private(dst, out.encode("utf-8"))
    copy_log(src, dst)


def copy_log(src, dst):
    """Copy SRC.log to DST.log (mode 0600) when SRC has one; remove a stale DST.log otherwise."""
    if os.path.exists(src + ".log"):
        write_private(dst + ".log", open(src + ".log", "rb").read())
    elif os.path.exists(dst + ".log"):
        os.unlink(dst + ".log")


def htpasswd(dst, n):
    out = []
    for i in range(n):
        sha = base64.b64encode(hashlib.sha1(("pw%d" % i).encode()).digest()).decode()
        out.append("user%d:{SHA}%s\n" % (i, sha))
    write_private(dst, "".join(out).encode())


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "keystore":
        keystore(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "htpasswd":
        htpasswd(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
