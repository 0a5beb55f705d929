// Package pii tags personal data in speech-to-text transcripts with libpii (cgo).
//
//	m, err := pii.Load("data/model", nil)
//	if err != nil { ... }
//	defer m.Close()
//	text := "my number is nine eight seven"
//	spans, err := m.Tag(text)
//	for _, s := range spans {
//		fmt.Println(s.Label, text[s.Start:s.End])
//	}
//	red, err := m.Redact(text, false) // "my number is [PHONE]"
//
// A Model may be used from many goroutines at once; calls run in parallel on separate
// ONNX Runtime sessions. Close waits for calls in flight, and later calls return ErrClosed.
//
// Errors come back through a per-call pii_error out-parameter (no thread-local state), so no
// runtime.LockOSThread is needed.
//
// Linking: through pkg-config (`#cgo pkg-config: pii`). Against an installed copy
// (`make install PREFIX=...`), set PKG_CONFIG_PATH=<prefix>/lib/pkgconfig; against a checkout
// build (`make` at the repository root), PKG_CONFIG_PATH=<checkout>/target/release/pkgconfig.
// pii.pc adds an rpath to its libdir, so binaries run without LD_LIBRARY_PATH. libpii finds
// ONNX Runtime as libonnxruntime.so.1 beside libpii.so, through the PII_ORT_LIBRARY
// environment variable, or through Options.ORTLibrary.
package pii

/*
#cgo pkg-config: pii
#include <stdlib.h>
#include "pii.h"
*/
import "C"

import (
	"errors"
	"io"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Status is the status code of a failed call (pii_status in pii.h).
type Status int

// Status codes, as in pii.h.
const (
	StatusOK              Status = C.PII_OK
	StatusNullArgument    Status = C.PII_ERR_NULL_ARGUMENT
	StatusInvalidUTF8     Status = C.PII_ERR_INVALID_UTF8
	StatusBufferTooSmall  Status = C.PII_ERR_BUFFER_TOO_SMALL
	StatusIO              Status = C.PII_ERR_IO
	StatusManifest        Status = C.PII_ERR_MANIFEST
	StatusTokenizer       Status = C.PII_ERR_TOKENIZER
	StatusRuntime         Status = C.PII_ERR_RUNTIME
	StatusModel           Status = C.PII_ERR_MODEL
	StatusInvalidArgument Status = C.PII_ERR_INVALID_ARGUMENT
	StatusInternal        Status = C.PII_ERR_INTERNAL
)

// String is the library's short description of the status, e.g. "invalid UTF-8".
func (s Status) String() string {
	return C.GoString(C.pii_status_str(C.int32_t(s)))
}

// Error is a failed library call: its status and the library's message (which never
// contains transcript text).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	return "pii: " + e.Message
}

// ErrClosed is returned by calls on a closed Model.
var ErrClosed = errors.New("pii: model is closed")

func newError(st C.enum_pii_status, cerr *C.pii_error) error {
	msg := C.GoString(&cerr.message[0])
	if msg == "" {
		msg = Status(st).String()
	}
	return &Error{Status: Status(st), Message: msg}
}

// Options for Load. The zero value (or a nil *Options) gives the defaults.
type Options struct {
	// ORTLibrary is the path of libonnxruntime.so; empty searches PII_ORT_LIBRARY, then
	// libonnxruntime.so.1 beside libpii.so. A process loads ONNX Runtime once.
	ORTLibrary string
	// MinScore drops spans whose score is below it (0..1); 0 keeps every span.
	MinScore float32
	// MaxSessions bounds the concurrent ONNX Runtime sessions (one thread each); 0 = one per CPU.
	MaxSessions int
	// ModelFile is the ONNX file inside the model directory; empty uses the manifest's.
	ModelFile string
}

// Span is a tagged span: byte offsets into the tagged string, so text[s.Start:s.End] is
// the span's text.
type Span struct {
	Start, End int
	Label      string
	Score      float32 // mean probability of the label over the span's words, 0..1
	PII        bool    // whether the label is personal data
}

// Model is a loaded model. It is safe for concurrent use. Close releases it; a finalizer
// also releases a Model that becomes unreachable without Close, but call Close: the model
// holds native memory the Go garbage collector does not see.
type Model struct {
	mu     sync.RWMutex // held for reading by calls, for writing by Close
	m      *C.pii_model
	labels []string
	pii    []bool
}

