package pii

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The tiny fixture model: spoken digits are PHONE, priya/rahul/john (+ sharma/smith) are
// PERSON_NAME, delhi/mumbai are CITY (not PII). Its max_length is 16, so long texts run in
// several windows. PII_TEST_MODEL names another copy of it (a test outside the checkout).
var fixture = "../tests/fixtures/tiny"

// TestMain points libpii at ONNX Runtime when it is neither named by PII_ORT_LIBRARY nor
// beside libpii.so (`make` and `make install` put it there), but the checkout's .deps has it.
func TestMain(m *testing.M) {
	if p := os.Getenv("PII_TEST_MODEL"); p != "" {
		fixture = p
	}
	if os.Getenv("PII_ORT_LIBRARY") == "" {
		if _, err := os.Stat("../target/release/libonnxruntime.so.1"); err != nil {
			if p, err := filepath.Abs("../.deps/onnxruntime/libonnxruntime.so.1"); err == nil {
				if _, err := os.Stat(p); err == nil {
					os.Setenv("PII_ORT_LIBRARY", p)
				}
			}
		}
	}
	os.Exit(m.Run())
}

func load(t testing.TB) *Model {
	t.Helper()
	m, err := Load(fixture, nil)
	if err != nil {
		t.Fatalf("Load(%s): %v", fixture, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// span builds the expected span of word in text (offsets by search, not by hand).
func span(t testing.TB, text, word, label string, pii bool) Span {
	t.Helper()
	i := strings.Index(text, word)
	if i < 0 {
		t.Fatalf("%q not in %q", word, text)
	}
	return Span{Start: i, End: i + len(word), Label: label, PII: pii}
}

// withoutScores zeroes the scores after checking they lie in (0, 1].
func withoutScores(t testing.TB, spans []Span) []Span {
	t.Helper()
	out := make([]Span, len(spans))
	for i, s := range spans {
		if !(s.Score > 0 && s.Score <= 1) {
			t.Errorf("span %d score %v outside (0, 1]", i, s.Score)
		}
		s.Score = 0
		out[i] = s
	}
	return out
}

func TestTagSpans(t *testing.T) {
	m := load(t)
	cases := []struct {
		text string
		want func(string) []Span
	}{
		{"my number is nine eight seven", func(x string) []Span {
			return []Span{span(t, x, "nine eight seven", "PHONE", true)}
		}},
		{"priya sharma lives in delhi", func(x string) []Span {
			return []Span{span(t, x, "priya sharma", "PERSON_NAME", true), span(t, x, "delhi", "CITY", false)}
		}},
		{"hi this is john smith call me on nine eight double seven oh one", func(x string) []Span {
			return []Span{span(t, x, "john smith", "PERSON_NAME", true), span(t, x, "nine eight double seven oh one", "PHONE", true)}
		}},
		{"मेरा नाम rahul from mumbai 9876543210", func(x string) []Span {
			return []Span{span(t, x, "rahul", "PERSON_NAME", true), span(t, x, "mumbai", "CITY", false), span(t, x, "9876543210", "PHONE", true)}
		}},
		{"hello how can i help you today", func(string) []Span { return []Span{} }},
		{"", func(string) []Span { return []Span{} }},
		{"   \t  ", func(string) []Span { return []Span{} }},
	}
	for _, c := range cases {
		got, err := m.Tag(c.text)
		if err != nil {
			t.Errorf("Tag(%q): %v", c.text, err)
			continue
		}
		if want := c.want(c.text); !reflect.DeepEqual(withoutScores(t, got), want) {
			t.Errorf("Tag(%q)\n got %+v\nwant %+v", c.text, got, want)
		}
	}
	// The example of the brief, in bytes.
	got, _ := m.Tag("my number is nine eight seven")
	if len(got) != 1 || got[0].Start != 13 || got[0].End != 29 {
		t.Errorf("phone span = %+v, want 13..29", got)
	}
	// Byte offsets index the Go string directly.
	text := "मेरा नाम priya"
	got, _ = m.Tag(text)
	if len(got) != 1 || text[got[0].Start:got[0].End] != "priya" {
		t.Errorf("Tag(%q) = %+v", text, got)
	}
}

func TestLongText(t *testing.T) {
	m := load(t)
	unit := "my name is priya sharma and my number is nine eight seven six from delhi "
	const reps = 200
	text := strings.Repeat(unit, reps)
	got, err := m.Tag(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{span(t, unit, "priya sharma", "PERSON_NAME", true), span(t, unit, "nine eight seven six", "PHONE", true), span(t, unit, "delhi", "CITY", false)}
	if len(got) != reps*len(want) {
		t.Fatalf("got %d spans, want %d", len(got), reps*len(want))
	}
	got = withoutScores(t, got)
	for r := 0; r < reps; r++ {
		for k, w := range want {
			w.Start += r * len(unit)
			w.End += r * len(unit)
			if g := got[r*len(want)+k]; g != w {
				t.Fatalf("repetition %d span %d = %+v, want %+v", r, k, g, w)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	m := load(t)
	text := "priya sharma lives in delhi and my number is nine eight seven"
	cases := []struct {
		nonPII bool
		want   string
	}{
		{false, "[PERSON_NAME] lives in delhi and my number is [PHONE]"},
		{true, "[PERSON_NAME] lives in [CITY] and my number is [PHONE]"},
	}
	for _, c := range cases {
		got, err := m.Redact(text, c.nonPII)
		if err != nil || got != c.want {
			t.Errorf("Redact(nonPII=%v) = %q, %v; want %q", c.nonPII, got, err, c.want)
		}
	}
	if got, err := m.Redact("", false); err != nil || got != "" {
		t.Errorf("Redact(\"\") = %q, %v", got, err)
	}
	long := strings.Repeat("call john on nine nine ", 100)
	got, err := m.Redact(long, false)
	if err != nil || got != strings.Repeat("call [PERSON_NAME] on [PHONE] ", 100) {
		t.Errorf("long Redact = %.80q..., %v", got, err)
	}
}

func TestLabels(t *testing.T) {
	m := load(t)
	labels := m.Labels()
	for _, l := range []string{"PHONE", "PERSON_NAME", "CITY"} {
		found := false
		for _, x := range labels {
			found = found || x == l
		}
		if !found {
			t.Errorf("label %s missing from %v", l, labels)
		}
	}
	if !m.IsPII("PHONE") || m.IsPII("CITY") || m.IsPII("NOPE") {
		t.Error("IsPII: want PHONE true, CITY false, unknown false")
	}
	labels[0] = "changed"
	if m.Labels()[0] == "changed" {
		t.Error("Labels must return a copy")
	}
}

func TestErrors(t *testing.T) {
	missing := "/nonexistent/pii-model"
	_, err := Load(missing, nil)
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusIO || !strings.Contains(e.Message, missing) {
		t.Errorf("Load(missing) = %v, want StatusIO naming the path", err)
	}
	if e != nil && e.Status.String() != "I/O error" {
		t.Errorf("Status.String() = %q", e.Status.String())
	}
	_, err = Load(fixture, &Options{MinScore: 2})
	if !errors.As(err, &e) || e.Status != StatusInvalidArgument {
		t.Errorf("Load(MinScore 2) = %v, want StatusInvalidArgument", err)
	}
	_, err = Load(fixture, &Options{ModelFile: "nope.onnx"})
	if !errors.As(err, &e) || e.Status != StatusIO || !strings.Contains(e.Message, "nope.onnx") {
		t.Errorf("Load(ModelFile nope) = %v, want StatusIO naming the file", err)
	}

	m := load(t)
	for _, bad := range []string{"bad \xff byte", "nine \xed\xa0\x80 eight", "truncated \xe2\x82", "overlong \xc0\xaf"} {
		_, err := m.Tag(bad)
		if !errors.As(err, &e) || e.Status != StatusInvalidUTF8 {
			t.Errorf("Tag(%q) = %v, want StatusInvalidUTF8", bad, err)
		}
		_, err = m.Redact(bad, false)
		if !errors.As(err, &e) || e.Status != StatusInvalidUTF8 {
			t.Errorf("Redact(%q) = %v, want StatusInvalidUTF8", bad, err)
		}
	}
}

func TestClose(t *testing.T) {
	m, err := Load(fixture, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Tag("nine"); !errors.Is(err, ErrClosed) {
		t.Errorf("Tag after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Redact("nine", false); !errors.Is(err, ErrClosed) {
		t.Errorf("Redact after Close = %v, want ErrClosed", err)
	}
	if len(m.Labels()) == 0 {
		t.Error("Labels stay readable after Close")
	}
}

// Close while goroutines are tagging: Close waits for calls in flight, later calls fail
// with ErrClosed, nothing crashes.
func TestCloseWhileTagging(t *testing.T) {
	m, err := Load(fixture, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			for {
				if _, err := m.Tag("my number is nine eight seven"); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Tag: %v", err)
					}
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-started
	}
	m.Close()
	wg.Wait()
}

func TestConcurrent(t *testing.T) {
	m := load(t)
	texts := []string{
		"my number is nine eight seven",
		"priya sharma lives in delhi",
		"hi this is john smith call me on nine eight double seven oh one",
		"hello how can i help you today",
		"rahul from mumbai 9876543210",
		strings.Repeat("my name is priya sharma and my number is nine eight seven six from delhi ", 20),
	}
	want := make([][]Span, len(texts))
	for i, x := range texts {
		var err error
		if want[i], err = m.Tag(x); err != nil {
			t.Fatal(err)
		}
	}
	const goroutines, iters = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for it := 0; it < iters; it++ {
				k := (g + it) % len(texts)
				got, err := m.Tag(texts[k])
				if err != nil {
					errs <- err
					return
				}
				if !reflect.DeepEqual(got, want[k]) {
					errs <- fmt.Errorf("goroutine %d: text %d: got %+v, want %+v", g, k, got, want[k])
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d goroutines x %d calls matched the sequential results", goroutines, iters)
}

func TestTagWords(t *testing.T) {
	m := load(t)
	words := []string{"hi", "priya", "sharma", "my", "number", "is", "nine", "eight", "seven", "in", "delhi"}
	got, err := m.TagWords(words)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(words, " ")
	spans, err := m.Tag(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(spans) || len(got) == 0 {
		t.Fatalf("TagWords %v, Tag %v", got, spans)
	}
	for i, w := range got {
		joined := strings.Join(words[w.First:w.Last], " ")
		s := spans[i]
		if joined != text[s.Start:s.End] || w.Label != s.Label || w.PII != s.PII {
			t.Errorf("span %d: words %q (%s) vs text %q (%s)", i, joined, w.Label, text[s.Start:s.End], s.Label)
		}
	}
	for _, bad := range [][]string{{"ok", ""}, {"nine eight"}, {"tab\there"}} {
		_, err := m.TagWords(bad)
		var e *Error
		if !errors.As(err, &e) || e.Status != StatusInvalidArgument {
			t.Errorf("TagWords(%q): %v, want StatusInvalidArgument", bad, err)
		} else if strings.Contains(e.Message, "nine") || strings.Contains(e.Message, "tab") {
			t.Errorf("message echoes the text: %q", e.Message)
		}
	}
	if got, err := m.TagWords(nil); err != nil || len(got) != 0 {
		t.Errorf("TagWords(nil) = %v, %v", got, err)
	}
}

func TestVersion(t *testing.T) {
	load(t)
	if v := Version(); !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) {
		t.Errorf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
	if v := ONNXRuntimeVersion(); !strings.HasPrefix(v, "1.") {
		t.Errorf("ONNXRuntimeVersion() = %q after Load, want 1.x.y", v)
	}
	t.Logf("pii %s, onnxruntime %s", Version(), ONNXRuntimeVersion())
}

func BenchmarkTag(b *testing.B) {
	m, err := Load(fixture, &Options{MaxSessions: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	text := "hi this is priya sharma calling from delhi my number is nine eight double seven oh one two three four five"
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Tag(text); err != nil {
			b.Fatal(err)
		}
	}
}

func replayStream(m *Model, events []string) ([]Release, error) {
	s, err := m.NewStream(nil)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []Release
	for i, e := range events {
		r, err := s.Push(e, i%2 == 1) // partial, then the same words as a final
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	r, err := s.Finish()
	if err != nil {
		return nil, err
	}
	return append(out, r), nil
}

func TestStream(t *testing.T) {
	m := load(t)
	defer m.Close()
	events := []string{"my number is nine", "my number is nine eight seven", "six five four", "six five four three two one thanks a lot", "bye", "bye now"}
	rels, err := replayStream(m, events)
	if err != nil {
		t.Fatal(err)
	}
	said := strings.Fields("my number is nine eight seven six five four three two one thanks a lot bye now")
	next := 0
	for _, r := range rels {
		for _, w := range r.Words {
			if w.Index != next {
				t.Fatalf("word %d released as index %d", next, w.Index)
			}
			if w.Label == "" && w.Text != said[next] {
				t.Errorf("word %d released as %q, said %q", next, w.Text, said[next])
			}
			next++
		}
	}
	if next != len(said) || rels[len(rels)-1].Held != 0 {
		t.Fatalf("released %d of %d words, %d held", next, len(said), rels[len(rels)-1].Held)
	}

	// Many goroutines, a stream each, one model: the same releases as a single replay.
	var wg sync.WaitGroup
	mismatch := make([]int, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				got, err := replayStream(m, events)
				if err != nil || len(got) != len(rels) {
					mismatch[g]++
					continue
				}
				for k := range got {
					if got[k].Text != rels[k].Text || got[k].Held != rels[k].Held {
						mismatch[g]++
						break
					}
				}
			}
		}(g)
	}
	wg.Wait()
	for g, n := range mismatch {
		if n != 0 {
			t.Errorf("goroutine %d: %d mismatching replays", g, n)
		}
	}

	s, err := m.NewStream(&StreamOptions{HoldBack: 24, Context: 48, Settle: 4, Style: Style(9)})
	if err == nil || s != nil {
		t.Fatal("an unknown style must be refused")
	}
	s, err = m.NewStream(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push("more", true); err == nil {
		t.Fatal("push after finish must fail")
	}
	if s.Close() != nil || s.Close() != nil {
		t.Fatal("Close twice returns nil")
	}
	if _, err := s.Push("x", true); err != ErrClosed {
		t.Fatalf("push after Close: %v", err)
	}
}
