#!/usr/bin/env python3
"""Prints the table of Tests/Benchmarks/run from its hyperfine JSON exports and memory.tsv.

usage: report.py OUTDIR MACHINE-LINE BINARY-SIZE LINKAGE
"""
import json
import os
import sys

out, machine, binsize, linkage = sys.argv[1:5]


def load(name):
    with open(os.path.join(out, name + ".json")) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


v10, v10k, v100k, cold, wr, ls = (load(n) for n in ("verify10", "verify10k", "verify100k", "verifycold", "writes", "list"))
mem = {}
with open(os.path.join(out, "memory.tsv")) as f:
    for line in f:
        name, kib = line.rstrip("\n").split("\t")
        mem[name] = int(kib)


def med(r):
    return r["median"] * 1000.0  # ms


true = med(v10["true"])
wrapper = med(v10["redirect-true"]) - true  # cost of feeding stdin through benchhelp redirect


def stdin_verify(res):
    return med(res["keyctl-verify-stdin"]) - wrapper


rows = []


def row(case, k, base, ratio, target, ok):
    rows.append((case, k, base, ratio, target, "info" if ok is None else "PASS" if ok else "FAIL"))


def ms(x):
    return "%.2f ms" % x if x < 100 else "%.0f ms" % x


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


ht10 = med(v10["htpasswd"])
k = stdin_verify(v10)
row("verify, 10 keys (stdin)", ms(k), "htpasswd -vb 10: " + ms(ht10), "%.2f× htpasswd" % (k / ht10), "≤ 1.5×", k / ht10 <= 1.5)
row("verify, 10 keys (stdin)", ms(k), "/bin/true: " + ms(true), "%.2f× true" % (k / true), "≤ 3×", k / true <= 3)
ke = med(v10["keyctl-verify-env"])
row("verify --from-env, 10 keys", ms(ke), "htpasswd -vb 10: " + ms(ht10), "%.2f× htpasswd" % (ke / ht10), "≤ 1.5×", ke / ht10 <= 1.5)
row("verify --from-env, 10 keys", ms(ke), "/bin/true: " + ms(true), "%.2f× true" % (ke / true), "≤ 3×", ke / true <= 3)
ht10k = med(v10k["htpasswd"])
k = stdin_verify(v10k)
row("verify, 10 live + 10,000 revoked", ms(k), "htpasswd -vb 10,000: " + ms(ht10k), "%.2f× htpasswd" % (k / ht10k), "≤ 1.5×", k / ht10k <= 1.5)
ht100k = med(v100k["htpasswd"])
k = stdin_verify(v100k)
row("verify, 10 live + 100,000 revoked", ms(k), "htpasswd -vb 100,000: " + ms(ht100k), "%.2f× htpasswd" % (k / ht100k), "≤ 100 ms", k <= 100)
k = med(cold["keyctl-verify-10k-noindex"]) - wrapper
row("  same, first verify after a change (no index)", ms(k), "htpasswd -vb 10,000: " + ms(ht10k), "%.2f× htpasswd" % (k / ht10k), "(none)", None)
k = med(cold["keyctl-verify-100k-noindex"]) - wrapper
row("verify, 100,000 revoked, no index", ms(k), "htpasswd -vb 100,000: " + ms(ht100k), "%.2f× htpasswd" % (k / ht100k), "≤ 100 ms", k <= 100)
m = mem["keyctl verify 100k"]
row("verify, 100,000 revoked: peak RSS", mib(m), "", "", "≤ 64 MiB", m <= 64 * 1024)
m = mem["keyctl verify 100k, no index"]
row("verify, 100,000 revoked, no index: peak RSS", mib(m), "", "", "≤ 64 MiB", m <= 64 * 1024)
dur = med(wr["durable-write"])
nosync = med(wr["durable-write-nosync"])
fsync_cost = dur - nosync
for c in ("create", "rotate", "revoke"):
    k = med(wr["keyctl-" + c])
    budget = 4 * true + dur
    row("%s, 10-key keystore" % c, ms(k), "true %s, durable write %s" % (ms(true), ms(dur)),
        "%.2f× (4·true + durable)" % (k / budget), "≤ 1.0×", k <= budget)
k = med(ls["keyctl-list-json-100k"])
row("list --json, 100,010 records", ms(k), "", "", "≤ 500 ms", k <= 500)
for name in ("keyctl --version", "keyctl init", "keyctl create", "keyctl list", "keyctl list --json",
             "keyctl show", "keyctl verify", "keyctl rotate", "keyctl revoke"):
    m = mem[name]
    row("%s: peak RSS" % (name[len("keyctl "):] + ("" if name == "keyctl --version" else ", 10 keys")), mib(m),
        "true %s, htpasswd %s" % (mib(mem["true"]), mib(mem["htpasswd-10"])), "", "≤ 16 MiB", m <= 16 * 1024)

head = ("case", "keyctl median", "baseline median(s)", "ratio", "target", "result")
widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]


def line(cells):
    return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"


print()
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(line(r))
print()
fails = sum(1 for r in rows if r[5] == "FAIL")
targets = sum(1 for r in rows if r[5] != "info")
print("%d of %d targets met." % (targets - fails, targets))
print()
print("Machine: " + machine)
print("Binary: %s bytes, %s" % (binsize, linkage))
print()
print("Notes (medians, ms):")
print("- stdin is fed by `benchhelp redirect KEYFILE keyctl verify` (hyperfine < 1.16 has no --input);"
      " its cost, redirect→/bin/true minus /bin/true = %.3f ms, is subtracted from the stdin rows."
      " Raw: 10 keys %.2f, 10k %.2f, 100k %.2f." % (
          wrapper, med(v10["keyctl-verify-stdin"]), med(v10k["keyctl-verify-stdin"]), med(v100k["keyctl-verify-stdin"])))
print("- durable write (read keystore, write tmp, fsync, rename, fsync dir, as a C process) %.2f;"
      " the same without the two fsyncs %.2f; so the fsyncs cost %.2f." % (dur, nosync, fsync_cost))
print("  Stricter reading, keyctl / (4·true + fsyncs only): " + ", ".join(
    "%s %.2f×" % (c, med(wr["keyctl-" + c]) / (4 * true + fsync_cost)) for c in ("create", "rotate", "revoke")))
print("- startup alone, `keyctl --version`: %s (%.2f× true). list --json on 10 keys %s, on 10,010 records %s;"
      " peak RSS of list --json on 100,010 records: %s." % (
          ms(med(v10["keyctl-version"])), med(v10["keyctl-version"]) / true, ms(med(ls["keyctl-list-json-10"])),
          ms(med(ls["keyctl-list-json-10k"])), mib(mem["keyctl list --json 100k"])))
print("- peak RSS is the max of 5 runs of /usr/bin/time -f %M.")
