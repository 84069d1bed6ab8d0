package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestExamplesValidate(t *testing.T) {
	paths, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(paths) < 2 {
		t.Fatalf("examples: %v %v", paths, err)
	}
	for _, p := range paths {
		s, err := Load(p)
		if err != nil {
			t.Errorf("%s:\n%v", p, err)
			continue
		}
		data, _ := os.ReadFile(p)
		if !bytes.HasPrefix(data, []byte("# yaml-language-server: $schema=../schema/spec.schema.json\n")) {
			t.Errorf("%s does not start with the yaml-language-server schema line", p)
		}
		if len(s.Searches) == 0 {
			t.Errorf("%s has no searches", p)
		}
	}
}

func TestLoadTypedValuesAndDefaults(t *testing.T) {
	src := `version: 1
interval: 1h30m
api:
  base_url: https://connect.patsnap.com/
  qps: 2.5
searches:
  - name: full
    images: [a.png, https://example.com/b.png]
    patent_type: D
    model: 2
    filters:
      country: [US, EU]
      loc: "(14-03 OR 14-02)"
      legal_status: [3, 2]
      simple_legal_status: [1]
      apply_start_time: "20100101"
      apply_end_time: "20200101"
      public_start_time: "20110101"
      public_end_time: "20210101"
      assignees: huawei
      main_field: phones
      lang: en
      field: PBD
      order: asc
      stemming: 1
      pre_filter: 0
    max_results: 250
    drop_after: 3
    suspend: true
  - name: defaults
    image: sub/c.jpg
    patent_type: U
    model: 4
    min_score: 0.75
reports:
  - name: r1
    patent_number: CN108977442B
  - name: r2
    patent_id: 6e433449-143b-41d9-9abf-6c6519b07779
    format: word
    logo: false
    suspend: true
`
	path := writeSpec(t, src, map[string][]byte{"a.png": pngBytes, "sub/c.jpg": jpegBytes})
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	one, zero := 1, 0
	want := &Spec{
		Path: path, Dir: dir, SHA256: sha([]byte(src)), Version: 1, Interval: 90 * 60e9,
		API: API{BaseURL: "https://connect.patsnap.com", QPS: 2.5},
		Searches: []Search{{
			Name: "full",
			Images: []Image{
				{Path: filepath.Join(dir, "a.png"), SHA256: sha(pngBytes)},
				{URL: "https://example.com/b.png"},
			},
			PatentType: "D", Model: 2,
			Filters: Filters{
				Country: []string{"US", "EU"}, LOC: "(14-03 OR 14-02)",
				LegalStatus: []int{3, 2}, SimpleLegalStatus: []int{1},
				ApplyStartTime: "20100101", ApplyEndTime: "20200101",
				PublicStartTime: "20110101", PublicEndTime: "20210101",
				Assignees: "huawei", MainField: "phones", Lang: "en", Field: "PBD", Order: "asc",
				Stemming: &one, PreFilter: &zero,
			},
			MaxResults: 250, DropAfter: 3, Suspend: true, Line: 7,
		}, {
			Name:       "defaults",
			Images:     []Image{{Path: filepath.Join(dir, "sub", "c.jpg"), SHA256: sha(jpegBytes)}},
			PatentType: "U", Model: 4, MinScore: 0.75,
			MaxResults: patsnap.DefaultMaxResults, DropAfter: 1, Line: 30,
		}},
		Reports: []Report{
			{Name: "r1", PatentNumber: "CN108977442B", Format: "pdf", Logo: true, Line: 36},
			{Name: "r2", PatentID: "6e433449-143b-41d9-9abf-6c6519b07779", Format: "word", Logo: false, Suspend: true, Line: 38},
		},
		Links: Links{Patent: DefaultPatentLink},
		// No decisions file: none, where mark would write it.
		Decisions: &Decisions{Path: filepath.Join(dir, "spec.decisions.yaml"), Name: strings.TrimSuffix(path, ".yaml") + ".decisions.yaml", ByPatent: map[string]Decision{}},
	}
	for i := range s.Searches {
		if !strings.HasPrefix(s.Searches[i].Fingerprint, "sha256:") || len(s.Searches[i].Fingerprint) != 71 {
			t.Errorf("searches[%d].Fingerprint = %q", i, s.Searches[i].Fingerprint)
		}
		want.Searches[i].Fingerprint = s.Searches[i].Fingerprint
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Load:\n got  %+v\n want %+v", s, want)
	}
	if s.API.QPS != 2.5 {
		t.Errorf("QPS = %v", s.API.QPS)
	}
}

