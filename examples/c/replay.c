/* replay: feed a file of timed speech-engine events through a pii stream and print what is
 * released when, then each final word's hold-back latency.
 *
 *   usage: replay MODEL_DIR EVENTS_FILE [--style label|mask|last4|pseudonym]
 *
 * Event format (one event per line, UTF-8):
 *
 *   <ms> <P|F> <hypothesis words...>
 *
 *   ms          the event's time in milliseconds from the start of the call (non-decreasing)
 *   P | F       a partial hypothesis (replaces the previous partial) or a final one (its words
 *               are final for good); both cover the segment after the last final
 *   words       the hypothesis, space-separated (may be empty: "1200 P")
 *
 * Blank lines and lines starting with '#' are ignored. Example (events.txt beside this file):
 *
 *   0    P my card
 *   400  P my card is four two
 *   900  F my card is four two four two
 *   1300 P four two
 *   2100 F four two four two one one two three
 *
 * Output: "<ms> +<text>" for every non-empty release, then one line per final word:
 * "<index> <first seen ms> <released ms> <latency ms> <released as>", where "first seen" is the
 * first event whose hypothesis held that word position and "released as" is the word or its
 * replacement. Exit 0 on success, 1 on a bad line or a library error.
 */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"

typedef struct {
    long first_seen, released;
    char *as;
} word_t;

static word_t *words = NULL;
static size_t n_words = 0, cap_words = 0;

static void ensure(size_t n) {
    if (n <= cap_words)
        return;
    size_t c = cap_words ? cap_words : 64;
    while (c < n)
        c *= 2;
    words = realloc(words, c * sizeof *words);
    if (!words) {
        perror("realloc");
        exit(1);
    }
    for (size_t i = cap_words; i < c; i++)
        words[i] = (word_t){-1, -1, NULL};
    cap_words = c;
}

static size_t count_words(const char *s) {
    size_t n = 0;
    int in = 0;
    for (; *s; s++) {
        int sp = *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n';
        if (!sp && !in)
            n++;
        in = !sp;
    }
    return n;
}

static void record(const pii_release *r, long ms) {
    if (r->len > 0)
        printf("%ld +%s\n", ms, r->text);
    for (size_t i = 0; i < r->n_words; i++) {
        const pii_released_word *w = &r->words[i];
        ensure(w->index + 1);
        words[w->index].released = ms;
        words[w->index].as = strndup(r->text + w->start, w->end - w->start);
        if (w->index + 1 > n_words)
            n_words = w->index + 1;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR EVENTS_FILE [--style label|mask|last4|pseudonym]\n", argv[0]);
        return 1;
    }
    pii_stream_options o = pii_stream_default_options();
    if (argc >= 5 && strcmp(argv[3], "--style") == 0) {
        const char *s = argv[4];
        o.redaction.style = !strcmp(s, "mask")        ? PII_STYLE_MASK
                            : !strcmp(s, "last4")     ? PII_STYLE_KEEP_LAST_FOUR
                            : !strcmp(s, "pseudonym") ? PII_STYLE_PSEUDONYM
                                                      : PII_STYLE_LABEL;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    pii_error err;
    pii_model *m = NULL;
    if (pii_load(argv[1], NULL, &m, &err) != PII_OK) {
        fprintf(stderr, "load: %s\n", err.message);
        return 1;
    }
    pii_stream *s = NULL;
    if (pii_stream_new(m, &o, &s, &err) != PII_OK) {
        fprintf(stderr, "stream: %s\n", err.message);
        pii_free(m);
        return 1;
    }
    char line[65536];
    size_t finals = 0, lineno = 0;
    long ms = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        char *end;
        long t = strtol(p, &end, 10);
        char *kind = end;
        while (*kind == ' ' || *kind == '\t')
            kind++;
        if (end == p || kind == end || (*kind != 'P' && *kind != 'F') || (kind[1] != ' ' && kind[1] != '\n' && kind[1] != '\0') || t < ms) {
            fprintf(stderr, "line %zu: expected \"<ms> <P|F> words\" with non-decreasing ms\n", lineno);
            rc = 1;
            break;
        }
        ms = t;
        int is_final = *kind == 'F';
        const char *hyp = kind[1] == ' ' ? kind + 2 : kind + 1;
        size_t n = count_words(hyp);
        ensure(finals + n);
        for (size_t k = 0; k < n; k++)
            if (words[finals + k].first_seen < 0)
                words[finals + k].first_seen = ms;
        const pii_release *r = NULL;
        size_t len = strlen(hyp);
        while (len > 0 && (hyp[len - 1] == '\n' || hyp[len - 1] == '\r'))
            len--;
        if (pii_stream_push(s, hyp, len, is_final, &r, &err) != PII_OK) {
            fprintf(stderr, "line %zu: %s\n", lineno, err.message);
            rc = 1;
            break;
        }
        record(r, ms);
        if (is_final)
            finals += n;
        else
            for (size_t k = n; finals + k < cap_words && words[finals + k].released < 0; k++)
                words[finals + k].first_seen = -1; /* a retracted partial word was not seen yet */
    }
    fclose(f);
    if (rc == 0) {
        const pii_release *r = NULL;
        if (pii_stream_finish(s, &r, &err) != PII_OK) {
            fprintf(stderr, "finish: %s\n", err.message);
            rc = 1;
        } else {
            record(r, ms);
            printf("# index first_seen_ms released_ms latency_ms released_as\n");
            for (size_t i = 0; i < n_words; i++)
                printf("%zu %ld %ld %ld %s\n", i, words[i].first_seen, words[i].released,
                       words[i].released - words[i].first_seen, words[i].as ? words[i].as : "");
        }
    }
    for (size_t i = 0; i < cap_words; i++)
        free(words[i].as);
    free(words);
    pii_stream_free(s);
    pii_free(m);
    return rc;
}