var _ io.Closer = (*Model)(nil)

// Load loads the model directory dir. opts may be nil.
func Load(dir string, opts *Options) (*Model, error) {
	copts := C.pii_default_options()
	if opts != nil {
		if opts.ORTLibrary != "" {
			p := C.CString(opts.ORTLibrary)
			defer C.free(unsafe.Pointer(p))
			copts.ort_library = p
		}
		if opts.ModelFile != "" {
			p := C.CString(opts.ModelFile)
			defer C.free(unsafe.Pointer(p))
			copts.model_file = p
		}
		if opts.MaxSessions < 0 || uint64(opts.MaxSessions) > math.MaxUint32 {
			return nil, &Error{Status: StatusInvalidArgument, Message: "invalid argument: MaxSessions out of range"}
		}
		copts.min_score = C.float(opts.MinScore)
		copts.max_sessions = C.uint32_t(opts.MaxSessions)
	}
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))

	var cm *C.pii_model
	var cerr C.pii_error
	if st := C.pii_load(cdir, &copts, &cm, &cerr); st != C.PII_OK {
		return nil, newError(st, &cerr)
	}
	n := int(C.pii_label_count(cm))
	m := &Model{m: cm, labels: make([]string, n), pii: make([]bool, n)}
	for i := 0; i < n; i++ {
		m.labels[i] = C.GoString(C.pii_label_name(cm, C.uint32_t(i)))
		m.pii[i] = bool(C.pii_label_is_pii(cm, C.uint32_t(i)))
	}
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// textArg points C at the bytes of a Go string without copying. The cgo rules allow it:
// string data holds no Go pointers, and C does not keep the pointer after the call returns
// (the caller keeps text alive with runtime.KeepAlive).
func textArg(text string) (*C.char, C.size_t) {
	if len(text) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(text))), C.size_t(len(text))
}

// Tag returns the spans of text, in text order.
func (m *Model) Tag(text string) ([]Span, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.m == nil {
		return nil, ErrClosed
	}
	ptr, n := textArg(text)
	var cerr C.pii_error
	var count C.size_t
	// Go memory without Go pointers, written by C only during the call.
	buf := make([]C.pii_span, 8)
	var st C.enum_pii_status
	for {
		st = C.pii_tag(m.m, ptr, n, &buf[0], C.size_t(len(buf)), &count, &cerr)
		if st != C.PII_ERR_BUFFER_TOO_SMALL {
			break
		}
		buf = make([]C.pii_span, int(count)) // count is the number needed
	}
	runtime.KeepAlive(text)
	if st != C.PII_OK {
		return nil, newError(st, &cerr)
	}
	spans := make([]Span, int(count))
	for i := range spans {
		s := &buf[i]
		label := ""
		if int(s.label) < len(m.labels) {
			label = m.labels[s.label]
		}
		spans[i] = Span{Start: int(s.start), End: int(s.end), Label: label, Score: float32(s.score), PII: bool(s.is_pii)}
	}
	return spans, nil
}

// WordSpan is a span over the words given to TagWords: Words[First:Last].
type WordSpan struct {
	First, Last int
	Label       string
	Score       float32 // mean probability of the label over the span's words, 0..1
	PII         bool    // whether the label is personal data
}

