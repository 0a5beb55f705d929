/*
 * test_capi: tests of the C ABI in pii.h, run against the tiny fixture model.
 *
 *   usage: test_capi MODEL_DIR [--quick]   (MODEL_DIR normally ../../tests/fixtures/tiny)
 *
 * --quick runs fewer repetitions in the long-input and thread tests (for valgrind, where
 * every ONNX Runtime call is ~60 times slower); every check still runs.
 *
 * The fixture tags spoken digits (zero/oh/one..nine/double/triple and digit tokens) as PHONE,
 * "priya"/"rahul"/"john" + "sharma"/"smith" as PERSON_NAME and "delhi"/"mumbai" as CITY
 * (non-PII); everything else is O. Its max_length is 16, so long inputs run in windows.
 *
 * Expected offsets are computed with strstr on the input, never written as numbers.
 * The last line is "N passed, M failed"; the exit status is nonzero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"

static int passed, failed;

static void check_impl(int ok, int line, const char *expr, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL line %d: %s  [%s]\n", line, what, expr);
    }
}
#define CHECK(cond, what) check_impl((cond) ? 1 : 0, __LINE__, #cond, (what))

/* A status check that prints the message of an unexpected failure. */
#define CHECK_STATUS(got, want, err, what)                                                        \
    do {                                                                                          \
        pii_status got_ = (got);                                                                  \
        CHECK(got_ == (want), (what));                                                            \
        if (got_ != (want))                                                                       \
            printf("    got %d (%s), want %d; message: %s\n", (int)got_, pii_status_str((int32_t)got_), \
                   (int)(want), (err).message);                                                   \
    } while (0)

static const char *fixture_dir;
static uint32_t PHONE = UINT32_MAX, PERSON = UINT32_MAX, CITY = UINT32_MAX;

static size_t offset_of(const char *hay, const char *needle) {
    const char *p = strstr(hay, needle);
    return p ? (size_t)(p - hay) : SIZE_MAX;
}

/* Offset of `needle` in hay[0..len], which may hold NUL bytes. */
static size_t mem_offset(const char *hay, size_t len, const char *needle) {
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return i;
    return SIZE_MAX;
}

/* Tag into a freshly allocated array (grown on PII_ERR_BUFFER_TOO_SMALL). */
static pii_status tag_alloc(const pii_model *m, const char *text, size_t len, pii_span **out, size_t *n,
                            pii_error *err) {
    size_t cap = 1;
    pii_span *spans = malloc(cap * sizeof *spans);
    pii_status st;
    while ((st = pii_tag(m, text, len, spans, cap, n, err)) == PII_ERR_BUFFER_TOO_SMALL) {
        cap = *n;
        pii_span *grown = realloc(spans, cap * sizeof *grown);
        if (grown == NULL) {
            free(spans);
            return PII_ERR_INTERNAL;
        }
        spans = grown;
    }
    if (st != PII_OK) {
        free(spans);
        spans = NULL;
    }
    *out = spans;
    return st;
}

static int span_is(const pii_span *s, size_t start, size_t end, uint32_t label) {
    return s->start == start && s->end == end && s->label == label;
}

static void print_spans(const pii_model *m, const char *text, const pii_span *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        printf("    span %zu..%zu %s %.3f \"%.*s\"\n", s[i].start, s[i].end, pii_label_name(m, s[i].label),
               (double)s[i].score, (int)(s[i].end - s[i].start), text + s[i].start);
}

/* ---------------------------------------------------------------- static functions */

static void test_static(void) {
    /* Before any successful load there is no ONNX Runtime. */
    CHECK(pii_onnxruntime_version() == NULL, "onnxruntime version is NULL before the first load");

    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", PII_VERSION_MAJOR, PII_VERSION_MINOR, PII_VERSION_PATCH);
    CHECK(pii_version() != NULL && strcmp(pii_version(), want) == 0, "version macros == pii_version()");

    for (int32_t code = PII_OK; code <= PII_ERR_INTERNAL; code++) {
        const char *s = pii_status_str(code);
        CHECK(s != NULL && s[0] != '\0' && strcmp(s, "unknown status") != 0, "status string for a known code");
        for (int32_t other = PII_OK; other < code; other++)
            CHECK(strcmp(s, pii_status_str(other)) != 0, "status strings are distinct");
    }
    CHECK(strcmp(pii_status_str(PII_ERR_INVALID_UTF8), "invalid UTF-8") == 0, "status string text");
    const int32_t unknown[] = {-1, PII_ERR_INTERNAL + 1, 9999, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = pii_status_str(unknown[i]);
        CHECK(s != NULL && strcmp(s, "unknown status") == 0, "unknown status code");
    }

    pii_options o = pii_default_options();
    CHECK(o.ort_library == NULL && o.model_file == NULL, "default options: NULL paths");
    CHECK(o.min_score == 0.0f && o.max_sessions == 0, "default options: min_score 0, max_sessions 0");
}

