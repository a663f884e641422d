#!/usr/bin/env python3
"""keyctl's benchmark against its baselines (issue 10). Run it through Tests/Benchmarks/run.

    bench.py KEYCTL TRIVIAL OUTDIR

Every number is a ratio against a baseline measured in the same run: the rows of one
table are run interleaved (a round runs every command of the group once, in order),
and each figure is the median of the rounds. Every command, keyctl's and the
baselines', is started the same way (posix_spawn from this process, standard input
from a file, output to /dev/null) and timed from spawn to exit; nothing is subtracted.
Peak memory is /usr/bin/time's %M (maximum resident set) over separate runs.

Environment: QUICK=1 (CI smoke: small keystores, 3 rounds, a 5 s gateway loop; checks
that everything runs, its numbers mean nothing), ROUNDS=N (default 21; every row at
every size gets them, so each median is of at least 20 runs as issue 10 asks),
STARTUP_ROUNDS=N (default 301: the start-up and settled-verify rows cost about a
millisecond a run and vary with process creation, so they get many more rounds; a
rerun then reproduces their ratios), LOOP_SECONDS (default 180), SIZES (default
"10,10000,100000,1000000"), SEED (the order of each round's rows; printed, random
when not given).
"""
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate_keystore  # noqa: E402

QUICK = os.environ.get("QUICK") == "1"
ROUNDS = int(os.environ.get("ROUNDS", "3" if QUICK else "21"))
STARTUP_ROUNDS = int(os.environ.get("STARTUP_ROUNDS", "3" if QUICK else "301"))
LOOP_SECONDS = float(os.environ.get("LOOP_SECONDS", "5" if QUICK else "180"))
SIZES = [int(s) for s in os.environ.get("SIZES", "10,1000" if QUICK else "10,10000,100000,1000000").split(",")]
SEED = int(os.environ.get("SEED", str(int.from_bytes(os.urandom(4), "little"))))
RANDOM = random.Random(SEED)
DEVNULL = os.open(os.devnull, os.O_RDWR)