// TagWords tags a speech engine's words (joined by single spaces, tagged as Tag does) and
// returns spans as word ranges, so exactly those words' audio can be muted. An empty word or a
// word holding a separator (space, tab, newline, ...) is an error with StatusInvalidArgument.
func (m *Model) TagWords(words []string) ([]WordSpan, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.m == nil {
		return nil, ErrClosed
	}
	var cerr C.pii_error
	var count C.size_t
	// The words are copied into C memory: an array of pointers into Go strings would put Go
	// pointers in memory passed to C, which the cgo rules forbid.
	total := 1
	for _, w := range words {
		total += len(w)
	}
	n := len(words)
	if n == 0 {
		n = 1
	}
	text := unsafe.Slice((*byte)(C.malloc(C.size_t(total))), total)
	ptrs := unsafe.Slice((**C.char)(C.malloc(C.size_t(n)*C.size_t(unsafe.Sizeof((*C.char)(nil))))), n)
	lens := unsafe.Slice((*C.size_t)(C.malloc(C.size_t(n)*C.size_t(unsafe.Sizeof(C.size_t(0))))), n)
	defer C.free(unsafe.Pointer(&text[0]))
	defer C.free(unsafe.Pointer(&ptrs[0]))
	defer C.free(unsafe.Pointer(&lens[0]))
	at := 0
	for i, w := range words {
		copy(text[at:], w)
		ptrs[i] = (*C.char)(unsafe.Pointer(&text[at]))
		lens[i] = C.size_t(len(w))
		at += len(w)
	}
	buf := make([]C.pii_word_span, 8)
	var st C.enum_pii_status
	for {
		st = C.pii_tag_words(m.m, &ptrs[0], &lens[0], C.size_t(len(words)), &buf[0], C.size_t(len(buf)), &count, &cerr)
		if st != C.PII_ERR_BUFFER_TOO_SMALL {
			break
		}
		buf = make([]C.pii_word_span, int(count))
	}
	if st != C.PII_OK {
		return nil, newError(st, &cerr)
	}
	spans := make([]WordSpan, int(count))
	for i := range spans {
		s := &buf[i]
		label := ""
		if int(s.label) < len(m.labels) {
			label = m.labels[s.label]
		}
		spans[i] = WordSpan{First: int(s.first), Last: int(s.last), Label: label, Score: float32(s.score), PII: bool(s.is_pii)}
	}
	return spans, nil
}

// Redact returns text with each PII span replaced by "[LABEL]"; with nonPII, non-PII spans
// (CITY, LOCATION) are replaced too.
func (m *Model) Redact(text string, nonPII bool) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.m == nil {
		return "", ErrClosed
	}
	ptr, n := textArg(text)
	var flags C.uint32_t
	if nonPII {
		flags = C.PII_REDACT_NON_PII
	}
	var cerr C.pii_error
	var outLen C.size_t
	buf := make([]byte, len(text)+32)
	var st C.enum_pii_status
	for {
		st = C.pii_redact(m.m, ptr, n, flags, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &outLen, &cerr)
		if st != C.PII_ERR_BUFFER_TOO_SMALL {
			break
		}
		buf = make([]byte, int(outLen)) // outLen is the capacity needed, NUL included
	}
	runtime.KeepAlive(text)
	if st != C.PII_OK {
		return "", newError(st, &cerr)
	}
	return string(buf[:int(outLen)]), nil
}

// Labels returns the model's label names in index order (a copy).
func (m *Model) Labels() []string {
	return append([]string(nil), m.labels...)
}

// IsPII reports whether the label named label is personal data.
func (m *Model) IsPII(label string) bool {
	for i, l := range m.labels {
		if l == label {
			return m.pii[i]
		}
	}
	return false
}

// Close releases the model. It waits for calls in flight; later calls return ErrClosed.
// Closing twice is safe and returns nil.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m != nil {
		C.pii_free(m.m)
		m.m = nil
		runtime.SetFinalizer(m, nil)
	}
	return nil
}

// Version is the library version, "MAJOR.MINOR.PATCH".
func Version() string {
	return C.GoString(C.pii_version())
}

// ONNXRuntimeVersion is the version of the loaded ONNX Runtime, or "" before the first Load.
func ONNXRuntimeVersion() string {
	v := C.pii_onnxruntime_version()
	if v == nil {
		return ""
	}
	return C.GoString(v)
}

// Style is how a redacted span is written (PII_STYLE_* in pii.h).
type Style uint32

const (
	StyleLabel        Style = C.PII_STYLE_LABEL          // "[CREDIT_CARD]"
	StyleMask         Style = C.PII_STYLE_MASK           // one "*" per character
	StyleKeepLastFour Style = C.PII_STYLE_KEEP_LAST_FOUR // "[CREDIT_CARD] one one two three"
	StylePseudonym    Style = C.PII_STYLE_PSEUDONYM      // "[PERSON_NAME_1]", stable per stream
)

// StreamOptions configures a Stream; start from DefaultStreamOptions.
type StreamOptions struct {
	HoldBack int    // most final words held back (then released conservatively)
	Context  int    // released final words kept as left context
	Settle   int    // words that must follow a word before it is released
	Style    Style  // replacement style
	Labels   uint64 // bit i redacts label i; 0 redacts every PII label
}