func TestDefaultQPS(t *testing.T) {
	s, err := Load(writeSpec(t, "version: 1\n", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.API.QPS != patsnap.DefaultQPS || s.API.BaseURL != "" || s.Interval != 0 || s.Searches != nil || s.Reports != nil {
		t.Errorf("defaults: %+v", s)
	}
}

func TestLoadMissingFileIsNotASpecError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var se *Error
	if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &se) {
		t.Fatalf("err = %v, want a wrapped fs.ErrNotExist", err)
	}
}

// TestGolden pins the exact problem output, hints included, for a set of bad
// specs. Run with -update to rewrite the .golden files.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no bad specs: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			got := render(t, p)
			golden := strings.TrimSuffix(p, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// render loads the bad spec at path and writes its problems as the validate
// command does, one per line with hints beneath.
func render(t *testing.T, path string) string {
	t.Helper()
	_, err := Load(path)
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Load(%s) = %v, want *Error", path, err)
	}
	var b strings.Builder
	for _, p := range se.Problems {
		b.WriteString(p.String() + "\n")
		if p.Hint != "" {
			b.WriteString("hint: " + p.Hint + "\n")
		}
	}
	if b.String() == "" || se.Error()+"\n" != stripHints(b.String()) {
		t.Errorf("Error() and Problems disagree:\n%s\n---\n%s", se.Error(), b.String())
	}
	return b.String()
}

func stripHints(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "hint: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestProblemsAreDeterministic(t *testing.T) {
	first := render(t, "testdata/bad/many.yaml")
	for i := 0; i < 20; i++ {
		if got := render(t, "testdata/bad/many.yaml"); got != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, got, first)
		}
	}
}

func TestFilePathAsGiven(t *testing.T) {
	_, err := Parse("some/dir/../x.yaml", []byte("version: 3\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "some/dir/../x.yaml:1:10: version: ") {
		t.Fatalf("err = %v, want the path exactly as given", err)
	}
}

func TestHugeFileIsRefusedWithLocation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.yaml")
	garbage := bytes.Repeat([]byte("x: [\x01\xff garbage &a *a\n"), 10<<20/24)
	if err := os.WriteFile(p, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	var se *Error
	if !errors.As(err, &se) || len(se.Problems) != 1 {
		t.Fatalf("Load = %v, want one located problem", err)
	}
	if got := se.Problems[0]; got.Line != 1 || got.Col != 1 || !strings.Contains(got.Msg, "larger than 1048576 bytes") {
		t.Errorf("problem = %+v", got)
	}
}

func TestAliasBombIsRefusedWithLocation(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.HasPrefix(err.Error(), "bomb.yaml:3:10: YAML aliases expand") {
		t.Fatalf("err = %v", err)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestDesignNumbers(t *testing.T) {
	for pn, want := range map[string]bool{
		"CN305123456S":     true,
		"EU0065350760001S": true,
		"USD0912345S1":     true,
		"USD912345":        true,
		"USD912345S":       true,
		"JP1234567S":       true,
		"KR3012345670000S": true,
		"CN108977442B":     false,
		"CN204123456U":     false,
		"US11113794B2":     false,
		"US20200123456A1":  false,
		"EP3123456B1":      false,
		"WO2020123456A1":   false,
		"CN108977442":      false,
		"USRE45678E":       false,
		"US5123456S":       true,
	} {
		if got := IsDesignNumber(pn); got != want {
			t.Errorf("IsDesignNumber(%q) = %v, want %v", pn, got, want)
		}
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestLoadRefusesPipesAndDevices: a spec or image path that is a named pipe
// or a device is refused at once, never read (a read would block until a
// writer came).
func TestLoadRefusesPipesAndDevices(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "spec.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes here: %v", err)
	}
	imgFifo := filepath.Join(dir, "img.png")
	if err := syscall.Mkfifo(imgFifo, 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	src := "version: 1\nsearches:\n  - name: s\n    image: img.png\n    patent_type: D\n    model: 1\n"
	if err := os.WriteFile(good, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{fifo, "is a named pipe (FIFO), not a YAML file"},
		{os.DevNull, "is a device, not a YAML file"},
		{good, `image "img.png" is a named pipe (FIFO), not an image file`},
	}
	for _, tt := range tests {
		done := make(chan error, 1)
		go func() {
			_, err := Load(tt.path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v; want %q", tt.path, err, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still blocked after 10s", tt.path)
		}
	}
}
