// test: checks of the C++ wrapper on the fixture model. Last line "N passed, M failed".
//   usage: test MODEL_DIR
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "pii.hpp"

static int passed = 0, failed = 0;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            std::cout << "FAIL line " << __LINE__ << ": " << #cond << std::endl; \
        }                                                                        \
    } while (0)

static_assert(!std::is_copy_constructible_v<pii::Model>, "Model is move-only");
static_assert(!std::is_copy_assignable_v<pii::Model>, "Model is move-only");
static_assert(std::is_nothrow_move_constructible_v<pii::Model>, "Model moves without throwing");
static_assert(std::is_nothrow_move_assignable_v<pii::Model>, "Model moves without throwing");

static bool has_span(const std::vector<pii::Span>& spans, std::string_view text, std::string_view word,
                     std::string_view label, bool pii) {
    std::size_t start = text.find(word);
    for (const pii::Span& s : spans)
        if (s.start == start && s.end == start + word.size() && s.label == label && s.pii == pii && s.text == word &&
            s.text.data() == text.data() + start)
            return true;
    return false;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: test MODEL_DIR\n";
        return 2;
    }
    const std::string dir = argv[1];

    // Errors: a missing directory throws with the library's message naming the path.
    const std::string missing = "/nonexistent/pii-model";
    try {
        pii::Model::load(missing);
        CHECK(!"load of a missing dir must throw");
    } catch (const pii::Error& e) {
        CHECK(e.status() == PII_ERR_IO);
        CHECK(std::string(e.what()).find(missing) != std::string::npos);
        CHECK(std::strcmp(e.status_str(), "I/O error") == 0);
    }
    try {
        pii::Options o;
        o.min_score = 2.0f;
        pii::Model::load(dir, o);
        CHECK(!"min_score 2 must throw");
    } catch (const pii::Error& e) {
        CHECK(e.status() == PII_ERR_INVALID_ARGUMENT);
    }
    CHECK(pii::version() == std::string_view(pii_version()));

    pii::Options opts;
    opts.max_sessions = 2;
    pii::Model model = pii::Model::load(dir, opts);
    CHECK(static_cast<bool>(model));
    CHECK(model.label_count() >= 3);
    CHECK(model.labels().size() == model.label_count());
    CHECK(model.label_name(static_cast<std::uint32_t>(model.label_count())).empty());

    // Spans on the fixture, offsets found by search.
    const std::string text = "priya sharma lives in delhi and my number is nine eight seven";
    std::vector<pii::Span> spans = model.tag(text);
    CHECK(spans.size() == 3);
    CHECK(has_span(spans, text, "priya sharma", "PERSON_NAME", true));
    CHECK(has_span(spans, text, "delhi", "CITY", false));
    CHECK(has_span(spans, text, "nine eight seven", "PHONE", true));
    for (const pii::Span& s : spans)
        CHECK(s.score > 0.0f && s.score <= 1.0f);
    const std::string_view phone = "my number is nine eight seven";
    spans = model.tag(phone);
    CHECK(spans.size() == 1 && spans[0].start == 13 && spans[0].end == 29);
    CHECK(model.tag("").empty());
    CHECK(model.tag(std::string_view()).empty());

    // Word-level tagging: the same spans as word ranges; bad words throw.
    const std::vector<std::string_view> words = {"priya", "sharma", "lives", "in", "delhi", "and",
                                                 "my", "number", "is", "nine", "eight", "seven"};
    std::vector<pii::WordSpan> ws = model.tag_words(words);
    CHECK(ws.size() == 3);
    CHECK(ws.size() == 3 && ws[0].first == 0 && ws[0].last == 2 && ws[0].label == "PERSON_NAME" && ws[0].pii);
    CHECK(ws.size() == 3 && ws[1].first == 4 && ws[1].last == 5 && ws[1].label == "CITY" && !ws[1].pii);
    CHECK(ws.size() == 3 && ws[2].first == 9 && ws[2].last == 12 && ws[2].label == "PHONE");
    CHECK(model.tag_words({}).empty());
    try {
        model.tag_words({"nine eight"});
        CHECK(!"a word with a space must throw");
    } catch (const pii::Error& e) {
        CHECK(e.status() == PII_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("nine") == std::string::npos);
    }

    // Many spans: the wrapper grows its buffer past the first guess of 8.
    std::string long_text;
    for (int i = 0; i < 30; i++)
        long_text += "priya called from mumbai on nine eight seven ";
    spans = model.tag(long_text);
    CHECK(spans.size() == 90);

    // Redact.
    CHECK(model.redact(text) == "[PERSON_NAME] lives in delhi and my number is [PHONE]");
    CHECK(model.redact(text, true) == "[PERSON_NAME] lives in [CITY] and my number is [PHONE]");
    CHECK(model.redact("hello there") == "hello there");
    CHECK(model.redact("").empty());
    std::string big_red = model.redact(long_text);
    CHECK(big_red.find("[PERSON_NAME] called from mumbai on [PHONE] ") == 0);

    // Invalid UTF-8 throws with the status.
    try {
        model.tag("bad \xff byte");
        CHECK(!"invalid UTF-8 must throw");
    } catch (const pii::Error& e) {
        CHECK(e.status() == PII_ERR_INVALID_UTF8);
        CHECK(std::string(e.what()).find("UTF-8") != std::string::npos);
    }
    // Embedded NUL inside a string_view: the whole view is tagged.
    const std::string with_nul("hi\0 nine eight", 14);
    spans = model.tag(with_nul);
    CHECK(spans.size() == 1 && spans[0].text == "nine eight");

    // Move semantics: the moved-from model is empty and throws; the target works.
    pii::Model moved = std::move(model);
    CHECK(!model);  // NOLINT(bugprone-use-after-move): testing the moved-from state
    CHECK(static_cast<bool>(moved));
    CHECK(model.label_count() == 0);
    try {
        model.tag(text);
        CHECK(!"tag on a moved-from model must throw");
    } catch (const pii::Error& e) {
        CHECK(e.status() == PII_ERR_NULL_ARGUMENT);
    }
    CHECK(moved.tag(phone).size() == 1);
    // Move assignment frees the target's old model (no leak under ASan/valgrind).
    pii::Model other = pii::Model::load(dir);
    other = std::move(moved);
    CHECK(!moved);
    CHECK(other.redact(phone) == "my number is [PHONE]");
    pii::Model& alias = other;  // through a reference: -Wself-move (gcc 13+, clang) flags the direct form
    other = std::move(alias);   // self-move leaves it usable
    CHECK(static_cast<bool>(other));

    // Two threads share one model (tag is const and thread-safe).
    std::vector<pii::Span> ref = other.tag(text);
    int mismatch[2] = {0, 0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; t++)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; i++) {
                std::vector<pii::Span> got = other.tag(text);
                bool same = got.size() == ref.size();
                for (std::size_t k = 0; same && k < got.size(); k++)
                    same = got[k].start == ref[k].start && got[k].end == ref[k].end && got[k].label == ref[k].label;
                mismatch[t] += !same;
            }
        });
    for (std::thread& th : threads)
        th.join();
    CHECK(mismatch[0] == 0 && mismatch[1] == 0);

    // Redaction choices and streams.
    pii_redaction mask{PII_STYLE_MASK, 0};
    CHECK(other.redact(phone, mask) == "my number is **** ***** *****");
    CHECK(other.redact(phone, pii_redaction{PII_STYLE_LABEL, 0}) == other.redact(phone));
    static_assert(!std::is_copy_constructible_v<pii::Stream>, "Stream is move-only");
    {
        pii::Stream s(other);
        pii::Release a = s.push("my number is four", false);
        CHECK(a.text.empty() && a.words.empty());
        pii::Release b = s.push("my number is four three", true);
        pii::Release c = s.push("two one four three thanks a lot", true);
        pii::Release d = s.finish();
        // Every final word is released once, in order; a word released as spoken is itself.
        const char* said[] = {"my", "number", "is", "four", "three", "two", "one", "four", "three", "thanks", "a", "lot"};
        std::size_t next = 0;
        bool in_order = true;
        for (const pii::Release* r : {&b, &c, &d})
            for (const pii::ReleasedWord& w : r->words) {
                in_order = in_order && w.index == next && next < 12;
                if (in_order && w.label.empty())
                    in_order = w.text == said[next];
                next++;
            }
        CHECK(in_order && next == 12);
        CHECK(d.held == 0);
        try {
            s.push("more", true);
            CHECK(!"push after finish must throw");
        } catch (const pii::Error& e) {
            CHECK(e.status() == PII_ERR_INVALID_ARGUMENT);
        }
        pii::Stream moved_s = std::move(s);
        try {
            s.push("x", true);
            CHECK(!"push on a moved-from stream must throw");
        } catch (const pii::Error& e) {
            CHECK(e.status() == PII_ERR_NULL_ARGUMENT);
        }
    }

    std::cout << passed << " passed, " << failed << " failed" << std::endl;
    return failed == 0 ? 0 : 1;
}