// DefaultStreamOptions returns the library's defaults (hold back 24, context 48, settle 4,
// every PII label as "[LABEL]").
func DefaultStreamOptions() StreamOptions {
	o := C.pii_stream_default_options()
	return StreamOptions{HoldBack: int(o.hold_back), Context: int(o.context), Settle: int(o.settle)}
}

// ReleasedWord is one word a Stream released.
type ReleasedWord struct {
	Index int    // index among the stream's final words (the key to the engine's word times)
	Text  string // what stands for it in Release.Text (shared by the words of one span)
	Label string // the label it was redacted as; "" when released as spoken
}

// Release is what one Push or Finish released.
type Release struct {
	Text  string // released words, redacted, single-spaced
	Words []ReleasedWord
	Held  int // words still held back
}

// Stream redacts one live call or channel (see pii_stream_push in pii.h): push partial and
// final hypotheses, get back what is safe to release. A Stream is for one goroutine at a
// time; many Streams may share a Model. Close it before the Model.
type Stream struct {
	m *Model
	s *C.pii_stream
}

var _ io.Closer = (*Stream)(nil)

// NewStream opens a stream on m; opts nil uses DefaultStreamOptions.
func (m *Model) NewStream(opts *StreamOptions) (*Stream, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.m == nil {
		return nil, ErrClosed
	}
	o := DefaultStreamOptions()
	if opts != nil {
		o = *opts
	}
	for _, v := range []int{o.HoldBack, o.Context, o.Settle} {
		if v < 0 || v > math.MaxUint32 {
			return nil, &Error{Status: Status(C.PII_ERR_INVALID_ARGUMENT), Message: "stream options out of range"}
		}
	}
	copts := C.pii_stream_options{
		hold_back: C.uint32_t(o.HoldBack),
		context:   C.uint32_t(o.Context),
		settle:    C.uint32_t(o.Settle),
		redaction: C.pii_redaction{style: C.uint32_t(o.Style), labels: C.uint64_t(o.Labels)},
	}
	var cs *C.pii_stream
	var cerr C.pii_error
	if st := C.pii_stream_new(m.m, &copts, &cs, &cerr); st != C.PII_OK {
		return nil, newError(st, &cerr)
	}
	s := &Stream{m: m, s: cs}
	runtime.SetFinalizer(s, func(s *Stream) { s.Close() })
	return s, nil
}

// Push sends the engine's current hypothesis of the segment after its last final: a partial
// (final false) replaces the previous partial, a final appends its words.
func (s *Stream) Push(hypothesis string, final bool) (Release, error) {
	return s.call(func(cerr *C.pii_error, out **C.pii_release) C.enum_pii_status {
		ptr, n := textArg(hypothesis)
		st := C.pii_stream_push(s.s, ptr, n, C.bool(final), out, cerr)
		runtime.KeepAlive(hypothesis)
		return st
	})
}

// Finish releases every held final word; later pushes return an error.
func (s *Stream) Finish() (Release, error) {
	return s.call(func(cerr *C.pii_error, out **C.pii_release) C.enum_pii_status {
		return C.pii_stream_finish(s.s, out, cerr)
	})
}

func (s *Stream) call(f func(*C.pii_error, **C.pii_release) C.enum_pii_status) (Release, error) {
	s.m.mu.RLock()
	defer s.m.mu.RUnlock()
	if s.m.m == nil || s.s == nil {
		return Release{}, ErrClosed
	}
	var cerr C.pii_error
	var out *C.pii_release
	if st := f(&cerr, &out); st != C.PII_OK {
		return Release{}, newError(st, &cerr)
	}
	rel := Release{Text: C.GoStringN(out.text, C.int(out.len)), Held: int(out.held)}
	if out.n_words > 0 {
		for _, w := range unsafe.Slice(out.words, int(out.n_words)) {
			rw := ReleasedWord{Index: int(w.index), Text: rel.Text[int(w.start):int(w.end)]}
			if w.label >= 0 && int(w.label) < len(s.m.labels) {
				rw.Label = s.m.labels[int(w.label)]
			}
			rel.Words = append(rel.Words, rw)
		}
	}
	return rel, nil
}

// Close releases the stream. Closing twice is safe and returns nil.
func (s *Stream) Close() error {
	if s.s != nil {
		C.pii_stream_free(s.s)
		s.s = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}