/* Every function with NULL where a pointer is expected (no model needed). */
static void test_null_no_model(void) {
    pii_error err;
    pii_span spans[4];
    size_t n = 12345;
    char out[64];
    pii_model *sentinel = (pii_model *)(void *)&n; /* never dereferenced */
    pii_model *m = sentinel;

    pii_free(NULL);
    CHECK(1, "pii_free(NULL) returns");
    CHECK(pii_label_count(NULL) == 0, "pii_label_count(NULL) == 0");
    CHECK(pii_label_name(NULL, 0) == NULL, "pii_label_name(NULL, 0) == NULL");
    CHECK(pii_label_name(NULL, UINT32_MAX) == NULL, "pii_label_name(NULL, max) == NULL");
    CHECK(!pii_label_is_pii(NULL, 0), "pii_label_is_pii(NULL, 0) == false");

    CHECK_STATUS(pii_load(NULL, NULL, &m, &err), PII_ERR_NULL_ARGUMENT, err, "pii_load(NULL dir)");
    CHECK(err.status == PII_ERR_NULL_ARGUMENT && err.message[0] != '\0', "error struct filled");
    CHECK(strstr(err.message, "model_dir") != NULL, "message names the NULL argument");
    CHECK(m == sentinel, "out untouched on failure");
    CHECK_STATUS(pii_load(fixture_dir, NULL, NULL, &err), PII_ERR_NULL_ARGUMENT, err, "pii_load(NULL out)");
    CHECK(pii_load(NULL, NULL, NULL, NULL) == PII_ERR_NULL_ARGUMENT, "pii_load(all NULL), err NULL");

    CHECK_STATUS(pii_tag(NULL, "abc", 3, spans, 4, &n, &err), PII_ERR_NULL_ARGUMENT, err, "pii_tag(NULL model)");
    CHECK(n == 12345, "n untouched on NULL model");
    CHECK(pii_tag(NULL, NULL, 0, NULL, 0, NULL, NULL) == PII_ERR_NULL_ARGUMENT, "pii_tag(all NULL)");
    CHECK_STATUS(pii_redact(NULL, "abc", 3, 0, out, sizeof out, &n, &err), PII_ERR_NULL_ARGUMENT, err,
                 "pii_redact(NULL model)");
    CHECK(pii_redact(NULL, NULL, 0, 0, NULL, 0, NULL, NULL) == PII_ERR_NULL_ARGUMENT, "pii_redact(all NULL)");
}

/* ---------------------------------------------------------------- loading */

