// pii.hpp: header-only C++17 RAII wrapper over the pii C ABI (include/pii.h).
//
//   pii::Model model = pii::Model::load("data/model");
//   std::string text = "my number is nine eight seven";
//   for (const pii::Span& s : model.tag(text))
//       std::cout << s.start << ".." << s.end << " " << s.label << " " << s.text << "\n";
//   std::cout << model.redact(text) << "\n";   // "my number is [PHONE]"
//
// Errors throw pii::Error (a std::runtime_error) carrying the status and the library's
// message. A Model is move-only and frees itself; one Model may be used from many threads
// at once (tag and redact are const), but it must not be destroyed or moved-from while another
// thread uses it. Span::text views into the caller's text and Span::label into the model:
// keep both alive while you use the spans.
#ifndef PII_HPP
#define PII_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pii.h"

namespace pii {

/// A failed call: `status()` is the C status, `what()` the library's message.
class Error : public std::runtime_error {
  public:
    Error(pii_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    pii_status status() const noexcept { return status_; }
    /// Short description of the status, e.g. "invalid UTF-8".
    const char* status_str() const noexcept { return pii_status_str(static_cast<int32_t>(status_)); }

  private:
    pii_status status_;
};

/// A tagged span. `start`/`end` are byte offsets into the tagged text (end exclusive).
struct Span {
    std::size_t start = 0;
    std::size_t end = 0;
    std::string_view label;  ///< label name, valid while the Model lives
    float score = 0.0f;      ///< mean probability of the label over the span's words
    bool pii = false;        ///< whether the label is personal data
    std::string_view text;   ///< the span's bytes, a view into the caller's text
};

/// A span over the words given to Model::tag_words: words [first, last).
struct WordSpan {
    std::size_t first = 0;
    std::size_t last = 0;
    std::string_view label;  ///< label name, valid while the Model lives
    float score = 0.0f;      ///< mean probability of the label over the span's words
    bool pii = false;        ///< whether the label is personal data
};

/// Load options; see pii_options in pii.h.
struct Options {
    std::string ort_library;     ///< path of libonnxruntime.so; empty: PII_ORT_LIBRARY, then beside libpii.so
    float min_score = 0.0f;      ///< drop spans scored below this (0..1)
    std::uint32_t max_sessions = 0;  ///< concurrent sessions; 0 = one per CPU
    std::string model_file;      ///< ONNX file in the model dir; empty: the manifest's
};

/// Library version, "MAJOR.MINOR.PATCH".
inline std::string_view version() { return pii_version(); }

/// Version of the loaded ONNX Runtime, empty before the first load.
inline std::string_view onnxruntime_version() {
    const char* v = pii_onnxruntime_version();
    return v ? std::string_view(v) : std::string_view();
}

namespace detail {
inline void check(pii_status st, const pii_error& err) {
    if (st != PII_OK)
        throw Error(st, err.message[0] ? std::string(err.message) : std::string(pii_status_str(static_cast<int32_t>(st))));
}
}  // namespace detail

/// A loaded model. Move-only; frees itself.
class Model {
  public:
    /// Load the model directory `dir`. Throws pii::Error.
    static Model load(const std::string& dir, const Options& options = {}) {
        pii_options o = pii_default_options();
        if (!options.ort_library.empty())
            o.ort_library = options.ort_library.c_str();
        o.min_score = options.min_score;
        o.max_sessions = options.max_sessions;
        if (!options.model_file.empty())
            o.model_file = options.model_file.c_str();
        pii_model* m = nullptr;
        pii_error err;
        detail::check(pii_load(dir.c_str(), &o, &m, &err), err);
        return Model(m);
    }

    Model(Model&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    Model& operator=(Model&& other) noexcept {
        if (this != &other) {
            pii_free(m_);
            m_ = std::exchange(other.m_, nullptr);
        }
        return *this;
    }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    ~Model() { pii_free(m_); }

    /// Whether this object holds a model (false after it was moved from).
    explicit operator bool() const noexcept { return m_ != nullptr; }

    /// Tag `text` (UTF-8). Span::text views into `text`. Throws pii::Error.
    std::vector<Span> tag(std::string_view text) const {
        std::vector<pii_span> raw(8);
        std::size_t n = 0;
        pii_error err;
        pii_status st;
        while ((st = pii_tag(get(), text.data(), text.size(), raw.data(), raw.size(), &n, &err)) ==
               PII_ERR_BUFFER_TOO_SMALL)
            raw.resize(n);  // n is the count needed
        detail::check(st, err);
        std::vector<Span> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            const pii_span& s = raw[i];
            const char* label = pii_label_name(m_, s.label);
            out.push_back(Span{s.start, s.end, label ? std::string_view(label) : std::string_view(), s.score,
                               s.is_pii, text.substr(s.start, s.end - s.start)});
        }
        return out;
    }

    /// Tag a speech engine's words (see pii_tag_words): spans as word ranges. An empty word or
    /// one holding a separator throws pii::Error with PII_ERR_INVALID_ARGUMENT.
    std::vector<WordSpan> tag_words(const std::vector<std::string_view>& words) const {
        std::vector<const char*> ptrs;
        std::vector<std::size_t> lens;
        ptrs.reserve(words.size());
        lens.reserve(words.size());
        for (std::string_view w : words) {
            ptrs.push_back(w.data());
            lens.push_back(w.size());
        }
        std::vector<pii_word_span> raw(8);
        std::size_t n = 0;
        pii_error err;
        pii_status st;
        while ((st = pii_tag_words(get(), ptrs.data(), lens.data(), words.size(), raw.data(), raw.size(), &n,
                                   &err)) == PII_ERR_BUFFER_TOO_SMALL)
            raw.resize(n);
        detail::check(st, err);
        std::vector<WordSpan> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            const pii_word_span& s = raw[i];
            const char* label = pii_label_name(m_, s.label);
            out.push_back(WordSpan{s.first, s.last, label ? std::string_view(label) : std::string_view(), s.score,
                                   s.is_pii});
        }
        return out;
    }