def run(argv, stdin=None, env=None):
    """Runs argv once: (seconds, peak KiB, exit status)."""
    fin = os.open(stdin, os.O_RDONLY) if stdin else DEVNULL
    actions = [(os.POSIX_SPAWN_DUP2, fin, 0), (os.POSIX_SPAWN_DUP2, DEVNULL, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env if env is not None else os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    if stdin:
        os.close(fin)
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


class Row:
    def __init__(self, name, argv, stdin=None, prepare=None, ok=(0,)):
        self.name, self.argv, self.stdin, self.prepare, self.ok = name, argv, stdin, prepare, ok
        self.times, self.rss = [], []


def interleave(rows, rounds=ROUNDS):
    """Runs every row once a round, in an order shuffled each round (SEED), so that no
    row always follows the same one: what a command leaves behind lands on every row in
    turn, not always on the next (on 1,000,000 records a keyctl write that follows
    another keyctl write is 0.3-0.5 s faster than one that follows htpasswd or the
    floor, whichever command it is)."""
    for _ in range(rounds):
        for row in RANDOM.sample(rows, len(rows)):
            if row.prepare:
                row.prepare()
            t, rss, code = run(row.argv, row.stdin)
            if code not in row.ok:
                sys.exit("benchmark: %s exited %d: %s" % (row.name, code, " ".join(row.argv)))
            row.times.append(t)
            row.rss.append(rss)
    return {row.name: row for row in rows}


def peak_kib(row, runs=2):
    """Peak memory of a row's command, through /usr/bin/time (ru_maxrss of a child of
    this process would count Python's own pages, which the child shares until exec)."""
    timer = shutil.which("time", path="/usr/bin:/bin") or sys.exit("benchmark: /usr/bin/time not found (apt-get install time)")
    fd, out = tempfile.mkstemp(prefix="keyctl-bench-rss-")
    os.close(fd)
    peak = 0
    for _ in range(runs):
        if row.prepare:
            row.prepare()
        code = run([timer, "-f", "%M", "-o", out] + row.argv, row.stdin)[2]
        if code not in row.ok:
            sys.exit("benchmark: %s exited %d (memory run)" % (row.name, code))
        with open(out) as f:
            peak = max(peak, int(f.read().split()[-1]))
    os.unlink(out)
    return peak


def median_ms(row):
    return statistics.median(row.times) * 1000


def p99(times):
    """The 99th percentile of times (the value 99% of them do not exceed)."""
    times = sorted(times)
    return times[int(len(times) * 0.99) - 1 if len(times) > 1 else 0]


def durable_copy(work):
    """Tests/Benchmarks/durable_copy.c, compiled with cc: the least a durable write costs (SPEC 3, 7)."""
    binary = os.path.join(work, "durable_copy")
    if not os.path.exists(binary):
        built = subprocess.run(["cc", "-O2", "-o", binary, os.path.join(os.path.dirname(os.path.abspath(__file__)), "durable_copy.c")],
                               capture_output=True, text=True)
        if built.returncode != 0:
            sys.exit("benchmark: cc durable_copy.c failed: %s" % built.stderr)
    return binary


def copier(src, dst):
    def prepare():
        shutil.copyfile(src, dst)
        generate_keystore.copy_log(src, dst)  # the keystore records its log's head
        for suffix in (".index", ".usage"):
            if os.path.exists(dst + suffix):
                os.unlink(dst + suffix)
    return prepare


def at_rest(prepare):
    """A write's fresh copy, flushed to disk before the timed run: a keystore is on disk
    after the write that made it (and an htpasswd file after a while), so the copy's
    dirty pages are not charged to the timed write's fsync (unflushed, they added about
    55 ms to keyctl's and the floor's writes on 100,000 records; htpasswd never syncs)."""
    def run_then_sync():
        prepare()
        os.sync()
    return run_then_sync


def main():
    keyctl, trivial, out = sys.argv[1], sys.argv[2], sys.argv[3]
    work = os.path.join(out, "work")
    os.makedirs(work, mode=0o700, exist_ok=True)
    htpasswd = shutil.which("htpasswd") or sys.exit("benchmark: htpasswd not found (apt-get install apache2-utils)")
    true = shutil.which("true")
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rounds": ROUNDS, "startup_rounds": STARTUP_ROUNDS, "quick": QUICK,
               "seed": SEED, "rows": []}
    print("seed %d (SEED=%d reruns the same order of rows)" % (SEED, SEED), flush=True)

    def record(case, ratio_of, value, target, unit="ratio", note=""):
        results["rows"].append({"case": case, "measure": ratio_of, "value": value, "target": target, "unit": unit, "note": note})
        print("%-62s %-40s %10.3f %s  (%s) %s" % (case, ratio_of, value, unit, "target " + target if target != "none" else "no target", note),
              flush=True)

    def kc(store, *args):
        return [keyctl, "--keystore", store] + list(args)

    # ------------------------------------------------------------ keystores (format of this keyctl)
    base = os.path.join(work, "base")
    os.makedirs(base, mode=0o700, exist_ok=True)
    k10 = os.path.join(base, "keystore.json")
    if os.path.exists(k10):
        os.unlink(k10)
    subprocess.run(kc(k10, "init", "--max-keys", "100"), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secrets = []
    for i in range(10):
        secrets.append(subprocess.run(kc(k10, "create", "name-%d" % i), check=True, capture_output=True, text=True).stdout.strip())
    keyfile = os.path.join(work, "key.txt")
    with open(keyfile, "w") as f:
        f.write(secrets[-1] + "\n")
    pwfile = os.path.join(work, "pw.txt")
    with open(pwfile, "w") as f:
        f.write("pw9\n")

    stores, hts = {}, {}
    for n in SIZES:
        d = os.path.join(work, "k%d" % n)
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, "keystore.json")
        print("generating %d records" % n, flush=True)
        generate_keystore.keystore(k10, path, max(n - 10, 0), check=n <= 100_000)
        code = run(kc(path, "verify"), keyfile)[2]
        if code != 0:
            sys.exit("benchmark: verify of a valid key failed on the %d-record keystore (%d)" % (n, code))
        stores[n] = path
        hts[n] = os.path.join(work, "ht%d" % n)
        generate_keystore.htpasswd(hts[n], n)
        # htpasswd's own user for the lookups: the last line, like keyctl's last record.
    settle = 2.2
    time.sleep(settle)  # verify trusts an index once the keystore has not changed for 2 s
    for n in SIZES:
        run(kc(stores[n], "verify"), keyfile)
        if not os.path.exists(stores[n] + ".index"):
            sys.exit("benchmark: verify left no index beside %s" % stores[n])

    def htuser(n):
        return "user%d" % (n - 1)

    def htpw(n):
        p = os.path.join(work, "pw%d.txt" % n)
        with open(p, "w") as f:
            f.write("pw%d\n" % (n - 1))
        return p

    small, large = SIZES[0], SIZES[-1]

    # ------------------------------------------------------------ start-up
    os.sync()  # the keystores just generated are written back before anything is timed
    r = interleave([Row("version", [keyctl, "--version"]), Row("trivial", [trivial])], STARTUP_ROUNDS)
    record("keyctl --version", "/ trivial static Swift program", median_ms(r["version"]) / median_ms(r["trivial"]), "<= 1.15",
           note="%.2f ms vs %.2f ms" % (median_ms(r["version"]), median_ms(r["trivial"])))

    # ------------------------------------------------------------ settled verify
    rows = [Row("verify", kc(stores[small], "verify"), keyfile), Row("htpasswd", [htpasswd, "-vi", hts[small], htuser(small)], htpw(small)),
            Row("true", [true], keyfile)]
    if large != small:
        rows.append(Row("verify-large", kc(stores[large], "verify"), keyfile))
    r = interleave(rows, STARTUP_ROUNDS)
    v = median_ms(r["verify"])
    record("settled verify, %d keys" % small, "/ htpasswd -vi (stdin)", v / median_ms(r["htpasswd"]), "<= 1.0",
           note="%.2f ms vs %.2f ms" % (v, median_ms(r["htpasswd"])))
    record("settled verify, %d keys" % small, "/ /bin/true", v / median_ms(r["true"]), "<= 1.5", note="true %.2f ms" % median_ms(r["true"]))
    if large != small:
        record("settled verify, %d records" % large, "/ the same on %d" % small, median_ms(r["verify-large"]) / v, "<= 1.2",
               note="%.2f ms" % median_ms(r["verify-large"]))

    # ------------------------------------------------------------ first verify after a change (no index)
    for n in SIZES[1:]:
        def drop(n=n):
            if os.path.exists(stores[n] + ".index"):
                os.unlink(stores[n] + ".index")
            os.utime(stores[n])  # a change: not settled, so no index is written either
        r = interleave([Row("cold", kc(stores[n], "verify"), keyfile, prepare=drop),
                        Row("htpasswd", [htpasswd, "-vi", hts[n], htuser(n)], htpw(n))])
        record("first verify after a change, %d records" % n, "/ htpasswd -vi on as many", median_ms(r["cold"]) / median_ms(r["htpasswd"]),
               "<= 2.0", note="%.1f ms vs %.1f ms" % (median_ms(r["cold"]), median_ms(r["htpasswd"])))

    # ------------------------------------------------------------ writes
    probe = os.path.join(work, "probe")
    os.makedirs(probe, mode=0o700, exist_ok=True)
    copier(k10, os.path.join(probe, "keystore.json"))()
    has_update = run(kc(os.path.join(probe, "keystore.json"), "update", "name-5", "--description", "bench"))[2] == 0
    floor = durable_copy(work)
    for n in SIZES[1:]:
        d = os.path.join(work, "w%d" % n)
        os.makedirs(d, mode=0o700, exist_ok=True)
        kw = os.path.join(d, "keystore.json")
        htw = os.path.join(work, "htw%d" % n)
        rows = [Row("htpasswd -sb", [htpasswd, "-sb", htw, "bench-user", "secret"], prepare=at_rest(lambda n=n, htw=htw: shutil.copyfile(hts[n], htw))),
                Row("create", kc(kw, "create", "bench-new"), prepare=at_rest(copier(stores[n], kw))),
                Row("revoke", kc(kw, "revoke", "name-3"), prepare=at_rest(copier(stores[n], kw))),
                Row("rotate", kc(kw, "rotate", "name-4"), prepare=at_rest(copier(stores[n], kw)))]
        if has_update:
            rows.append(Row("update", kc(kw, "update", "name-5", "--description", "bench"), prepare=at_rest(copier(stores[n], kw))))
        rows.append(Row("durable copy", [floor, kw, kw + ".log"], prepare=at_rest(copier(stores[n], kw))))
        r = interleave(rows)
        size_kib = os.path.getsize(stores[n]) / 1024
        copy_ms = median_ms(r["durable copy"])
        record("durable rewrite of a %d-record keystore (the floor SPEC 3, 7 set)" % n, "/ htpasswd -sb on as many",
               copy_ms / median_ms(r["htpasswd -sb"]), "none", note="%.1f ms: append+fsync a log line; read, write beside, fsync, rename, fsync dir" % copy_ms)
        for name in ("create", "revoke", "rotate", "update"):
            if name not in r:
                record("%s on %d records" % (name, n), "/ htpasswd -sb on as many", float("nan"), "<= 1.0", note="no such command yet")
                continue
            record("%s on %d records" % (name, n), "/ htpasswd -sb on as many", median_ms(r[name]) / median_ms(r["htpasswd -sb"]), "<= 1.0",
                   note="%.1f ms vs %.1f ms" % (median_ms(r[name]), median_ms(r["htpasswd -sb"])))
            record("%s on %d records" % (name, n), "/ the durable rewrite floor", median_ms(r[name]) / copy_ms, "none",
                   note="what keyctl adds to the least SPEC 3 and 7 allow")
            peak = peak_kib(r[name])
            record("%s on %d records, peak memory" % (name, n), "MiB over the keystore's size", (peak - size_kib) / 1024, "<= 16", "MiB",
                   note="peak %.0f MiB, keystore %.0f MiB" % (peak / 1024, size_kib / 1024))

    # ------------------------------------------------------------ list --all --json
    args = ["list", "--json"]
    if run(kc(stores[small], "list", "--all", "--json"))[2] == 0:
        args = ["list", "--all", "--json"]
    r = interleave([Row("list", kc(stores[large], *args))])
    record("%s on %d records" % (" ".join(args), large), "µs per record", median_ms(r["list"]) * 1000 / large, "<= 2", "µs")
    record("%s on %d records, peak memory" % (" ".join(args), large), "MiB", peak_kib(r["list"]) / 1024, "<= 64", "MiB")

    # ------------------------------------------------------------ gateway loop
    # The writes above leave gigabytes for the kernel to write back (21 rounds of six
    # copies of the largest keystore); flushed now, so the loop's tail measures verify,
    # not that writeback.
    for n in SIZES[1:]:
        shutil.rmtree(os.path.join(work, "w%d" % n), ignore_errors=True)
    os.sync()
    gateway(keyctl, htpasswd, true, work, secrets, k10, record)

    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)