static void test_load_errors(void) {
    pii_error err;
    pii_model *sentinel = (pii_model *)(void *)&err;
    pii_model *m = sentinel;

    const char *missing = "/nonexistent/pii-model-dir";
    CHECK_STATUS(pii_load(missing, NULL, &m, &err), PII_ERR_IO, err, "missing model dir gives PII_ERR_IO");
    CHECK(err.status == PII_ERR_IO, "err.status == PII_ERR_IO");
    CHECK(strstr(err.message, missing) != NULL, "message names the path");
    CHECK(m == sentinel, "out untouched on failure");

    /* A directory without a manifest. */
    CHECK_STATUS(pii_load("/", NULL, &m, &err), PII_ERR_IO, err, "dir without manifest");
    CHECK(strstr(err.message, "pii_model.json") != NULL, "message names the manifest");

    /* A non-UTF-8 path. */
    CHECK_STATUS(pii_load("/tmp/\xff\xfe", NULL, &m, &err), PII_ERR_INVALID_ARGUMENT, err, "non-UTF-8 path");

    pii_options o = pii_default_options();
    o.min_score = 1.5f;
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_INVALID_ARGUMENT, err, "min_score 1.5 rejected");
    o.min_score = -0.1f;
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_INVALID_ARGUMENT, err, "min_score -0.1 rejected");
    o.min_score = NAN;
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_INVALID_ARGUMENT, err, "min_score NaN rejected");

    /* Before the first successful load: a named ONNX Runtime that does not exist. */
    o = pii_default_options();
    const char *bad_ort = "/nonexistent/libonnxruntime.so.1";
    o.ort_library = bad_ort;
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_RUNTIME, err, "missing ort_library");
    CHECK(strstr(err.message, bad_ort) != NULL, "runtime message names the library path");
    CHECK(pii_onnxruntime_version() == NULL, "still no runtime after a failed runtime load");
    CHECK(m == sentinel, "out untouched on failure");

    o = pii_default_options();
    o.model_file = "nope.onnx";
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_IO, err, "missing model_file");
    CHECK(strstr(err.message, "nope.onnx") != NULL, "message names the model file");
    o.model_file = "../tiny/model.onnx";
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_ERR_INVALID_ARGUMENT, err, "model_file with a slash");
    CHECK(m == sentinel, "out untouched on failure");

    /* The library loaded the runtime during the model_file attempts. */
    const char *v = pii_onnxruntime_version();
    CHECK(v != NULL && strncmp(v, "1.", 2) == 0, "onnxruntime version after load");

    /* Explicit model_file naming the manifest's file works and is freed. */
    o.model_file = "model.onnx";
    m = NULL;
    CHECK_STATUS(pii_load(fixture_dir, &o, &m, &err), PII_OK, err, "explicit model_file");
    CHECK(m != NULL && err.status == PII_OK && err.message[0] == '\0', "success clears the error");
    pii_free(m);
}

/* NULL arguments with a live model. */
static void test_null_with_model(const pii_model *m) {
    pii_error err;
    pii_span spans[4];
    size_t n = 777;
    char out[128];
    const char *text = "my number is nine eight seven";
    size_t len = strlen(text);

    CHECK_STATUS(pii_tag(m, NULL, 3, spans, 4, &n, &err), PII_ERR_NULL_ARGUMENT, err, "pii_tag(NULL text, len 3)");
    CHECK(strstr(err.message, "text") != NULL, "message names `text`");
    CHECK_STATUS(pii_tag(m, text, len, NULL, 4, &n, &err), PII_ERR_NULL_ARGUMENT, err, "pii_tag(NULL spans, cap 4)");
    CHECK_STATUS(pii_tag(m, text, len, spans, 4, NULL, &err), PII_ERR_NULL_ARGUMENT, err, "pii_tag(NULL n)");
    CHECK(n == 777, "n untouched");
    CHECK(pii_tag(m, text, len, spans, 4, &n, NULL) == PII_OK && n == 1, "pii_tag with NULL err");

    n = 777;
    CHECK_STATUS(pii_tag(m, NULL, 0, NULL, 0, &n, &err), PII_OK, err, "pii_tag(NULL text, len 0)");
    CHECK(n == 0, "no spans in no text");

    /* spans NULL with cap 0: a count query. */
    n = 0;
    CHECK_STATUS(pii_tag(m, text, len, NULL, 0, &n, &err), PII_ERR_BUFFER_TOO_SMALL, err, "count query");
    CHECK(n == 1, "count query gives the needed count");

    CHECK_STATUS(pii_redact(m, NULL, 3, 0, out, sizeof out, &n, &err), PII_ERR_NULL_ARGUMENT, err,
                 "pii_redact(NULL text)");
    CHECK_STATUS(pii_redact(m, text, len, 0, NULL, 16, &n, &err), PII_ERR_NULL_ARGUMENT, err,
                 "pii_redact(NULL out, cap 16)");
    CHECK_STATUS(pii_redact(m, text, len, 0, out, sizeof out, NULL, &err), PII_ERR_NULL_ARGUMENT, err,
                 "pii_redact(NULL out_len)");
    CHECK(pii_redact(m, text, len, 0, out, sizeof out, &n, NULL) == PII_OK, "pii_redact with NULL err");
    CHECK_STATUS(pii_redact(m, NULL, 0, 0, out, sizeof out, &n, &err), PII_OK, err, "pii_redact(NULL, 0)");
    CHECK(n == 0 && out[0] == '\0', "redact of no text is empty");
    CHECK_STATUS(pii_redact(m, text, len, 0x80, out, sizeof out, &n, &err), PII_ERR_INVALID_ARGUMENT, err,
                 "unknown redact flag");
}

