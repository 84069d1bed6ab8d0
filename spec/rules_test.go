package spec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Minimal files that pass the image checks: the magic bytes are what counts.
var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...)
	jpegBytes = append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{2}, 64)...)
)

// writeSpec writes src as spec.yaml into a fresh directory together with
// files (relative name → content) and returns the spec's path.
func writeSpec(t *testing.T, src string, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// problems loads src and returns its problems as "LINE:COL path: message"
// lines; a valid spec gives none.
func problems(t *testing.T, src string, files map[string][]byte) []string {
	t.Helper()
	_, err := Load(writeSpec(t, src, files))
	if err == nil {
		return nil
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Load: got %T %v, want *Error", err, err)
	}
	var out []string
	for _, p := range se.Problems {
		out = append(out, fmt.Sprintf("%d:%d %s: %s", p.Line, p.Col, p.Path, p.Msg))
	}
	return out
}

const head = "version: 1\n"

// search is a valid design search; tests append or replace lines in it.
const search = `searches:
  - name: s
    image: https://example.com/a.png
    patent_type: D
    model: 1
`

func TestRules(t *testing.T) {
	imgs := map[string][]byte{"a.png": pngBytes, "b.jpg": jpegBytes, "sub/c.png": append(bytes.Clone(pngBytes), 3), "d.png": pngBytes}
	tests := []struct {
		name string
		src  string
		// want holds, per expected problem in order, the start of its
		// "LINE:COL path: message" line; nil means the spec is valid.
		want []string
	}{
		{"minimal valid", head, nil},
		{"valid search", head + search, nil},
		{"empty file", "", []string{"1:1 : spec is empty"}},
		{"comments only", "# nothing\n# here\n", []string{"1:1 : spec is empty"}},
		{"null document", "~\n", []string{"1:1 : spec is empty"}},
		{"version missing", "searches: []\n", []string{"1:1 version: required field is missing"}},
		{"version other", "version: 2\n", []string{"1:10 version: unsupported spec version 2"}},
		{"version quoted", "version: \"1\"\n", []string{"1:10 version: must be the number 1, not the text \"1\""}},
		{"not a mapping", "- version: 1\n", []string{"1:1 : spec must be a mapping"}},
		{"second document", head + "---\n" + head, []string{"3:1 : spec must be a single YAML document"}},
		{"non-string key", head + "1: x\n", []string{"2:1 : field name \"1\" is not a string"}},
		{"null key", head + "~: x\n", []string{"2:1 : field name \"~\" is not a string"}},
		{"nan", head + "api: {qps: .nan}\n", []string{"2:12 api.qps: .nan is not a number"}},
		{"inf", head + "api:\n  qps: -.Inf\n", []string{"3:8 api.qps: -.Inf is not a number"}},
		{"timestamp is kept as text", head + "interval: 2024-01-01\n", []string{"2:11 interval: must be a duration"}},
		{"custom tag", head + "interval: !dur 6h\n", []string{"2:11 interval: YAML tag !dur is not supported"}},
		{"binary tag", head + "interval: !!binary aGk=\n", []string{"2:11 interval: YAML tag !!binary is not supported"}},
		{"duplicate key", head + "interval: 6h\ninterval: 7h\n", []string{"3:1 interval: field \"interval\" appears again (first at line 2)"}},
		{"syntax error", head + "searches:\n  - name: a\n  b: c\n", []string{"4:3 : invalid YAML: did not find expected '-' indicator (in the block that starts on line 3)"}},
		{"yaml directive", "%YAML 1.2\n---\n" + head, []string{"1:1 : invalid YAML: found incompatible YAML document"}},
		{"crlf and bom", "\ufeffversion: 1\r\nsearches:\r\n  - {name: a, image: https://x.com/a.png, patent_type: D, model: 1}\r\n", nil},
		{"whole numbers written as floats", head + "searches: [{name: a, image: https://x.com/a.png, patent_type: D, model: 1.0, max_results: 1e2}]\n", nil},
		{"tab indentation", head + "searches:\n\t- name: a\n", []string{"3:1 : invalid YAML: found character that cannot start any token"}},
		{"unknown top-level field", head + "serches: []\n", []string{"2:1 serches: unknown field"}},
		{"interval ok", head + "interval: 1h30m\n", nil},
		{"interval too short", head + "interval: 30s\n", []string{"2:11 interval: must be at least 1m, not 30s"}},
		{"interval not a duration", head + "interval: 6 hours\n", []string{"2:11 interval: must be a duration such as 30m"}},
		{"interval a number", head + "interval: 3600\n", []string{"2:11 interval: must be text, not a whole number"}},
		{"interval in days", head + "interval: 7d\n", nil},
		{"search interval ok", head + search + "    interval: 1d12h\n", nil},
		{"search interval too short", head + search + "    interval: 10s\n", []string{"7:15 searches[0].interval: must be at least 1m, not 10s"}},
		{"search allow_mass_drop", head + search + "    allow_mass_drop: true\n", nil},
		{"max_calls ok", head + "api: {max_calls: 500, max_calls_per_day: 2000}\n", nil},
		{"max_calls zero", head + "api: {max_calls: 0}\n", []string{"2:18 api.max_calls: must be at least 1, not 0"}},
		{"links ok", head + "links: {patent: \"https://worldwide.espacenet.com/patent/search?q=pn%3D{patent_pn}\"}\n", nil},
		{"links without placeholder", head + "links: {patent: \"https://example.com/p\"}\n", []string{"2:17 links.patent: must be an http(s) URL holding {patent_pn} or {patent_id}"}},
		{"links other scheme", head + "links: {patent: \"ftp://example.com/{patent_pn}\"}\n", []string{"2:17 links.patent: must be an http(s) URL"}},
		{"links without host", head + "links: {patent: \"https:///{patent_pn}\"}\n", []string{"2:17 links.patent: must be an absolute http(s) URL"}},
		{"notify ok", head + search + "notify:\n  - {name: team, url_env: PATWATCH_NOTIFY_TEAM, on: [new, error], searches: [s], min_score: 0.8}\n", nil},
		{"notify url and url_env", head + "notify:\n  - {name: team, url_env: X, url: \"https://h.example/x\"}\n", []string{"3:30 notify[0].url: set url or url_env, not both"}},
		{"notify neither url nor url_env", head + "notify:\n  - {name: team}\n", []string{"3:5 notify[0].url_env: required field is missing"}},
		{"notify unknown event", head + "notify:\n  - {name: team, url_env: X, on: [news]}\n", []string{"3:35 notify[0].on[0]: must be one of"}},
		{"notify unknown search", head + search + "notify:\n  - {name: team, url_env: X, searches: [t]}\n", []string{"8:41 notify[0].searches[0]: no search or report is named \"t\""}},
		{"notify duplicate name", head + "notify:\n  - {name: team, url_env: X}\n  - {name: team, url_env: Y}\n", []string{"4:12 notify[1].name: name \"team\" is already used by notify[0] (line 3)"}},
		{"notify bad variable name", head + "notify:\n  - {name: team, url_env: \"MY VAR\"}\n", []string{"3:27 notify[0].url_env: must be an environment variable name"}},
		{"base_url https", head + "api: {base_url: https://connect.patsnap.com/}\n", nil},
		{"base_url http loopback", head + "api: {base_url: \"http://127.0.0.1:8080\"}\n", nil},
		{"base_url http localhost", head + "api: {base_url: \"http://localhost:8080\"}\n", nil},
		{"base_url http ipv6 loopback", head + "api: {base_url: \"http://[::1]:8080\"}\n", nil},
		{"base_url http remote", head + "api: {base_url: \"http://connect.patsnap.com\"}\n", []string{"2:17 api.base_url: must use https"}},
		{"base_url http lookalike", head + "api: {base_url: \"http://localhost.evil.com\"}\n", []string{"2:17 api.base_url: must use https"}},
		{"base_url credentials", head + "api: {base_url: \"https://u:p@x.com\"}\n", []string{"2:17 api.base_url: must not contain a user name or password"}},
		{"base_url query", head + "api: {base_url: \"https://x.com/?apikey=sk-1\"}\n", []string{"2:17 api.base_url: must not have a query string"}},
		{"base_url ftp", head + "api: {base_url: \"ftp://x.com\"}\n", []string{"2:17 api.base_url: must be an https:// URL"}},
		{"qps zero", head + "api: {qps: 0}\n", []string{"2:12 api.qps: must be greater than 0, not 0"}},
		{"qps too high", head + "api: {qps: 101}\n", []string{"2:12 api.qps: must be at most 100, not 101"}},
		{"qps fraction", head + "api: {qps: 0.5}\n", nil},
		{"search name pattern", head + strings.Replace(search, "name: s", "name: Phone Designs", 1),
			[]string{"3:11 searches[0].name: must be lower-case letters"}},
		{"search name too long", head + strings.Replace(search, "name: s", "name: "+strings.Repeat("a", 65), 1),
			[]string{"3:11 searches[0].name: must be at most 64 characters long, not 65"}},
		{"search name missing", head + strings.Replace(search, "  - name: s\n    image", "  - image", 1),
			[]string{"3:5 searches[0].name: required field is missing"}},
		{"search names unique", head + search + strings.TrimPrefix(search, "searches:\n"),
			[]string{"7:11 searches[1].name: name \"s\" is already used by searches[0] (line 3)"}},
		{"search and report may share a name", head + search + "reports:\n  - {name: s, patent_number: CN108977442B}\n", nil},
		{"image and images", head + search + "    images: [a.png, b.jpg]\n",
			[]string{"7:5 searches[0].images: set image or images, not both"}},
		{"neither image nor images", head + strings.Replace(search, "    image: https://example.com/a.png\n", "", 1),
			[]string{"3:5 searches[0].image: required field is missing"}},
		{"images local", head + strings.Replace(search, "image: https://example.com/a.png", "images: [a.png, b.jpg, sub/c.png]", 1), nil},
		{"images one", head + strings.Replace(search, "image: https://example.com/a.png", "images: [a.png]", 1),
			[]string{"4:13 searches[0].images: needs at least 2 entries, not 1"}},
		{"images five", head + strings.Replace(search, "image: https://example.com/a.png", "images: [a.png, b.jpg, sub/c.png, https://x.com/d.png, https://x.com/e.png]", 1),
			[]string{"4:13 searches[0].images: takes at most 4 entries, not 5"}},
		{"images same bytes twice", head + strings.Replace(search, "image: https://example.com/a.png", "images: [a.png, d.png]", 1),
			[]string{"4:21 searches[0].images[1]: same image as images[0]"}},
		{"image missing file", head + strings.Replace(search, "https://example.com/a.png", "nope.png", 1),
			[]string{"4:12 searches[0].image: image file \"nope.png\" does not exist"}},
		{"image not png or jpeg", head + strings.Replace(search, "https://example.com/a.png", "notes.txt", 1),
			[]string{"4:12 searches[0].image: image file \"notes.txt\" is not a PNG or JPEG image"}},
		{"image is a directory", head + strings.Replace(search, "https://example.com/a.png", "sub", 1),
			[]string{"4:12 searches[0].image: image \"sub\" is not a regular file"}},
		{"image too large", head + strings.Replace(search, "https://example.com/a.png", "big.png", 1),
			[]string{"4:12 searches[0].image: image file is 4.0 MB; PatSnap accepts at most 4 MB"}},
		{"image ftp url", head + strings.Replace(search, "https://example.com/a.png", "ftp://example.com/a.png", 1),
			[]string{"4:12 searches[0].image: \"ftp\" URLs are not supported"}},
		{"image url without host", head + strings.Replace(search, "https://example.com/a.png", "https:///a.png", 1),
			[]string{"4:12 searches[0].image: URL has no host"}},
		{"image empty", head + strings.Replace(search, "https://example.com/a.png", `""`, 1),
			[]string{"4:12 searches[0].image: must not be empty"}},
		{"patent_type enum", head + strings.Replace(search, "patent_type: D", "patent_type: d", 1),
			[]string{"5:18 searches[0].patent_type: must be one of \"D\", \"U\", not \"d\""}},
		{"model range", head + strings.Replace(search, "model: 1", "model: 5", 1),
			[]string{"6:12 searches[0].model: must be one of 1, 2, 3, 4, not 5"}},
		{"model for utility on design", head + strings.Replace(search, "model: 1", "model: 4", 1),
			[]string{"6:12 searches[0].model: model 4 is for utility models"}},
		{"model for design on utility", head + strings.Replace(search, "patent_type: D", "patent_type: U", 1),
			[]string{"6:12 searches[0].model: model 1 is for design patents"}},
		{"utility model ok", head + strings.Replace(strings.Replace(search, "patent_type: D", "patent_type: U", 1), "model: 1", "model: 3", 1), nil},
		{"all filters", head + search + `    filters:
      country: [US, EU, CN]
      loc: "(14-03 OR 14-02)"
      legal_status: [3, 2]
      simple_legal_status: [1, 2]
      apply_start_time: "20100101"
      apply_end_time: "20200101"
      public_start_time: "20100101"
      public_end_time: "20200229"
      assignees: huawei
      main_field: "(phones or 手机)"
      lang: en
      field: SCORE
      order: desc
      stemming: 1
      pre_filter: 0
`, nil},
		{"country lower case", head + search + "    filters: {country: [us]}\n",
			[]string{"7:25 searches[0].filters.country[0]: must be a two-letter upper-case office code"}},
		{"legal_status unknown", head + search + "    filters: {legal_status: [3, 4]}\n",
			[]string{"7:33 searches[0].filters.legal_status[1]: must be one of 1, 2, 3, 8,"}},
		{"legal_status as a string", head + search + "    filters: {legal_status: \"3,2\"}\n",
			[]string{"7:29 searches[0].filters.legal_status: must be a list, not text"}},
		{"simple_legal_status unknown", head + search + "    filters: {simple_legal_status: [5]}\n",
			[]string{"7:37 searches[0].filters.simple_legal_status[0]: must be one of 0, 1, 2, 220, 221, 999, not 5"}},
		{"date unquoted", head + search + "    filters:\n      apply_start_time: 20100101\n",
			[]string{"8:25 searches[0].filters.apply_start_time: must be text, not a whole number"}},
		{"date with dashes", head + search + "    filters:\n      apply_start_time: \"2010-01-01\"\n",
			[]string{"8:25 searches[0].filters.apply_start_time: must be a date written yyyyMMdd"}},
		{"date not in calendar", head + search + "    filters:\n      public_end_time: \"20230229\"\n",
			[]string{"8:24 searches[0].filters.public_end_time: 20230229 is not a calendar date"}},
		{"date month 13", head + search + "    filters:\n      apply_end_time: \"20231301\"\n",
			[]string{"8:23 searches[0].filters.apply_end_time: 20231301 is not a calendar date"}},
		{"apply end before start", head + search + "    filters:\n      apply_start_time: \"20200101\"\n      apply_end_time: \"20191231\"\n",
			[]string{"9:23 searches[0].filters.apply_end_time: 20191231 is before apply_start_time 20200101"}},
		{"public end before start", head + search + "    filters:\n      public_end_time: \"20100101\"\n      public_start_time: \"20100102\"\n",
			[]string{"8:24 searches[0].filters.public_end_time: 20100101 is before public_start_time 20100102"}},
		{"same start and end", head + search + "    filters:\n      apply_start_time: \"20200101\"\n      apply_end_time: \"20200101\"\n", nil},
		{"lang enum", head + search + "    filters: {lang: EN}\n", []string{"7:21 searches[0].filters.lang: must be one of \"original\", \"cn\", \"en\", not \"EN\""}},
		{"field enum", head + search + "    filters: {field: date}\n", []string{"7:22 searches[0].filters.field: must be one of \"SCORE\", \"APD\", \"PBD\", \"ISD\""}},
		{"order enum", head + search + "    filters: {order: up}\n", []string{"7:22 searches[0].filters.order: must be one of \"desc\", \"asc\""}},
		{"stemming enum", head + search + "    filters: {stemming: 2}\n", []string{"7:25 searches[0].filters.stemming: must be one of 0, 1, not 2"}},
		{"pre_filter bool", head + search + "    filters: {pre_filter: true}\n", []string{"7:27 searches[0].filters.pre_filter: must be a whole number, not a boolean"}},
		{"unknown filter", head + search + "    filters: {colour: red}\n", []string{"7:15 searches[0].filters.colour: unknown field"}},
		{"filter at search level", head + search + "    country: [US]\n", []string{"7:5 searches[0].country: unknown field"}},
		{"max_results max", head + search + "    max_results: 1100\n", nil},
		{"max_results beyond paging", head + search + "    max_results: 1101\n", []string{"7:18 searches[0].max_results: must be at most 1100, not 1101"}},
		{"max_results zero", head + search + "    max_results: 0\n", []string{"7:18 searches[0].max_results: must be at least 1, not 0"}},
		{"max_results fraction", head + search + "    max_results: 10.5\n", []string{"7:18 searches[0].max_results: must be a whole number, not a number with a fraction"}},
		{"min_score range", head + search + "    min_score: 1.5\n", []string{"7:16 searches[0].min_score: must be at most 1, not 1.5"}},
		{"min_score with SCORE", head + search + "    min_score: 0.5\n    filters: {field: SCORE}\n", nil},
		{"min_score with date ranking", head + search + "    min_score: 0.5\n    filters: {field: APD}\n",
			[]string{"7:16 searches[0].min_score: has no effect: results ranked by APD carry no similarity score"}},
		{"drop_after zero", head + search + "    drop_after: 0\n", []string{"7:17 searches[0].drop_after: must be at least 1, not 0"}},
		{"suspend yes", head + search + "    suspend: yes\n", []string{"7:14 searches[0].suspend: must be true or false, not text"}},
		{"search not a mapping", head + "searches: [phone]\n", []string{"2:12 searches[0]: must be a mapping, not text"}},
		{"searches empty value", head + "searches:\n", []string{"2:10 searches: must be a list, not empty"}},
		{"report number", head + "reports:\n  - {name: r, patent_number: CN108977442B}\n", nil},
		{"report id", head + "reports:\n  - {name: r, patent_id: 6e433449-143b-41d9-9abf-6c6519b07779}\n", nil},
		{"report both", head + "reports:\n  - {name: r, patent_number: CN108977442B, patent_id: abc}\n",
			[]string{"3:44 reports[0].patent_id: set patent_number or patent_id, not both"}},
		{"report neither", head + "reports:\n  - {name: r, format: pdf}\n",
			[]string{"3:5 reports[0].patent_number: required field is missing"}},
		{"report names unique", head + "reports:\n  - {name: r, patent_number: CN108977442B}\n  - {name: r, patent_number: CN1B}\n",
			[]string{"4:12 reports[1].name: name \"r\" is already used by reports[0] (line 3)"}},
		{"report design CN", head + "reports:\n  - {name: r, patent_number: CN305123456S}\n",
			[]string{"3:30 reports[0].patent_number: CN305123456S is a design patent"}},
		{"report design US", head + "reports:\n  - {name: r, patent_number: USD0912345S1}\n",
			[]string{"3:30 reports[0].patent_number: USD0912345S1 is a design patent"}},
		{"report design EU", head + "reports:\n  - {name: r, patent_number: EU0065350760001S}\n",
			[]string{"3:30 reports[0].patent_number: EU0065350760001S is a design patent"}},
		{"report number lower case", head + "reports:\n  - {name: r, patent_number: cn108977442b}\n",
			[]string{"3:30 reports[0].patent_number: must be a publication number such as CN108977442B"}},
		{"report number as a number", head + "reports:\n  - {name: r, patent_number: 108977442}\n",
			[]string{"3:30 reports[0].patent_number: must be text, not a whole number"}},
		{"report format", head + "reports:\n  - {name: r, patent_number: CN108977442B, format: docx}\n",
			[]string{"3:52 reports[0].format: must be one of \"pdf\", \"word\", not \"docx\""}},
		{"report logo", head + "reports:\n  - {name: r, patent_number: CN108977442B, logo: \"false\"}\n",
			[]string{"3:50 reports[0].logo: must be true or false, not text"}},
		{"report unknown field", head + "reports:\n  - {name: r, patent_number: CN108977442B, logos: false}\n",
			[]string{"3:44 reports[0].logos: unknown field"}},
		{"merge keys", head + "searches:\n  - &base\n    name: a\n    image: https://x.com/a.png\n    patent_type: D\n    model: 1\n  - <<: *base\n    name: b\n", nil},
		{"merge key error points at the anchor", head + "searches:\n  - &base\n    name: a\n    image: https://x.com/a.png\n    patent_type: D\n    model: 7\n  - <<: *base\n    name: b\n",
			[]string{"7:12 searches[0].model: must be one of", "7:12 searches[1].model: must be one of"}},
		{"nested too deeply", head + "searches: " + strings.Repeat("[", 20) + strings.Repeat("]", 20) + "\n",
			[]string{"2:12 searches[0]: must be a mapping, not a list", "2:27 searches" + strings.Repeat("[0]", 15) + ": values are nested more than 16 levels deep"}},
		{"alias cycle", head + "x: &x\n  y: *x\n", []string{"3:6 : alias *x refers to a value that contains it"}},
		{"too many fields", head + "searches:\n  - {" + manyFields(65) + "}\n",
			[]string{"3:5 searches[0]: mapping has 65 fields; no part of a spec has more than 64"}},
		{"too many values", head + "searches: [" + strings.Repeat("1, ", MaxValues) + "1]\n",
			[]string{"1:1 : spec holds more than 50000 values"}},
		{"aliases expand too far", head + "x: &x [" + strings.Repeat("1, ", 999) + "1]\ny: [" + strings.Repeat("*x, ", 99) + "*x]\n",
			[]string{"3:5 : YAML aliases expand the spec to more than 50000 values"}},
		{"several problems sorted by position", head + "reports:\n  - {name: R}\nsearches:\n  - {name: a}\ninterval: 1s\n", []string{
			"3:5 reports[0].patent_number: required field is missing",
			"3:12 reports[0].name: must be lower-case",
			"5:5 searches[0].image: required field is missing",
			"5:5 searches[0].model: required field is missing",
			"5:5 searches[0].patent_type: required field is missing",
			"6:11 interval: must be at least 1m",
		}},
	}
	bigPNG := append(bytes.Clone(pngBytes), make([]byte, MaxImageSize)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"notes.txt": []byte("not an image"), "big.png": bigPNG, "sub/.keep": nil}
			for k, v := range imgs {
				files[k] = v
			}
			got := problems(t, tt.src, files)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got  %s\n want %s…", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// manyFields writes n distinct flow-mapping fields.
func manyFields(n int) string {
	fields := make([]string, n)
	for i := range fields {
		fields[i] = fmt.Sprintf("f%d: 1", i)
	}
	return strings.Join(fields, ", ")
}

// TestYAMLErrorsNameTheOffendingLine: yaml.v3 reports the line where the
// enclosing block starts; the problem is located at the token the parser
// could not fit instead, proven by parsing the lines before it, and its
// message names the block's line.
func TestYAMLErrorsNameTheOffendingLine(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // the whole problem
	}{
		{"a key indented less than its siblings",
			"version: 1\nsearches:\n  - name: a\n    image: https://x.com/a.png\n    patent_type: D\n   model: 1\n",
			"6:4 : invalid YAML: did not find expected '-' indicator (in the block that starts on line 3)"},
		{"a key indented less, further down",
			"version: 1\nsearches:\n  - name: a\n    image: https://x.com/a.png\n    patent_type: D\n    model: 1\n    filters:\n      country: [US]\n\n   max_results: 5\n",
			"10:4 : invalid YAML: did not find expected '-' indicator (in the block that starts on line 3)"},
		{"a list item's key out of line",
			"version: 1\nsearches:\n  - name: a\n  b: c\n",
			"4:3 : invalid YAML: did not find expected '-' indicator (in the block that starts on line 3)"},
		{"an unclosed flow list",
			"version: 1\nsearches:\n  - name: phones\n    image: [https://example.com/a.png\n    patent_type: D\n",
			"4:1 : invalid YAML: did not find expected ',' or ']'"},
		{"a key indented more: the scanner names its line itself",
			"version: 1\napi:\n  qps: 5\n  base_url: x\n   bad: 1\n",
			"5:1 : invalid YAML: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src, nil)
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}
