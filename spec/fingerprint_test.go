package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fingerprints loads src (in a directory holding the given files) and
// returns each search's fingerprint by name.
func fingerprints(t *testing.T, src string, files map[string][]byte) map[string]string {
	t.Helper()
	s, err := Load(writeSpec(t, src, files))
	if err != nil {
		t.Fatalf("Load:\n%v\nspec:\n%s", err, src)
	}
	out := map[string]string{}
	for _, se := range s.Searches {
		if se.Fingerprint != QueryFingerprint(se) {
			t.Errorf("%s: Fingerprint %s differs from QueryFingerprint %s", se.Name, se.Fingerprint, QueryFingerprint(se))
		}
		out[se.Name] = se.Fingerprint
	}
	return out
}

const fpBase = `version: 1
searches:
  - name: s
    images: [a.png, https://example.com/b.png]
    patent_type: D
    model: 2
    filters:
      country: [US, EU, CN]
      loc: "(14-03 OR 14-02)"
      legal_status: [3, 2]
      simple_legal_status: [1, 2]
      apply_start_time: "20100101"
      apply_end_time: "20200101"
      public_start_time: "20110101"
      public_end_time: "20210101"
      assignees: huawei
      main_field: phones
      lang: en
      field: SCORE
      order: desc
      stemming: 1
      pre_filter: 1
    max_results: 200
    min_score: 0.5
    drop_after: 2
`

var fpFiles = map[string][]byte{"a.png": pngBytes, "other/a-copy.png": pngBytes, "c.jpg": jpegBytes}

func TestFingerprintStable(t *testing.T) {
	base := fingerprints(t, fpBase, fpFiles)["s"]
	same := map[string]string{
		"drop_after and suspend": strings.Replace(fpBase, "drop_after: 2", "drop_after: 7\n    suspend: true", 1),
		"key order": `version: 1
searches:
  - max_results: 200
    min_score: 0.5
    filters:
      pre_filter: 1
      stemming: 1
      order: desc
      field: SCORE
      lang: en
      main_field: phones
      assignees: huawei
      public_end_time: "20210101"
      public_start_time: "20110101"
      apply_end_time: "20200101"
      apply_start_time: "20100101"
      simple_legal_status: [1, 2]
      legal_status: [3, 2]
      loc: "(14-03 OR 14-02)"
      country: [US, EU, CN]
    model: 2
    patent_type: D
    images: [a.png, https://example.com/b.png]
    name: s
`,
		"set order and repeats":       strings.NewReplacer("[US, EU, CN]", "[CN, US, EU, US]", "[3, 2]", "[2, 3, 3]", "[1, 2]", "[2, 1]").Replace(fpBase),
		"image order without model 1": strings.Replace(fpBase, "[a.png, https://example.com/b.png]", "[https://example.com/b.png, a.png]", 1),
		"same bytes at another path":  strings.Replace(fpBase, "[a.png,", "[other/a-copy.png,", 1),
		"absolute path to same bytes": strings.Replace(fpBase, "[a.png,", "[ABS,", 1),
		"flow style":                  strings.Replace(fpBase, "country: [US, EU, CN]", "country:\n        - US\n        - EU\n        - CN", 1),
		"quoted strings":              strings.Replace(fpBase, "assignees: huawei", `assignees: "huawei"`, 1),
	}
	for name, src := range same {
		t.Run(name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range fpFiles {
				files[k] = v
			}
			dir := t.TempDir()
			if strings.Contains(src, "ABS") {
				abs := filepath.Join(dir, "elsewhere.png")
				if err := os.WriteFile(abs, pngBytes, 0o644); err != nil {
					t.Fatal(err)
				}
				// A file outside the spec's directory: the spec opts in.
				src = strings.Replace(src, "ABS", abs, 1)
				src = strings.Replace(src, "version: 1\n", "version: 1\nallow_outside_images: true\n", 1)
			}
			if got := fingerprints(t, src, files)["s"]; got != base {
				t.Errorf("fingerprint changed: %s, want %s", got, base)
			}
		})
	}
	if got := fingerprints(t, strings.Replace(fpBase, "name: s", "name: renamed", 1), fpFiles)["renamed"]; got != base {
		t.Errorf("renaming a search changed its fingerprint")
	}
	// Defaults and their explicit spelling give the same query.
	a := fingerprints(t, "version: 1\nsearches:\n  - {name: s, image: https://x.com/a.png, patent_type: D, model: 1}\n", nil)["s"]
	b := fingerprints(t, "version: 1\nsearches:\n  - {name: s, image: https://x.com/a.png, patent_type: D, model: 1, max_results: 100, min_score: 0, filters: {country: []}}\n", nil)["s"]
	if a != b {
		t.Errorf("explicit defaults changed the fingerprint: %s vs %s", a, b)
	}
}