static void test_labels(const pii_model *m) {
    size_t count = pii_label_count(m);
    CHECK(count >= 3, "at least PHONE, PERSON_NAME and CITY");
    for (uint32_t i = 0; i < count; i++) {
        const char *name = pii_label_name(m, i);
        CHECK(name != NULL && name[0] != '\0', "every label has a name");
        if (name == NULL)
            continue;
        if (strcmp(name, "PHONE") == 0)
            PHONE = i;
        else if (strcmp(name, "PERSON_NAME") == 0)
            PERSON = i;
        else if (strcmp(name, "CITY") == 0)
            CITY = i;
        CHECK(pii_label_name(m, i) == name, "label name pointer is stable");
    }
    CHECK(PHONE != UINT32_MAX && pii_label_is_pii(m, PHONE), "PHONE exists and is PII");
    CHECK(PERSON != UINT32_MAX && pii_label_is_pii(m, PERSON), "PERSON_NAME exists and is PII");
    CHECK(CITY != UINT32_MAX && !pii_label_is_pii(m, CITY), "CITY exists and is not PII");
    CHECK(pii_label_name(m, (uint32_t)count) == NULL, "label name out of range is NULL");
    CHECK(pii_label_name(m, UINT32_MAX) == NULL, "label name UINT32_MAX is NULL");
    CHECK(!pii_label_is_pii(m, (uint32_t)count), "is_pii out of range is false");
}

/* ---------------------------------------------------------------- text edge cases */

