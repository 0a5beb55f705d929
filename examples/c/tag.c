/*
 * tag: tag transcripts read from stdin, one per line, and print their spans and the
 * redacted line.
 *
 *   usage: tag MODEL_DIR [--min-score X] [--all]
 *
 *   $ echo "my number is nine eight seven" | ./build/tag ../../tests/fixtures/tiny
 *   line 1: 1 span
 *     13..29  PHONE  0.998  pii=yes  "nine eight seven"
 *     redacted: my number is [PHONE]
 *
 * --min-score X  drop spans whose score is below X (0..1)
 * --all          also redact non-PII spans (CITY, LOCATION)
 *
 * Exit status: 0 all lines tagged, 1 some line failed (e.g. invalid UTF-8; the others are
 * still printed), 2 usage error, 3 the model could not be loaded, 4 out of memory / read error.
 *
 * Buffers start small and grow to the size that pii_tag / pii_redact report with
 * PII_ERR_BUFFER_TOO_SMALL, which is the pattern callers should copy.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"

static void usage(FILE *f) {
    fprintf(f, "usage: tag MODEL_DIR [--min-score X] [--all]\n"
               "Reads transcripts from stdin, one per line; prints spans and the redacted line.\n");
}

/* Growable buffers reused across lines. */
struct buffers {
    pii_span *spans;
    size_t spans_cap;
    char *out;
    size_t out_cap;
};

static pii_status oom(pii_error *err) {
    err->status = PII_ERR_INTERNAL;
    snprintf(err->message, sizeof err->message, "out of memory");
    return PII_ERR_INTERNAL;
}

/* Tag `text`, growing b->spans as needed. Returns the status; *n receives the count. */
static pii_status tag_line(const pii_model *m, const char *text, size_t len, struct buffers *b, size_t *n,
                           pii_error *err) {
    for (;;) {
        pii_status st = pii_tag(m, text, len, b->spans, b->spans_cap, n, err);
        if (st != PII_ERR_BUFFER_TOO_SMALL)
            return st;
        /* *n holds the count needed. */
        pii_span *grown = realloc(b->spans, *n * sizeof *grown);
        if (grown == NULL)
            return oom(err);
        b->spans = grown;
        b->spans_cap = *n;
    }
}

/* Redact `text` into b->out, growing it as needed. */
static pii_status redact_line(const pii_model *m, const char *text, size_t len, uint32_t flags,
                              struct buffers *b, size_t *out_len, pii_error *err) {
    for (;;) {
        pii_status st = pii_redact(m, text, len, flags, b->out, b->out_cap, out_len, err);
        if (st != PII_ERR_BUFFER_TOO_SMALL)
            return st;
        /* *out_len holds the capacity needed, NUL included. */
        char *grown = realloc(b->out, *out_len);
        if (grown == NULL)
            return oom(err);
        b->out = grown;
        b->out_cap = *out_len;
    }
}

int main(int argc, char **argv) {
    if (!pii_version_compatible()) {
        fprintf(stderr, "tag: libpii %s cannot serve a program built with pii.h %d.%d.%d\n", pii_version(),
                PII_VERSION_MAJOR, PII_VERSION_MINOR, PII_VERSION_PATCH);
        return 3;
    }
    const char *model_dir = NULL;
    pii_options opts = pii_default_options();
    uint32_t flags = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--min-score") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            double v = strtod(argv[++i], &end);
            if (errno != 0 || end == argv[i] || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
                fprintf(stderr, "tag: --min-score needs a number in 0..1, got '%s'\n", argv[i]);
                return 2;
            }
            opts.min_score = (float)v;
        } else if (strcmp(argv[i], "--all") == 0) {
            flags |= PII_REDACT_NON_PII;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || model_dir != NULL) {
            fprintf(stderr, "tag: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            model_dir = argv[i];
        }
    }
    if (model_dir == NULL) {
        usage(stderr);
        return 2;
    }

    pii_error err;
    pii_model *model = NULL;
    pii_status st = pii_load(model_dir, &opts, &model, &err);
    if (st != PII_OK) {
        fprintf(stderr, "tag: cannot load model: %s (%s)\n", err.message, pii_status_str((int32_t)st));
        return 3;
    }

    struct buffers b = {NULL, 0, NULL, 0};
    /* Small start sizes on purpose: the grow path runs on ordinary input. */
    b.spans_cap = 2;
    b.spans = malloc(b.spans_cap * sizeof *b.spans);
    b.out_cap = 16;
    b.out = malloc(b.out_cap);
    if (b.spans == NULL || b.out == NULL) {
        fprintf(stderr, "tag: out of memory\n");
        pii_free(model);
        return 4;
    }

    int rc = 0;
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    while ((got = getline(&line, &line_cap, stdin)) != -1) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;

        size_t n = 0;
        st = tag_line(model, line, len, &b, &n, &err);
        if (st != PII_OK) {
            /* The message never contains the transcript; say which line failed. */
            fprintf(stderr, "tag: line %lu: %s\n", lineno, err.message);
            rc = 1;
            continue;
        }
        printf("line %lu: %zu span%s\n", lineno, n, n == 1 ? "" : "s");
        for (size_t i = 0; i < n; i++) {
            const pii_span *s = &b.spans[i];
            const char *label = pii_label_name(model, s->label);
            printf("  %zu..%zu  %s  %.3f  pii=%s  \"%.*s\"\n", s->start, s->end, label ? label : "?",
                   (double)s->score, s->is_pii ? "yes" : "no", (int)(s->end - s->start), line + s->start);
        }

        size_t out_len = 0;
        st = redact_line(model, line, len, flags, &b, &out_len, &err);
        if (st != PII_OK) {
            fprintf(stderr, "tag: line %lu: redact: %s\n", lineno, err.message);
            rc = 1;
            continue;
        }
        printf("  redacted: %s\n", b.out);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "tag: reading stdin: %s\n", strerror(errno));
        rc = 4;
    }

    free(line);
    free(b.spans);
    free(b.out);
    pii_free(model);
    return rc;
}
