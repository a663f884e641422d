/* The least any write of a keyctl keystore must cost by SPEC sections 3 and 7, as a
 * baseline for Tests/Benchmarks/bench.py: with LOG, append one audit-sized line to it
 * and flush it (section 7: the entry is on disk before the keystore that records it);
 * then read the whole keystore, write it as a new file beside it, flush that to disk,
 * rename it over the old one, flush the directory (section 3).
 *
 *     durable_copy FILE [LOG]
 *
 * No locking, parsing, checking or change: a write of keyctl's can only cost more. The
 * ratio of this to `htpasswd -sb` (which rewrites its file without any flush) is the
 * part of a write's ratio that durability alone accounts for.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what) {
    perror(what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: durable_copy FILE [LOG]\n");
        return 2;
    }
    const char *path = argv[1];
    if (argc == 3) {
        char line[320];
        memset(line, 'x', sizeof line - 1);
        line[sizeof line - 1] = '\n';
        int log = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (log < 0) return fail("open log");
        if (write(log, line, sizeof line) != (ssize_t)sizeof line) return fail("write log");
        if (fsync(log) != 0) return fail("fsync log");
        close(log);
    }
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) return fail("open");
    struct stat st;
    if (fstat(in, &st) != 0) return fail("fstat");
    size_t size = (size_t)st.st_size;
    void *bytes = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, in, 0) : NULL;
    if (size && bytes == MAP_FAILED) return fail("mmap");

    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.durable-copy.%d", path, (int)getpid());
    int out = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return fail("open temporary");
    for (size_t done = 0; done < size;) {
        ssize_t n = write(out, (const char *)bytes + done, size - done);
        if (n <= 0) return fail("write");
        done += (size_t)n;
    }
    if (fsync(out) != 0) return fail("fsync");
    if (close(out) != 0) return fail("close");
    if (rename(temporary, path) != 0) return fail("rename");

    char directory[4096];
    snprintf(directory, sizeof directory, "%s", path);
    int dir = open(dirname(directory), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return fail("open directory");
    if (fsync(dir) != 0) return fail("fsync directory");
    close(dir);
    if (size) munmap(bytes, size);
    close(in);
    return 0;
}