static void test_text_edges(const pii_model *m) {
    pii_error err;
    pii_span spans[8];
    size_t n;

    n = 99;
    CHECK_STATUS(pii_tag(m, "", 0, spans, 8, &n, &err), PII_OK, err, "empty text");
    CHECK(n == 0, "empty text has no spans");
    const char *ws = "  \t \r\n \xe2\x80\x83 "; /* includes U+2003 EM SPACE */
    n = 99;
    CHECK_STATUS(pii_tag(m, ws, strlen(ws), spans, 8, &n, &err), PII_OK, err, "whitespace-only text");
    CHECK(n == 0, "whitespace-only text has no spans");

    static const struct {
        const char *bytes;
        const char *what;
    } bad[] = {
        {"my number is \xe2\x82", "truncated multibyte at end"},
        {"\xe2\x82 nine eight", "truncated multibyte at start"},
        {"nine \xc0\xaf eight", "overlong '/'"},
        {"nine \xe0\x80\xaf eight", "overlong 3-byte"},
        {"nine \xed\xa0\x80 eight", "lone surrogate U+D800"},
        {"nine \xff eight", "0xFF byte"},
        {"nine \x80 eight", "stray continuation byte"},
        {"nine \xf4\x90\x80\x80 eight", "above U+10FFFF"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pii_span before[8];
        memset(spans, 0xAB, sizeof spans);
        memcpy(before, spans, sizeof spans);
        n = 4242;
        size_t len = strlen(bad[i].bytes);
        pii_status st = pii_tag(m, bad[i].bytes, len, spans, 8, &n, &err);
        CHECK_STATUS(st, PII_ERR_INVALID_UTF8, err, bad[i].what);
        CHECK(err.status == PII_ERR_INVALID_UTF8 && strstr(err.message, "UTF-8") != NULL, "UTF-8 error message");
        CHECK(n == 4242 && memcmp(spans, before, sizeof spans) == 0, "outputs untouched on invalid UTF-8");
        char out[64];
        memset(out, 'x', sizeof out);
        size_t out_len = 4242;
        CHECK_STATUS(pii_redact(m, bad[i].bytes, len, 0, out, sizeof out, &out_len, &err), PII_ERR_INVALID_UTF8,
                     err, "redact rejects invalid UTF-8");
        CHECK(out_len == 4242 && out[0] == 'x', "redact outputs untouched on invalid UTF-8");
    }
    /* The invalid byte lies outside `len`: the text is valid. */
    const char *tail = "nine eight\xff";
    CHECK_STATUS(pii_tag(m, tail, strlen(tail) - 1, spans, 8, &n, &err), PII_OK, err, "len excludes a bad byte");

    /* Multibyte UTF-8 before the span: offsets are bytes, not characters. */
    const char *mb = "mera naam \xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa4\xbf\xe0\xa4\xaf\xe0\xa4\xbe caf\xc3\xa9 "
                     "number nine eight seven";
    CHECK_STATUS(pii_tag(m, mb, strlen(mb), spans, 8, &n, &err), PII_OK, err, "multibyte text");
    size_t s = offset_of(mb, "nine");
    CHECK(n == 1 && span_is(&spans[0], s, strlen(mb), PHONE), "byte offsets after multibyte text");
    if (!(n == 1 && span_is(&spans[0], s, strlen(mb), PHONE)))
        print_spans(m, mb, spans, n);

    /* Embedded NUL bytes, explicit length: the text goes on after the NUL. */
    static const char nul_text[] = "hello\0 my number is nine eight seven";
    size_t nul_len = sizeof nul_text - 1;
    CHECK_STATUS(pii_tag(m, nul_text, nul_len, spans, 8, &n, &err), PII_OK, err, "embedded NUL");
    s = mem_offset(nul_text, nul_len, "nine");
    CHECK(n == 1 && span_is(&spans[0], s, nul_len, PHONE), "span after an embedded NUL");
    if (!(n == 1 && span_is(&spans[0], s, nul_len, PHONE)))
        print_spans(m, nul_text, spans, n);
    static const char nul_mid[] = "my number is nine \0 eight seven";
    CHECK_STATUS(pii_tag(m, nul_mid, sizeof nul_mid - 1, spans, 8, &n, &err), PII_OK, err, "NUL inside a span");
    for (size_t i = 0; i < n; i++)
        CHECK(spans[i].start < spans[i].end && spans[i].end <= sizeof nul_mid - 1, "spans within the text");
    char red[128];
    size_t red_len;
    CHECK_STATUS(pii_redact(m, nul_text, nul_len, 0, red, sizeof red, &red_len, &err), PII_OK, err,
                 "redact with embedded NUL");
    CHECK(red_len == mem_offset(nul_text, nul_len, "nine") + strlen("[PHONE]") && memcmp(red, nul_text, 6) == 0 &&
              memcmp(red + red_len - 7, "[PHONE]", 7) == 0 && red[red_len] == '\0',
          "redacted text keeps the NUL byte and replaces the span");

    /* An explicit len shorter than the string: text need not be NUL-terminated. */
    const char *full = "my number is nine eight seven";
    size_t cut = offset_of(full, " seven");
    CHECK_STATUS(pii_tag(m, full, cut, spans, 8, &n, &err), PII_OK, err, "len shorter than the string");
    CHECK(n == 1 && span_is(&spans[0], offset_of(full, "nine"), cut, PHONE), "span ends at len");
}

/* ---------------------------------------------------------------- buffers */

static void test_buffers(const pii_model *m) {
    pii_error err;
    const char *text = "priya sharma said my number is nine eight seven";
    size_t len = strlen(text);
    pii_span spans[4], before[4];

    memset(spans, 0x5A, sizeof spans);
    memcpy(before, spans, sizeof spans);
    size_t n = 0;
    CHECK_STATUS(pii_tag(m, text, len, spans, 1, &n, &err), PII_ERR_BUFFER_TOO_SMALL, err, "cap 1 is too small");
    CHECK(err.status == PII_ERR_BUFFER_TOO_SMALL && strstr(err.message, "2") != NULL, "message says what's needed");
    CHECK(n == 2, "needed count reported");
    CHECK(memcmp(spans, before, sizeof spans) == 0, "spans untouched on BUFFER_TOO_SMALL");
    size_t needed = n;
    CHECK_STATUS(pii_tag(m, text, len, spans, needed, &n, &err), PII_OK, err, "retry with the needed count");
    CHECK(n == 2 && span_is(&spans[0], 0, offset_of(text, " said"), PERSON) &&
              span_is(&spans[1], offset_of(text, "nine"), len, PHONE),
          "spans after retry");
    CHECK(memcmp(&spans[2], &before[2], 2 * sizeof spans[0]) == 0, "nothing written past n");

    /* pii_redact sizing. */
    const char *want = "[PERSON_NAME] said my number is [PHONE]";
    size_t out_len = 0;
    CHECK_STATUS(pii_redact(m, text, len, 0, NULL, 0, &out_len, &err), PII_ERR_BUFFER_TOO_SMALL, err,
                 "redact size query");
    CHECK(out_len == strlen(want) + 1, "needed capacity includes the NUL");
    size_t cap = out_len;
    char *out = malloc(cap);
    memset(out, 'x', cap);
    CHECK_STATUS(pii_redact(m, text, len, 0, out, cap - 1, &out_len, &err), PII_ERR_BUFFER_TOO_SMALL, err,
                 "one byte short (no room for the NUL)");
    CHECK(out_len == cap, "same needed capacity");
    int untouched = 1;
    for (size_t i = 0; i < cap; i++)
        untouched &= out[i] == 'x';
    CHECK(untouched, "out untouched on BUFFER_TOO_SMALL");
    CHECK_STATUS(pii_redact(m, text, len, 0, out, cap, &out_len, &err), PII_OK, err, "exact capacity");
    CHECK(out_len == strlen(want) && strcmp(out, want) == 0, "redacted text");
    free(out);

    char big[256];
    const char *city = "priya lives in delhi";
    CHECK_STATUS(pii_redact(m, city, strlen(city), 0, big, sizeof big, &out_len, &err), PII_OK, err, "redact PII only");
    CHECK(strcmp(big, "[PERSON_NAME] lives in delhi") == 0, "non-PII CITY kept");
    CHECK_STATUS(pii_redact(m, city, strlen(city), PII_REDACT_NON_PII, big, sizeof big, &out_len, &err), PII_OK, err,
                 "redact with PII_REDACT_NON_PII");
    CHECK(strcmp(big, "[PERSON_NAME] lives in [CITY]") == 0 && out_len == strlen(big), "CITY redacted too");
    const char *none = "hello how are you";
    CHECK_STATUS(pii_redact(m, none, strlen(none), 0, big, sizeof big, &out_len, &err), PII_OK, err, "nothing to redact");
    CHECK(strcmp(big, none) == 0, "text unchanged");
}

/* ---------------------------------------------------------------- exact spans */

struct want_span {
    const char *word; /* the span's text; found with strstr after the previous span */
    uint32_t *label;
};

static void expect_spans(const pii_model *m, const char *text, const struct want_span *want, size_t nwant) {
    pii_error err;
    pii_span *spans = NULL;
    size_t n = 0;
    pii_status st = tag_alloc(m, text, strlen(text), &spans, &n, &err);
    CHECK_STATUS(st, PII_OK, err, text);
    if (st != PII_OK)
        return;
    int ok = n == nwant;
    size_t from = 0;
    for (size_t i = 0; ok && i < nwant; i++) {
        size_t s = offset_of(text + from, want[i].word) + from;
        size_t e = s + strlen(want[i].word);
        ok = span_is(&spans[i], s, e, *want[i].label) && spans[i].is_pii == pii_label_is_pii(m, *want[i].label) &&
             spans[i].score > 0.0f && spans[i].score <= 1.0f;
        from = e;
    }
    CHECK(ok, text);
    if (!ok) {
        printf("    want %zu spans, got %zu:\n", nwant, n);
        print_spans(m, text, spans, n);
    }
    free(spans);
}

static void test_exact_spans(const pii_model *m) {
    {
        /* The example of the brief: one PHONE span at bytes 13..29. */
        const char *text = "my number is nine eight seven";
        pii_span spans[4];
        size_t n = 0;
        pii_error err;
        CHECK_STATUS(pii_tag(m, text, strlen(text), spans, 4, &n, &err), PII_OK, err, "tag phone");
        size_t s = offset_of(text, "nine eight seven");
        CHECK(n == 1 && span_is(&spans[0], s, s + strlen("nine eight seven"), PHONE) && spans[0].is_pii,
              "one PHONE span over 'nine eight seven'");
        CHECK(n == 1 && spans[0].start == 13 && spans[0].end == 29, "that is bytes 13..29");
    }
    struct want_span w1[] = {{"priya sharma", &PERSON}, {"delhi", &CITY}};
    expect_spans(m, "priya sharma lives in delhi", w1, 2);
    struct want_span w2[] = {{"john smith", &PERSON}, {"nine eight double seven oh one", &PHONE}};
    expect_spans(m, "hi this is john smith call me on nine eight double seven oh one", w2, 2);
    struct want_span w3[] = {{"rahul", &PERSON}, {"mumbai", &CITY}, {"9876543210", &PHONE}};
    expect_spans(m, "rahul from mumbai   9876543210", w3, 3);
    struct want_span w4[] = {{"triple five", &PHONE}};
    expect_spans(m, "  triple five  ", w4, 1);
    expect_spans(m, "hello how can i help you today", NULL, 0);
}

/* ---------------------------------------------------------------- long input */

#define REP_SENTENCE "my name is priya sharma and my number is nine eight seven six from delhi "
/* 200 repetitions cross hundreds of windows; --quick (for valgrind) runs fewer. */
static size_t REPS = 200;

static char *repeat(const char *s, size_t times) {
    size_t l = strlen(s);
    char *out = malloc(l * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(out + i * l, s, l);
    out[l * times] = '\0';
    return out;
}

static void test_long_input(const pii_model *m) {
    const char *unit = REP_SENTENCE;
    size_t ul = strlen(unit);
    char *text = repeat(unit, REPS);
    pii_error err;
    pii_span *spans = NULL;
    size_t n = 0;
    pii_status st = tag_alloc(m, text, strlen(text), &spans, &n, &err);
    CHECK_STATUS(st, PII_OK, err, "long input");
    CHECK(n == 3 * REPS, "three spans per repetition");
    size_t ps = offset_of(unit, "priya sharma"), pe = ps + strlen("priya sharma");
    size_t hs = offset_of(unit, "nine"), he = offset_of(unit, " from");
    size_t cs = offset_of(unit, "delhi"), ce = cs + strlen("delhi");
    size_t bad = 0;
    for (size_t r = 0; st == PII_OK && r < REPS && 3 * r + 2 < n; r++) {
        size_t base = r * ul;
        const pii_span *s = &spans[3 * r];
        if (!span_is(&s[0], base + ps, base + pe, PERSON) || !span_is(&s[1], base + hs, base + he, PHONE) ||
            !span_is(&s[2], base + cs, base + ce, CITY)) {
            if (bad++ == 0) {
                printf("    repetition %zu differs:\n", r);
                print_spans(m, text, s, 3);
            }
        }
    }
    CHECK(st == PII_OK && bad == 0, "same spans at the right offsets in every repetition");
    free(spans);
    free(text);
}

/* ---------------------------------------------------------------- threads */

#define NTHREADS 4
static int THREAD_ITERS = 25;

static const char *thread_inputs[] = {
    "my number is nine eight seven",
    "priya sharma lives in delhi",
    "hi this is john smith call me on nine eight double seven oh one",
    "hello how can i help you today",
    "rahul from mumbai 9876543210",
    "", /* replaced by a long text in test_threads */
};
#define NINPUTS (sizeof thread_inputs / sizeof thread_inputs[0])

struct result {
    pii_span *spans;
    size_t n;
};

struct thread_arg {
    const pii_model *m;
    const char **inputs;
    const struct result *expected;
    int mismatches;
    int errors;
};

static int same_spans(const pii_span *a, size_t na, const pii_span *b, size_t nb) {
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].start != b[i].start || a[i].end != b[i].end || a[i].label != b[i].label ||
            a[i].is_pii != b[i].is_pii || fabsf(a[i].score - b[i].score) > 1e-5f)
            return 0;
    return 1;
}