func TestFingerprintSensitive(t *testing.T) {
	base := fingerprints(t, fpBase, fpFiles)["s"]
	changes := map[string][2]string{
		"image bytes":             {"[a.png,", "[c.jpg,"},
		"image url":               {"https://example.com/b.png", "https://example.com/B.png"},
		"image removed":           {"images: [a.png, https://example.com/b.png]", "image: a.png"},
		"patent_type and model":   {"patent_type: D\n    model: 2", "patent_type: U\n    model: 3"},
		"model":                   {"model: 2", "model: 1"},
		"country added":           {"[US, EU, CN]", "[US, EU, CN, JP]"},
		"country removed":         {"[US, EU, CN]", "[US, EU]"},
		"loc":                     {"(14-03 OR 14-02)", "(14-03)"},
		"legal_status":            {"legal_status: [3, 2]", "legal_status: [3]"},
		"simple_legal_status":     {"simple_legal_status: [1, 2]", "simple_legal_status: [1, 2, 999]"},
		"apply_start_time":        {"apply_start_time: \"20100101\"", "apply_start_time: \"20100102\""},
		"apply_end_time":          {"apply_end_time: \"20200101\"", "apply_end_time: \"20200102\""},
		"public_start_time":       {"public_start_time: \"20110101\"", "public_start_time: \"20110102\""},
		"public_end_time":         {"public_end_time: \"20210101\"", "public_end_time: \"20210102\""},
		"assignees":               {"assignees: huawei", "assignees: apple"},
		"main_field":              {"main_field: phones", "main_field: tablets"},
		"lang":                    {"lang: en", "lang: cn"},
		"field":                   {"field: SCORE", "field: APD"},
		"order":                   {"order: desc", "order: asc"},
		"stemming":                {"stemming: 1", "stemming: 0"},
		"stemming unset":          {"      stemming: 1\n", ""},
		"pre_filter":              {"pre_filter: 1", "pre_filter: 0"},
		"max_results":             {"max_results: 200", "max_results: 201"},
		"min_score":               {"min_score: 0.5", "min_score: 0.55"},
		"filter moved to another": {"apply_start_time: \"20100101\"\n      apply_end_time: \"20200101\"", "apply_start_time: \"20200101\"\n      apply_end_time: \"20200101\""},
	}
	seen := map[string]string{base: "base"}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(fpBase, c[0]) {
				t.Fatalf("base spec has no %q", c[0])
			}
			src := strings.Replace(fpBase, c[0], c[1], 1)
			if name == "field" {
				src = strings.Replace(src, "    min_score: 0.5\n", "", 1)
			}
			got := fingerprints(t, src, fpFiles)["s"]
			if got == base {
				t.Errorf("fingerprint did not change")
			}
			if other, dup := seen[got]; dup && other != name {
				t.Errorf("same fingerprint as %q", other)
			}
			seen[got] = name
		})
	}
}

func TestFingerprintImageOrderMattersForModel1(t *testing.T) {
	src := strings.Replace(fpBase, "model: 2", "model: 1", 1)
	a := fingerprints(t, src, fpFiles)["s"]
	b := fingerprints(t, strings.Replace(src, "[a.png, https://example.com/b.png]", "[https://example.com/b.png, a.png]", 1), fpFiles)["s"]
	if a == b {
		t.Error("with model 1 the first image drives the ranking, so reordering images must change the fingerprint")
	}
}

func TestQueryFingerprintHandlesAnyValue(t *testing.T) {
	// A hand-built Search (as other packages' tests make) must never panic.
	nan := 0.0
	nan /= nan
	if fp := QueryFingerprint(Search{MinScore: nan}); !strings.HasPrefix(fp, "sha256:") {
		t.Errorf("fingerprint = %q", fp)
	}
}