    /// `text` with each PII span (and each non-PII span when `non_pii`) replaced by `[LABEL]`.
    std::string redact(std::string_view text, bool non_pii = false) const {
        std::string out(text.size() + 32, '\0');
        std::size_t len = 0;
        pii_error err;
        const std::uint32_t flags = non_pii ? PII_REDACT_NON_PII : 0u;
        pii_status st;
        while ((st = pii_redact(get(), text.data(), text.size(), flags, out.data(), out.size(), &len, &err)) ==
               PII_ERR_BUFFER_TOO_SMALL)
            out.resize(len);  // len is the capacity needed, NUL included
        detail::check(st, err);
        out.resize(len);
        return out;
    }

    /// `text` redacted with a choice of labels and style (see pii_redact_with).
    std::string redact(std::string_view text, const pii_redaction& redaction) const {
        std::string out(text.size() + 32, '\0');
        std::size_t len = 0;
        pii_error err;
        pii_status st;
        while ((st = pii_redact_with(get(), text.data(), text.size(), &redaction, out.data(), out.size(), &len,
                                     &err)) == PII_ERR_BUFFER_TOO_SMALL)
            out.resize(len);
        detail::check(st, err);
        out.resize(len);
        return out;
    }

    /// Number of labels.
    std::size_t label_count() const noexcept { return pii_label_count(m_); }
    /// Name of label `index`, empty when out of range.
    std::string_view label_name(std::uint32_t index) const noexcept {
        const char* s = pii_label_name(m_, index);
        return s ? std::string_view(s) : std::string_view();
    }
    /// Whether label `index` is PII.
    bool label_is_pii(std::uint32_t index) const noexcept { return pii_label_is_pii(m_, index); }
    /// All label names in index order.
    std::vector<std::string_view> labels() const {
        std::vector<std::string_view> out;
        for (std::size_t i = 0; i < label_count(); i++)
            out.push_back(label_name(static_cast<std::uint32_t>(i)));
        return out;
    }

    /// The C handle, for calls this wrapper does not cover.
    const pii_model* handle() const noexcept { return m_; }

  private:
    explicit Model(pii_model* m) noexcept : m_(m) {}
    const pii_model* get() const {
        if (m_ == nullptr)
            throw Error(PII_ERR_NULL_ARGUMENT, "pii::Model was moved from");
        return m_;
    }
    pii_model* m_ = nullptr;
};

/// One released word of a Stream.
struct ReleasedWord {
    std::size_t index;       ///< index among the stream's final words (the engine's word times)
    std::string_view text;   ///< what stands for it in Release::text (shared by a span's words)
    std::string_view label;  ///< the label it was redacted as; empty when released as spoken
};

/// What one push or finish released (owns its text).
struct Release {
    std::string text;  ///< released words, redacted, single-spaced
    std::vector<ReleasedWord> words;
    std::size_t held = 0;  ///< words still held back
};

/// A live transcript's redaction (see pii_stream_push). Move-only; frees itself. One thread at
/// a time per stream; the Model must outlive it.
class Stream {
  public:
    explicit Stream(const Model& model, const pii_stream_options* options = nullptr) : model_(&model) {
        pii_error err;
        detail::check(pii_stream_new(model.handle(), options, &s_, &err), err);
    }
    Stream(Stream&& other) noexcept : s_(std::exchange(other.s_, nullptr)), model_(other.model_) {}
    Stream& operator=(Stream&& other) noexcept {
        if (this != &other) {
            pii_stream_free(s_);
            s_ = std::exchange(other.s_, nullptr);
            model_ = other.model_;
        }
        return *this;
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() { pii_stream_free(s_); }

    /// Push a partial (is_final false) or final hypothesis. Throws pii::Error.
    Release push(std::string_view hypothesis, bool is_final) {
        const pii_release* r = nullptr;
        pii_error err;
        detail::check(pii_stream_push(get(), hypothesis.data(), hypothesis.size(), is_final, &r, &err), err);
        return convert(r);
    }
    /// Release every held final word; later pushes throw.
    Release finish() {
        const pii_release* r = nullptr;
        pii_error err;
        detail::check(pii_stream_finish(get(), &r, &err), err);
        return convert(r);
    }

  private:
    pii_stream* get() const {
        if (s_ == nullptr)
            throw Error(PII_ERR_NULL_ARGUMENT, "pii::Stream was moved from");
        return s_;
    }
    Release convert(const pii_release* r) const {
        Release out;
        out.text.assign(r->text, r->len);
        out.held = r->held;
        for (std::size_t i = 0; i < r->n_words; i++) {
            const pii_released_word& w = r->words[i];
            std::string_view label = w.label < 0 ? std::string_view() : model_->label_name(static_cast<std::uint32_t>(w.label));
            out.words.push_back(ReleasedWord{w.index, std::string_view(out.text).substr(w.start, w.end - w.start), label});
        }
        return out;
    }
    pii_stream* s_ = nullptr;
    const Model* model_;
};

}  // namespace pii

#endif  // PII_HPP
