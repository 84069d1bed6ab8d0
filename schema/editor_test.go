package schema_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/schema"
	"github.com/patwatch/patwatch/spec"
)

// editorServerVersion is the yaml-language-server release the editor test
// pins: its verdicts and messages are what this version shows.
const editorServerVersion = "2.0.0"

// editorServerEnv names the server's start script when it is installed
// elsewhere than .ci/run puts it.
const editorServerEnv = "PATWATCH_TEST_YAML_LANGUAGE_SERVER"

// editorServerPath is where .ci/run installs yaml-language-server from npm,
// relative to this package (.tmp/ is ignored by git).
const editorServerPath = "../.tmp/yaml-language-server/node_modules/yaml-language-server/bin/yaml-language-server"

// editorServer returns the command that starts yaml-language-server on
// stdio. Without Node or the server it skips the test, except under CI,
// which must run it.
func editorServer(t *testing.T) []string {
	t.Helper()
	script := os.Getenv(editorServerEnv)
	if script == "" {
		script = editorServerPath
	}
	missing := func(why string) {
		t.Helper()
		msg := why + "; install the server with: npm install --prefix .tmp/yaml-language-server yaml-language-server@" + editorServerVersion +
			" (or set " + editorServerEnv + " to its bin/yaml-language-server)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	if _, err := os.Stat(script); err != nil {
		missing("no yaml-language-server at " + script)
	}
	out, err := exec.Command(node, script, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", script, err)
	}
	if v := strings.TrimSpace(string(out)); v != editorServerVersion {
		t.Fatalf("%s is yaml-language-server %s; this test pins %s", script, v, editorServerVersion)
	}
	return []string{node, script, "--stdio"}
}

// openEditor starts yaml-language-server as an editor would, with the
// schema 'patwatch schema' prints associated with every YAML file, and
// returns once the server has taken its settings. It never goes to the
// network: the schema store and the Kubernetes catalogue are off, and any
// HTTP request it would still make goes through a proxy on loopback port 9
// (discard), never off the machine.
func openEditor(ctx context.Context, t *testing.T) *lspServer {
	t.Helper()
	argv := editorServer(t)
	schemaFile := filepath.Join(t.TempDir(), "spec.schema.json")
	if err := os.WriteFile(schemaFile, schema.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{
		"yaml": map[string]any{
			"validate":           true,
			"completion":         true,
			"hover":              false,
			"schemas":            map[string]any{fileURI(schemaFile): "*.yaml"},
			"schemaStore":        map[string]any{"enable": false},
			"kubernetesCRDStore": map[string]any{"enable": false},
		},
		"http": map[string]any{"proxy": "http://127.0.0.1:9", "proxyStrictSSL": true},
	}
	s := startLSP(t, settings, argv...)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	init := map[string]any{
		"processId": os.Getpid(),
		"rootUri":   fileURI(root),
		"locale":    "en",
		"capabilities": map[string]any{
			"workspace": map[string]any{"configuration": true},
			"textDocument": map[string]any{
				"completion":         map[string]any{"completionItem": map[string]any{"snippetSupport": true}},
				"publishDiagnostics": map[string]any{},
			},
		},
	}
	if err := s.call(ctx, "initialize", init, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.notify("initialized", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	// The server pulls its settings once initialized; its code lens
	// handler waits for that pull to be applied, so its answer means the
	// schema association is in place for every document opened after it.
	lens := map[string]any{"textDocument": map[string]any{"uri": fileURI(filepath.Join(root, "settings-barrier.yaml"))}}
	if err := s.call(ctx, "textDocument/codeLens", lens, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// open hands the server a document's text under the file's own URI.
func open(t *testing.T, s *lspServer, path string, text []byte) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	uri := fileURI(abs)
	doc := map[string]any{"uri": uri, "languageId": "yaml", "version": 1, "text": string(text)}
	if err := s.notify("textDocument/didOpen", map[string]any{"textDocument": doc}); err != nil {
		t.Fatal(err)
	}
	return uri
}

// TestEditorAgreesWithValidate opens every spec of the test data and the
// examples in yaml-language-server, as an editor does with the schema
// 'patwatch schema' prints, and compares its verdict with validate's. The
// editor never refuses what validate accepts; it refuses what validate
// refuses, but for the rules JSON Schema cannot state (the specs' first
// lines and validateOnly name them, docs/spec.md lists them); and for the
// either/or pairs it says validate's words at validate's line and column.
func TestEditorAgreesWithValidate(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s := openEditor(ctx, t)
	files := specPaths(t)
	srcs := map[string][]byte{}
	uris := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f], uris[f] = src, open(t, s, f, src)
	}
	agree, refused, editorRefused := 0, 0, 0
	for _, f := range files {
		diags, err := s.waitDiagnostics(ctx, uris[f])
		if err != nil {
			t.Fatal(err)
		}
		_, verr := spec.Load(f)
		var se *spec.Error
		if verr != nil && !errors.As(verr, &se) {
			t.Fatalf("%s: validate: %v", f, verr)
		}
		validateOK, editorOK := verr == nil, len(diags) == 0
		if validateOK == editorOK {
			agree++
		}
		if !validateOK {
			refused++
			if !editorOK {
				editorRefused++
			}
		}
		expect, reason := expected(f, srcs[f])
		switch {
		case validateOK && !editorOK:
			t.Errorf("%s: the editor refuses a spec validate accepts:\n%s", f, diagText(diags))
		case expect == "validate only" && !editorOK:
			t.Errorf("%s: want only validate to reject (%s); the editor says:\n%s", f, reason, diagText(diags))
		case expect != "validate only" && !validateOK && editorOK:
			t.Errorf("%s: the editor accepts a spec validate refuses:\n%v", f, verr)
		}
		if slices.Contains(inValidatesWords, f) && se != nil {
			saysValidatesWordsAt(t, f, se.Problems, diags)
		}
	}
	t.Logf("yaml-language-server %s on %d specs agrees with validate on %d: validate refuses %d, the editor %d of them; the %d others break rules JSON Schema cannot state",
		editorServerVersion, len(files), agree, refused, editorRefused, refused-editorRefused)
}

// saysValidatesWordsAt checks that the editor shows each of validate's
// problems, and nothing else, at validate's line and column in
// validatesWords.
func saysValidatesWordsAt(t *testing.T, f string, problems []spec.Problem, diags []diagnostic) {
	t.Helper()
	if len(diags) != len(problems) {
		t.Errorf("%s: validate finds %d problems, the editor %d:\n%s", f, len(problems), len(diags), diagText(diags))
	}
	for _, p := range problems {
		want := validatesWords(p)
		if !slices.ContainsFunc(diags, func(d diagnostic) bool {
			return d.Range.Start.Line+1 == p.Line && d.Range.Start.Character+1 == p.Col && words(d.Message) == want
		}) {
			t.Errorf("%s: validate says %d:%d: %q; the editor says:\n%s", f, p.Line, p.Col, want, diagText(diags))
		}
	}
}

// diagText lists diagnostics as LINE:COL: message (source), 1-based.
func diagText(diags []diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "  %d:%d: %s (%s)\n", d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message, d.Source)
	}
	return b.String()
}

