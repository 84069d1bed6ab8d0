package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// specFiles lists every spec of the examples and the test data: the YAML
// files with a searches or reports key.
func specFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, root := range []string{"../examples", "../spec/testdata", "../schema/testdata", "../cmd/patwatch/testdata"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || (!strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml")) {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(data, []byte("searches:")) || bytes.Contains(data, []byte("reports:")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 20 {
		t.Fatalf("found only %d specs: %v", len(files), files)
	}
	return files
}

// TestFormatKeepsMeaning: on every spec of the examples and the test data,
// Format keeps each search's fingerprint (and everything else a valid spec
// means), and formatting again changes nothing.
func TestFormatKeepsMeaning(t *testing.T) {
	formatted, valid := 0, 0
	for _, file := range specFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Format(data)
		if err != nil {
			if _, yerr := oneDocument(data); yerr == nil {
				t.Errorf("%s: %v", file, err)
			}
			continue // not YAML at all: nothing to format
		}
		formatted++
		again, err := Format(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Errorf("%s: formatting the canonical form again changes it (%v):\n%s\n---\n%s", file, err, out, again)
		}
		before, errBefore := Parse(file, data)
		after, errAfter := Parse(file, out)
		if (errBefore == nil) != (errAfter == nil) {
			t.Errorf("%s: valid before fmt: %v; after: %v", file, errBefore, errAfter)
			continue
		}
		if errBefore != nil {
			continue
		}
		valid++
		for i, s := range before.Searches {
			if after.Searches[i].Name != s.Name || after.Searches[i].Fingerprint != s.Fingerprint {
				t.Errorf("%s: search %s has fingerprint %s after fmt, %s before", file, s.Name, after.Searches[i].Fingerprint, s.Fingerprint)
			}
		}
	}
	if valid < 5 {
		t.Errorf("only %d of the %d specs formatted were valid", valid, formatted)
	}
}

func TestFormatCanonicalForm(t *testing.T) {
	in := `# yaml-language-server: $schema=spec.schema.json
searches:
    - model: 1     # the model
      patent_type: D
      name: a
      image: https://img.test/a.png
      filters: {loc: "(14-03)", country: [US]}


    - name: b
      image: https://img.test/b.png
      patent_type: D
      model: 1
x-defaults: &d
    patent_type: D
version: 1
`
	want := `# yaml-language-server: $schema=spec.schema.json
x-defaults: &d
  patent_type: D
version: 1
searches:
  - name: a
    image: https://img.test/a.png
    patent_type: D
    model: 1 # the model
    filters: {country: [US], loc: "(14-03)"}

  - name: b
    image: https://img.test/b.png
    patent_type: D
    model: 1
`
	out, err := Format([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("Format:\n%s\nwant:\n%s", out, want)
	}
}

// TestFormatDecisions: a decisions file takes its schema's order (version,
// then decisions; in a decision, verdict, note, by, at, searches), keeps
// the patents' order and every comment, and formatting again changes
// nothing.
func TestFormatDecisions(t *testing.T) {
	in := `decisions:
    # the phone team's
    CN305104902S:
        note: "kitchen scale, not a phone"
        verdict: not_relevant   # checked twice
        searches: [phone-designs]
        at: 2026-12-07
    CN215812345U: {verdict: report}
version: 1
`
	want := `version: 1
decisions:
  # the phone team's
  CN305104902S:
    verdict: not_relevant # checked twice
    note: "kitchen scale, not a phone"
    at: 2026-12-07
    searches: [phone-designs]
  CN215812345U: {verdict: report}
`
	out, err := FormatDecisions([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("FormatDecisions:\n%s\nwant:\n%s", out, want)
	}
	if again, err := FormatDecisions(out); err != nil || !bytes.Equal(again, out) {
		t.Errorf("formatting again changes it (%v):\n%s", err, again)
	}
}