static void *thread_main(void *p) {
    struct thread_arg *a = p;
    pii_error err; /* per call, per thread: no shared error state */
    for (int it = 0; it < THREAD_ITERS; it++) {
        for (size_t i = 0; i < NINPUTS; i++) {
            size_t k = (i + (size_t)it) % NINPUTS; /* threads hit different inputs at once */
            pii_span *spans = NULL;
            size_t n = 0;
            if (tag_alloc(a->m, a->inputs[k], strlen(a->inputs[k]), &spans, &n, &err) != PII_OK) {
                a->errors++;
                continue;
            }
            if (!same_spans(spans, n, a->expected[k].spans, a->expected[k].n))
                a->mismatches++;
            free(spans);
        }
    }
    return NULL;
}

static void test_threads(const pii_model *m) {
    const char *inputs[NINPUTS];
    memcpy(inputs, thread_inputs, sizeof inputs);
    char *long_text = repeat(REP_SENTENCE, 20);
    inputs[NINPUTS - 1] = long_text;

    struct result expected[NINPUTS];
    pii_error err;
    for (size_t i = 0; i < NINPUTS; i++) {
        CHECK_STATUS(tag_alloc(m, inputs[i], strlen(inputs[i]), &expected[i].spans, &expected[i].n, &err), PII_OK, err,
                     "single-thread reference");
    }

    pthread_t th[NTHREADS];
    struct thread_arg args[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        args[t] = (struct thread_arg){m, inputs, expected, 0, 0};
        CHECK(pthread_create(&th[t], NULL, thread_main, &args[t]) == 0, "pthread_create");
    }
    int mismatches = 0, errors = 0;
    for (int t = 0; t < NTHREADS; t++) {
        pthread_join(th[t], NULL);
        mismatches += args[t].mismatches;
        errors += args[t].errors;
    }
    CHECK(errors == 0, "no errors from concurrent pii_tag");
    CHECK(mismatches == 0, "concurrent results equal single-thread results");
    if (errors || mismatches)
        printf("    %d errors, %d mismatches over %d calls\n", errors, mismatches,
               NTHREADS * THREAD_ITERS * (int)NINPUTS);

    for (size_t i = 0; i < NINPUTS; i++)
        free(expected[i].spans);
    free(long_text);
}