// TestEditorCompletion: completing a field inserts its ": ", and of each
// either/or pair only the field not excluded by the one already set is
// offered.
func TestEditorCompletion(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s := openEditor(ctx, t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		text    string // the cursor is at the end
		offered []string
		absent  []string
	}{
		{"top level", "version: 1\n", []string{"interval: ", "searches", "reports"}, []string{"version"}},
		{"a search with neither", "version: 1\nsearches:\n  - name: a\n    ", []string{"image: ", "images", "interval: "}, nil},
		{"a search with image", "version: 1\nsearches:\n  - name: a\n    image: a.png\n    ", []string{"patent_type: "}, []string{"images", "image"}},
		{"a search with images", "version: 1\nsearches:\n  - name: a\n    images: [a.png, b.png]\n    ", []string{"patent_type: "}, []string{"image", "images"}},
		{"a report with neither", "version: 1\nreports:\n  - name: r\n    ", []string{"patent_number: ", "patent_id: "}, nil},
		{"a report with patent_id", "version: 1\nreports:\n  - name: r\n    patent_id: x\n    ", []string{"format: "}, []string{"patent_number", "patent_id"}},
		{"a channel with neither", "version: 1\nnotify:\n  - name: c\n    ", []string{"url_env: ", "url: "}, nil},
		{"a channel with url", "version: 1\nnotify:\n  - name: c\n    url: https://hooks.test/x\n    ", []string{"secret_env: "}, []string{"url_env", "url"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := open(t, s, filepath.Join(dir, fmt.Sprintf("completion-%d.yaml", i)), []byte(tt.text))
			lines := strings.Split(tt.text, "\n")
			at := map[string]any{"line": len(lines) - 1, "character": len(lines[len(lines)-1])}
			var res struct {
				Items []struct {
					Label      string `json:"label"`
					InsertText string `json:"insertText"`
				} `json:"items"`
			}
			params := map[string]any{"textDocument": map[string]any{"uri": uri}, "position": at}
			if err := s.call(ctx, "textDocument/completion", params, &res); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, it := range res.Items {
				got[it.Label] = it.InsertText
			}
			for _, want := range tt.offered {
				label, _, _ := strings.Cut(want, ":")
				text, ok := got[label]
				switch {
				case !ok:
					t.Errorf("%s is not offered; offered: %v", label, slices.Sorted(maps.Keys(got)))
				case strings.HasSuffix(want, ": ") && text != want:
					t.Errorf("%s inserts %q, want %q", label, text, want)
				}
			}
			for _, label := range tt.absent {
				if _, ok := got[label]; ok {
					t.Errorf("%s is offered; it must not be here", label)
				}
			}
		})
	}
}
