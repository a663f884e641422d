/*
 * Helpers for Tests/Benchmarks/run (not part of keyctl).
 *
 *   benchhelp redirect FILE PROG [ARGS...]
 *       open FILE as standard input and exec PROG: feeds a key to `keyctl verify`
 *       on stdin under `hyperfine -N` (hyperfine < 1.16 has no --input).
 *       Its own cost is measured as `benchhelp redirect FILE /bin/true` minus /bin/true.
 *
 *   benchhelp durable FILE [nosync]
 *       the durable write keyctl does, with nothing else: read FILE, write its bytes to
 *       FILE.tmp (O_EXCL, 0600), fsync it, rename it over FILE, fsync the directory.
 *       With "nosync" the two fsyncs are left out; durable - nosync = cost of the fsyncs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(70); }

static int redirect(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: benchhelp redirect FILE PROG [ARGS...]\n"); return 64; }
    int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(argv[2]);
    if (dup2(fd, 0) < 0) die("dup2");
    execv(argv[3], argv + 3);
    die(argv[3]);
    return 70;
}

static int durable(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: benchhelp durable FILE [nosync]\n"); return 64; }
    const char *path = argv[2];
    int sync = !(argc > 3 && strcmp(argv[3], "nosync") == 0);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) die(path);
    struct stat st;
    if (fstat(in, &st) < 0) die("fstat");
    char *buf = malloc(st.st_size ? st.st_size : 1);
    if (!buf) die("malloc");
    ssize_t got = 0;
    while (got < st.st_size) {
        ssize_t n = read(in, buf + got, st.st_size - got);
        if (n < 0) { if (errno == EINTR) continue; die("read"); }
        if (n == 0) break;
        got += n;
    }
    close(in);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) die(tmp);
    ssize_t put = 0;
    while (put < got) {
        ssize_t n = write(out, buf + put, got - put);
        if (n < 0) { if (errno == EINTR) continue; die("write"); }
        put += n;
    }
    if (sync && fsync(out) < 0) die("fsync");
    if (close(out) < 0) die("close");
    if (rename(tmp, path) < 0) die("rename");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    int dir = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) die("open dir");
    if (sync && fsync(dir) < 0) die("fsync dir");
    close(dir);
    free(buf);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "redirect") == 0) return redirect(argc, argv);
    if (argc > 1 && strcmp(argv[1], "durable") == 0) return durable(argc, argv);
    fprintf(stderr, "usage: benchhelp redirect FILE PROG [ARGS...] | durable FILE [nosync]\n");
    return 64;
}
