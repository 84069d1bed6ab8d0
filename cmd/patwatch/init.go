package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/report"
)

// initFiles are the files 'patwatch init' writes, as templates. The
// workflows are examples/ci's, which a test keeps equal to what init writes.
//
//go:embed initfiles
var initFiles embed.FS

// ciWorkflows are the GitHub Actions workflows of --ci github: the template
// in initfiles and the file init writes under .github/workflows.
var ciWorkflows = []struct{ template, target string }{
	{"scheduled.yml", "patwatch-scheduled.yml"},
	{"pull-request.yml", "patwatch-pull-request.yml"},
	{"pull-request-comment.yml", "patwatch-pull-request-comment.yml"},
}

// initPaths are the paths the templates name, relative to the working
// directory (the repository's root), with slashes.
type initPaths struct {
	Spec, State, Reports, Changes string
}

func newInitPaths(specPath string) initPaths {
	spec := filepath.ToSlash(filepath.Clean(specPath))
	dir := path.Dir(spec)
	join := func(name string) string {
		if dir == "." {
			return name
		}
		return dir + "/" + name
	}
	return initPaths{Spec: spec, State: join("patwatch.state.json"), Reports: join("reports"), Changes: join("changes")}
}

// renderInit fills in the template name.
func renderInit(name string, p initPaths) ([]byte, error) {
	src, err := initFiles.ReadFile("initfiles/" + name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Delims("<%", "%>").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// runInit implements 'patwatch init': a starter spec, the .gitignore lines
// for patwatch's side files, and with --ci github the CI workflows. It
// writes nothing if any file it would create exists.
func runInit(_ context.Context, e env, args []string) error {
	fl := flagSet(e, "init")
	specPath := fl.String("f", defaultSpec, "write the starter spec to `SPEC`")
	var ci string
	choiceVar(fl, &ci, "ci", "", "CI system", []string{"github"}, "also write the CI workflows of `CI`: github (GitHub Actions)")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if *specPath == "-" {
		return hint.Wrap(errors.New("-f -: init writes a file; name it"), "for example -f patwatch.yaml")
	}
	if err := writeInit(e, *specPath, ci); err != nil {
		return err
	}
	return nil
}

func writeInit(e env, specPath, ci string) error {
	p := newInitPaths(specPath)
	if ci != "" && (filepath.IsAbs(specPath) || strings.HasPrefix(p.Spec, "../")) {
		return hint.Wrap(fmt.Errorf("--ci %s: the spec %s is outside the working directory", ci, specPath),
			"run init at the root of the repository that will hold the spec")
	}
	type file struct {
		path string
		data []byte
	}
	var files []file
	specData, err := renderInit("patwatch.yaml", p)
	if err != nil {
		return err
	}
	files = append(files, file{specPath, specData})
	if ci == "github" {
		for _, wf := range ciWorkflows {
			data, err := renderInit(wf.template, p)
			if err != nil {
				return err
			}
			files = append(files, file{filepath.Join(".github", "workflows", wf.target), data})
		}
	}

	// Refuse before writing anything: init never replaces a file.
	var exist []string
	for _, f := range files {
		if _, err := os.Lstat(f.path); err == nil {
			exist = append(exist, f.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(exist) > 0 {
		return hint.Wrap(fmt.Errorf("%s already %s; init never overwrites a file, so it wrote nothing",
			strings.Join(exist, ", "), report.Plural(len(exist), "exists", "exist")),
			"move it aside, or name another spec with -f FILE")
	}
	if dir := filepath.Dir(specPath); dir != "." {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return hint.Wrap(fmt.Errorf("-f %s: directory %s does not exist", specPath, dir), "create it first")
		}
	}

	gitignore := filepath.Join(filepath.Dir(specPath), ".gitignore")
	ignoreData, added, err := gitignoreWith(gitignore)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.path, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		fmt.Fprintf(e.stdout, "wrote %s\n", f.path)
	}
	if added > 0 {
		if err := atomicfile.WriteFile(gitignore, ignoreData, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", gitignore, err)
		}
		fmt.Fprintf(e.stdout, "added %s to %s\n", plural(added, "line", "lines"), gitignore)
	}
	fmt.Fprintf(e.stdout, "\nNext: edit %s, then try it without credentials:\n  patwatch apply --sandbox -f %s --state sandbox.state.json\n", specPath, specPath)
	if ci == "github" {
		fmt.Fprintln(e.stdout, "Set the repository secret PATSNAP_API_KEY (or PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET) for the scheduled workflow.")
	}
	return nil
}

// gitignoreWith returns the .gitignore at path with the lines of
// initfiles/gitignore it lacks added at its end, and how many rule lines
// were added. A file that has them all is left as it is (added 0).
func gitignoreWith(path string) ([]byte, int, error) {
	want, err := initFiles.ReadFile("initfiles/gitignore")
	if err != nil {
		return nil, 0, err
	}
	have, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, err
	}
	present := map[string]bool{}
	for _, l := range strings.Split(string(have), "\n") {
		present[strings.TrimSpace(l)] = true
	}
	var block []string
	added := 0
	for _, l := range strings.Split(strings.TrimRight(string(want), "\n"), "\n") {
		isRule := l != "" && !strings.HasPrefix(l, "#")
		if isRule && present[l] {
			continue
		}
		if isRule {
			added++
		}
		block = append(block, l)
	}
	if added == 0 {
		return have, 0, nil
	}
	out := bytes.Clone(have)
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	if len(out) > 0 {
		out = append(out, '\n')
	}
	out = append(out, strings.Join(block, "\n")+"\n"...)
	return out, added, nil
}
