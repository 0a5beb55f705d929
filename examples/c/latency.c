/*
 * latency: end-to-end pii_tag latency, one call at a time on one thread.
 *
 *   usage: latency MODEL_DIR TEXT_FILE [--runs N] [--warmup N] [--start K] [--raw OUT_FILE]
 *
 * TEXT_FILE holds one utterance per line (empty lines are skipped). Calls start at utterance K
 * (0-based, default 0) and take the next utterance each time, cycling over the file: N warm-up
 * calls, then the timed ones, each timed with CLOCK_MONOTONIC around pii_tag: tokenization,
 * inference and decoding, as a caller sees it. With --raw, the timed calls' milliseconds are
 * written to OUT_FILE, one per line in call order (benches/compare.sh pools them over runs).
 * The model is loaded with max_sessions = 1 (ONNX Runtime runs each session on one thread).
 *
 * The last line is machine-readable:
 *   p50_ms=<x> p95_ms=<y> p99_ms=<z> mean_ms=<w> n=<runs>
 *
 * Exit status: 0 ok, 2 usage, 3 load error, 4 file error, 1 a pii_tag call failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pii.h"

static void usage(FILE *f) {
    fprintf(f, "usage: latency MODEL_DIR TEXT_FILE [--runs N] [--warmup N] [--start K] [--raw OUT_FILE]\n"
               "Times pii_tag per call over the file's lines (defaults: --runs 1000 --warmup 50 --start 0);\n"
               "--raw writes each timed call's milliseconds to OUT_FILE, one per line.\n");
}

static int parse_count(const char *s, long min, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min)
        return -1;
    *out = v;
    return 0;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n]. */
static double percentile(const double *v, size_t n, double q) {
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

struct line {
    char *text;
    size_t len;
};

int main(int argc, char **argv) {
    const char *model_dir = NULL, *text_file = NULL, *raw_file = NULL;
    long runs = 1000, warmup = 50, start = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 1, &runs) != 0) {
                fprintf(stderr, "latency: --runs needs a positive integer\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 0, &warmup) != 0) {
                fprintf(stderr, "latency: --warmup needs a non-negative integer\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], 0, &start) != 0) {
                fprintf(stderr, "latency: --start needs a non-negative integer\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--raw") == 0 && i + 1 < argc) {
            raw_file = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "latency: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (model_dir == NULL) {
            model_dir = argv[i];
        } else if (text_file == NULL) {
            text_file = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (model_dir == NULL || text_file == NULL) {
        usage(stderr);
        return 2;
    }

    /* Read the utterances. */
    FILE *f = fopen(text_file, "r");
    if (f == NULL) {
        fprintf(stderr, "latency: cannot open %s: %s\n", text_file, strerror(errno));
        return 4;
    }
    struct line *lines = NULL;
    size_t nlines = 0, lines_cap = 0;
    char *buf = NULL;
    size_t buf_cap = 0;
    ssize_t got;
    while ((got = getline(&buf, &buf_cap, f)) != -1) {
        size_t len = (size_t)got;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (nlines == lines_cap) {
            lines_cap = lines_cap ? 2 * lines_cap : 64;
            struct line *grown = realloc(lines, lines_cap * sizeof *grown);
            if (grown == NULL) {
                fprintf(stderr, "latency: out of memory\n");
                return 4;
            }
            lines = grown;
        }
        lines[nlines].text = malloc(len);
        if (lines[nlines].text == NULL) {
            fprintf(stderr, "latency: out of memory\n");
            return 4;
        }
        memcpy(lines[nlines].text, buf, len);
        lines[nlines].len = len;
        nlines++;
    }
    free(buf);
    fclose(f);
    if (nlines == 0) {
        fprintf(stderr, "latency: %s has no utterances\n", text_file);
        return 4;
    }

    pii_options opts = pii_default_options();
    opts.max_sessions = 1;
    pii_error err;
    pii_model *model = NULL;
    double t0 = now_ms();
    pii_status st = pii_load(model_dir, &opts, &model, &err);
    double load_ms = now_ms() - t0;
    if (st != PII_OK) {
        fprintf(stderr, "latency: cannot load model: %s (%s)\n", err.message, pii_status_str((int32_t)st));
        return 3;
    }

    const char *ort = pii_onnxruntime_version();
    printf("pii %s, onnxruntime %s, threads = 1\n", pii_version(), ort ? ort : "?");
    printf("model: %s (loaded in %.1f ms)\n", model_dir, load_ms);
    printf("utterances: %zu from %s; start %ld, warmup %ld, runs %ld\n", nlines, text_file, start, warmup, runs);

    size_t cap = 64, n = 0;
    pii_span *spans = malloc(cap * sizeof *spans);
    double *ms = malloc((size_t)runs * sizeof *ms);
    if (spans == NULL || ms == NULL) {
        fprintf(stderr, "latency: out of memory\n");
        return 4;
    }

    int rc = 0;
    size_t next = (size_t)start % nlines, total_spans = 0;
    for (long i = 0; i < warmup + runs && rc == 0; i++) {
        const struct line *l = &lines[next];
        next = (next + 1) % nlines;
        double start = now_ms();
        st = pii_tag(model, l->text, l->len, spans, cap, &n, &err);
        while (st == PII_ERR_BUFFER_TOO_SMALL) {
            pii_span *grown = realloc(spans, n * sizeof *grown);
            if (grown == NULL) {
                fprintf(stderr, "latency: out of memory\n");
                return 4;
            }
            spans = grown;
            cap = n;
            st = pii_tag(model, l->text, l->len, spans, cap, &n, &err);
        }
        double elapsed = now_ms() - start;
        if (st != PII_OK) {
            fprintf(stderr, "latency: pii_tag failed on line %zu: %s\n", (size_t)(l - lines) + 1, err.message);
            rc = 1;
            break;
        }
        if (i >= warmup) {
            ms[i - warmup] = elapsed;
            total_spans += n;
        }
    }

    if (rc == 0 && raw_file != NULL) {
        FILE *out = fopen(raw_file, "w");
        if (out == NULL) {
            fprintf(stderr, "latency: cannot write %s: %s\n", raw_file, strerror(errno));
            rc = 4;
        } else {
            for (long i = 0; i < runs; i++)
                fprintf(out, "%.6f\n", ms[i]);
            if (fclose(out) != 0) {
                fprintf(stderr, "latency: cannot write %s: %s\n", raw_file, strerror(errno));
                rc = 4;
            }
        }
    }

    if (rc == 0) {
        double sum = 0;
        for (long i = 0; i < runs; i++)
            sum += ms[i];
        qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
        printf("spans per call: %.2f; min %.3f ms, max %.3f ms\n", (double)total_spans / (double)runs, ms[0],
               ms[runs - 1]);
        printf("p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f mean_ms=%.3f n=%ld\n", percentile(ms, (size_t)runs, 0.50),
               percentile(ms, (size_t)runs, 0.95), percentile(ms, (size_t)runs, 0.99), sum / (double)runs, runs);
    }

    for (size_t i = 0; i < nlines; i++)
        free(lines[i].text);
    free(lines);
    free(spans);
    free(ms);
    pii_free(model);
    return rc;
}