/* ---------------------------------------------------------------- options */

static void test_min_score(const pii_model *m) {
    /* A threshold above every score drops every span; scores are <= 1. */
    pii_error err;
    const char *text = "priya sharma said my number is nine eight seven";
    pii_span spans[4];
    size_t n = 0;
    CHECK_STATUS(pii_tag(m, text, strlen(text), spans, 4, &n, &err), PII_OK, err, "reference");
    float lowest = 1.0f;
    for (size_t i = 0; i < n; i++)
        lowest = spans[i].score < lowest ? spans[i].score : lowest;

    pii_options o = pii_default_options();
    o.min_score = 1.0f;
    o.max_sessions = 1;
    pii_model *strict = NULL;
    CHECK_STATUS(pii_load(fixture_dir, &o, &strict, &err), PII_OK, err, "load with min_score 1");
    if (strict == NULL)
        return;
    size_t n2 = 99;
    CHECK_STATUS(pii_tag(strict, text, strlen(text), spans, 4, &n2, &err), PII_OK, err, "tag with min_score 1");
    size_t at_one = 0;
    for (size_t i = 0; i < n2; i++)
        at_one += spans[i].score >= 1.0f;
    CHECK(n2 == at_one, "min_score 1 keeps only spans scored 1");
    CHECK(lowest >= 1.0f || n2 < n, "min_score drops low spans");
    pii_free(strict);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[2], "--quick") == 0) {
        REPS = 30;
        THREAD_ITERS = 2;
    } else if (argc != 2) {
        fprintf(stderr, "usage: test_capi MODEL_DIR [--quick]\n");
        return 2;
    }
    fixture_dir = argv[1];

    test_static();
    test_null_no_model();
    test_load_errors();

    pii_options o = pii_default_options();
    o.max_sessions = NTHREADS;
    pii_model *m = NULL;
    pii_error err;
    pii_status st = pii_load(fixture_dir, &o, &m, &err);
    CHECK_STATUS(st, PII_OK, err, "load the fixture");
    if (st == PII_OK) {
        test_labels(m);
        test_null_with_model(m);
        test_text_edges(m);
        test_buffers(m);
        test_exact_spans(m);
        test_long_input(m);
        test_threads(m);
        test_min_score(m);
        pii_free(m);
    }

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
