#!/usr/bin/env python3
"""A reference verifier written from man/keyctl-keystore.5 alone (issue 11 item 6).

    verify.py KEYSTORE [--require PERMISSION] [--at UNIX_TIME] < presented

Answers the first line of standard input as `keyctl verify` does: exit 0 valid,
1 invalid or missing, 2 expired, 3 revoked, 4 forbidden, and prints the code.
As a module: `judge(keystore_dict, text, required, now)` returns the exit status.
"""
import base64
import binascii
import hashlib
import hmac
import json
import sys
import zlib
from datetime import datetime, timezone

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Unicode White_Space, trimmed from both ends of the presented text.
WHITE = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}
PERMISSIONS = ("read", "write", "admin", "webhook")


def trim(text):
    i, j = 0, len(text)
    while i < j and text[i] in WHITE:
        i += 1
    while j > i and text[j - 1] in WHITE:
        j -= 1
    return text[i:j]


def strict_b64(data):
    """Standard alphabet, length a multiple of 4, '=' only as the last one or two."""
    if len(data) % 4:
        return None
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    body = data.rstrip("=")
    if len(data) - len(body) > 2 or any(c not in alphabet for c in body):
        return None
    if len(data) - len(body) and len(data) == 0:
        return None
    try:
        return base64.b64decode(data + "", validate=True)
    except (binascii.Error, ValueError):
        return None


def ascii_lower(text):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def blank(c):
    return c in " \t"


def unwrap(text):
    """The key inside a presented form, or None for a broken form."""
    if text.startswith("KEYCTL_API_KEY="):
        return text[len("KEYCTL_API_KEY="):]
    low = ascii_lower(text[:20])
    if low.startswith("x-api-key:"):
        rest = text[len("x-api-key:"):]
        return rest.lstrip(" \t")
    header = False
    rest = text
    if low.startswith("authorization:"):
        rest = text[len("authorization:"):].lstrip(" \t")
        header = True
    for scheme in ("bearer", "basic"):
        if ascii_lower(rest[:len(scheme)]) == scheme and len(rest) > len(scheme) and blank(rest[len(scheme)]):
            value = rest[len(scheme):].lstrip(" \t")
            if scheme == "bearer":
                return value
            if any(ord(c) > 127 for c in value):
                return None
            decoded = strict_b64(value)
            if decoded is None:
                return None
            if decoded.startswith(b":"):
                decoded = decoded[1:]
            elif decoded.endswith(b":"):
                decoded = decoded[:-1]
            return decoded.decode("utf-8", errors="replace")
    return None if header else text


def parse_key(key):
    """(prefix, ok) or None if malformed; ok False for a bad checksum."""
    parts = key.split("_", 2)
    if len(parts) != 3:
        return None
    prefix, env, body = parts
    if not (2 <= len(prefix) <= 10) or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789" for c in prefix):
        return None
    if env not in ("live", "test"):
        return None
    if not (28 <= len(body) <= 200) or any(c not in BASE62 for c in body):
        return None
    head, check = key[:-6], key[-6:]
    value = 0
    for c in check:
        value = value * 62 + BASE62.index(c)
    return prefix, value == zlib.crc32(head.encode())


def seconds(t):
    return None if t is None else int(datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def judge(store, text, required=(), now=None):
    text = trim(text)
    if text == "":
        return 1, "MISSING_API_KEY"
    key = unwrap(text)
    parsed = parse_key(key) if key is not None else None
    if parsed is None or not parsed[1]:
        return 1, "INVALID_API_KEY"
    digest = hashlib.sha256(key.encode()).hexdigest()
    record = None
    for r in store["keys"]:
        if hmac.compare_digest(r["digest"], digest):
            record = r
            break
    if record is None or parsed[0] != store["prefix"]:
        return 1, "INVALID_API_KEY"
    revoked, expires = seconds(record.get("revoked_at")), seconds(record.get("expires_at"))
    if revoked is not None and revoked <= now:
        return 3, "REVOKED_API_KEY"
    if (revoked is None or revoked <= now) and expires is not None and expires <= now:
        return 2, "EXPIRED_API_KEY"
    perms = set(record["permissions"])
    if "admin" not in perms and not set(required) <= perms:
        return 4, "FORBIDDEN"
    return 0, "valid"


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    path, required, now = args[0], [], None
    i = 1
    while i < len(args):
        if args[i] == "--require":
            required += args[i + 1].split(",")
            i += 2
        elif args[i] == "--at":
            now = int(args[i + 1])
            i += 2
        else:
            sys.exit(64)
    with open(path, encoding="utf-8") as f:
        store = json.load(f)
    if now is None:
        now = int(datetime.now(timezone.utc).timestamp())
    line = sys.stdin.buffer.readline(4096).split(b"\n")[0]
    if line.endswith(b"\r"):
        line = line[:-1]
    status, code = judge(store, line.decode("utf-8", errors="replace"), required, now)
    print(code)
    sys.exit(status)


if __name__ == "__main__":
    main()
