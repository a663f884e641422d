/* Round trips through a `keyctl verify --batch` co-process made the way Apache httpd's
 * mod_rewrite makes them for a RewriteMap prg: (lookup_map_program): writev(2) of the
 * key and "\n", then the answer read one byte per read(2) up to the newline (the
 * program's pipes are unbuffered APR files). Used by Tests/Benchmarks/batch.
 *
 *   apache_client TRIPS WRITE_FD READ_FD LINE...
 *
 * Sends the LINEs in turn, checks that every answer is its line's valid answer, and
 * prints the median and the 99th percentile of the round trip in microseconds.
 *
 *   apache_client --answer BODY
 *
 * The floor to compare with: a co-process that does no work at all, answering each
 * line of its standard input at once with `{"line":N,` and BODY (keyctl's answer, so
 * the same bytes for the client to read) in one write(2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int answer_at_once(const char *body) {
    static char input[65536], answer[8192];
    long line = 0;
    ssize_t got;
    while ((got = read(0, input, sizeof input)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (input[i] != '\n') continue;
            int n = snprintf(answer, sizeof answer, "{\"line\":%ld,%s\n", ++line, body);
            if (n < 0 || n >= (int)sizeof answer || write(1, answer, (size_t)n) != n) return 1;
        }
    }
    return got < 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--answer") == 0) return answer_at_once(argv[2]);
    if (argc < 5) {
        fprintf(stderr, "usage: apache_client TRIPS WRITE_FD READ_FD LINE...\n");
        return 2;
    }
    int trips = atoi(argv[1]), out = atoi(argv[2]), in = atoi(argv[3]), lines = argc - 4;
    double *took = malloc(sizeof(double) * (size_t)trips);
    char answer[8192], expected[64];
    if (trips < 1 || !took) return 2;
    for (int i = 0; i < trips; i++) {
        char *line = argv[4 + i % lines];
        struct iovec iov[2] = {{line, strlen(line)}, {"\n", 1}};
        struct timespec start, end;
        size_t n = 0;
        char c;
        clock_gettime(CLOCK_MONOTONIC, &start);
        if (writev(out, iov, 2) != (ssize_t)(iov[0].iov_len + 1)) {
            perror("writev");
            return 1;
        }
        for (;;) {
            if (read(in, &c, 1) != 1) {
                fprintf(stderr, "trip %d: the co-process ended\n", i);
                return 1;
            }
            if (c == '\n') break;
            if (n < sizeof answer - 1) answer[n++] = c;
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        answer[n] = 0;
        snprintf(expected, sizeof expected, "{\"line\":%d,\"valid\":true,", i + 1);
        if (strncmp(answer, expected, strlen(expected)) != 0) {
            fprintf(stderr, "trip %d: %s\n", i, answer);
            return 1;
        }
        took[i] = (double)(end.tv_sec - start.tv_sec) * 1e6 + (double)(end.tv_nsec - start.tv_nsec) / 1e3;
    }
    qsort(took, (size_t)trips, sizeof(double), ascending);
    printf("%.1f %.1f\n", took[trips / 2], took[(int)(trips * 0.99)]);
    return 0;
}