def gateway(keyctl, htpasswd, true, work, secrets, k10, record):
    """A fresh process per verify, 10 live keys round robin, 10,000 revoked records;
    htpasswd -vi on 10,010 entries and /bin/true interleaved in the same loop (true's
    own p99 / median is the tail process creation alone has on this machine)."""
    d = os.path.join(work, "gateway")
    os.makedirs(d, mode=0o700, exist_ok=True)
    store = os.path.join(d, "keystore.json")
    generate_keystore.keystore(k10, store, 10_000)
    ht = os.path.join(work, "htgateway")
    generate_keystore.htpasswd(ht, 10_010)
    keyfiles, pwfiles = [], []
    for i, s in enumerate(secrets):
        p = os.path.join(d, "key%d" % i)
        with open(p, "w") as f:
            f.write(s + "\n")
        keyfiles.append(p)
        q = os.path.join(d, "pw%d" % i)
        with open(q, "w") as f:
            f.write("pw%d\n" % (10_000 + i))
        pwfiles.append(q)
    time.sleep(2.2)
    st0 = os.stat(store)
    written0 = os.path.getsize(store + ".usage") if os.path.exists(store + ".usage") else 0
    rewrites, last = 0, (st0.st_ino, st0.st_mtime_ns)
    kt, ht_times, true_times = [], [], []
    end = time.monotonic() + LOOP_SECONDS
    i = 0
    while time.monotonic() < end:
        t, _, code = run([keyctl, "--keystore", store, "verify"], keyfiles[i % 10])
        if code != 0:
            sys.exit("benchmark: gateway verify failed (%d)" % code)
        kt.append(t)
        t, _, code = run([htpasswd, "-vi", ht, "user%d" % (10_000 + i % 10)], pwfiles[i % 10])
        if code != 0:
            sys.exit("benchmark: gateway htpasswd failed (%d)" % code)
        ht_times.append(t)
        t, _, code = run([true], keyfiles[i % 10])
        if code != 0:
            sys.exit("benchmark: gateway /bin/true failed (%d)" % code)
        true_times.append(t)
        st = os.stat(store)
        if (st.st_ino, st.st_mtime_ns) != last:
            rewrites += 1
            last = (st.st_ino, st.st_mtime_ns)
        i += 1
    usage = (os.path.getsize(store + ".usage") if os.path.exists(store + ".usage") else 0) - written0
    p50 = statistics.median(kt)
    label = "gateway loop %.0f s, %d verifies" % (LOOP_SECONDS, len(kt))
    record(label, "keystore rewrites by verify", rewrites, "0", "")
    record(label, "bytes appended to PATH.usage", usage, "a few hundred per stamp", "bytes", note="%d stamps" % (usage // 32))
    def tail(times):
        return p99(times) / statistics.median(times)
    record(label, "p99 / median", tail(kt), "<= 1.5",
           note="p50 %.2f ms, p99 %.2f ms; p99 / median in the same loop: htpasswd -vi %.2f, /bin/true %.2f"
           % (p50 * 1000, p99(kt) * 1000, tail(ht_times), tail(true_times)))
    record(label, "median / htpasswd -vi's median", p50 / statistics.median(ht_times), "<= 1.0",
           note="htpasswd p50 %.2f ms" % (statistics.median(ht_times) * 1000))


if __name__ == "__main__":
    main()
