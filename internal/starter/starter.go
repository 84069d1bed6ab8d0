// Package starter holds the files 'patwatch init' writes: a starter spec
// (the schema line for editors, one commented search and report), the
// .gitignore lines for patwatch's side files beside it, and with a CI
// system its workflows, the same as examples/ci (a test keeps them equal).
// Write never replaces a file: if one it would write exists, it writes
// nothing.
package starter

import (
	"bytes"
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

// files are the templates of what Write writes.
//
//go:embed files
var files embed.FS

// CIGitHub names the GitHub Actions workflows.
const CIGitHub = "github"

// ciWorkflows are the GitHub Actions workflows of CIGitHub: the template in
// files and the file written under .github/workflows.
var ciWorkflows = []struct{ template, target string }{
	{"scheduled.yml", "patwatch-scheduled.yml"},
	{"pull-request.yml", "patwatch-pull-request.yml"},
	{"pull-request-comment.yml", "patwatch-pull-request-comment.yml"},
}

// paths are the paths the templates name, relative to the working
// directory (the repository's root), with slashes.
type paths struct {
	Spec, State, Reports, Changes string
}

func pathsFor(specPath string) paths {
	spec := filepath.ToSlash(filepath.Clean(specPath))
	dir := path.Dir(spec)
	join := func(name string) string {
		if dir == "." {
			return name
		}
		return dir + "/" + name
	}
	return paths{Spec: spec, State: join("patwatch.state.json"), Reports: join("reports"), Changes: join("changes")}
}

// render fills in the template name.
func render(name string, p paths) ([]byte, error) {
	src, err := files.ReadFile("files/" + name)
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

// Written is what Write wrote.
type Written struct {
	Files []string // in the order written
	// Gitignore is the .gitignore Added rule lines were added to; "" when
	// it had them all.
	Gitignore string
	Added     int
}

// file is a file Write writes.
type file struct {
	path string
	data []byte
}

// Write writes the starter spec to specPath, with ci (CIGitHub, or "" for
// none) its CI workflows, and adds the .gitignore lines beside the spec.
// It refuses before writing anything when a file it would write exists.
// Written is what it wrote, even with an error.
func Write(specPath, ci string) (Written, error) {
	todo, err := planned(specPath, ci)
	if err != nil {
		return Written{}, err
	}
	gitignore := filepath.Join(filepath.Dir(specPath), ".gitignore")
	ignoreData, added, err := gitignoreWith(gitignore)
	if err != nil {
		return Written{}, err
	}
	var done Written
	for _, f := range todo {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return done, err
		}
		if err := atomicfile.WriteFile(f.path, f.data, 0o644); err != nil {
			return done, fmt.Errorf("write %s: %w", f.path, err)
		}
		done.Files = append(done.Files, f.path)
	}
	if added > 0 {
		if err := atomicfile.WriteFile(gitignore, ignoreData, 0o644); err != nil {
			return done, fmt.Errorf("write %s: %w", gitignore, err)
		}
		done.Gitignore, done.Added = gitignore, added
	}
	return done, nil
}

// planned renders the files Write writes, after checking that none of them
// exists and that the spec's directory does.
func planned(specPath, ci string) ([]file, error) {
	p := pathsFor(specPath)
	if ci != "" && (filepath.IsAbs(specPath) || strings.HasPrefix(p.Spec, "../")) {
		return nil, hint.Wrap(fmt.Errorf("--ci %s: the spec %s is outside the working directory", ci, specPath),
			"run init at the root of the repository that will hold the spec")
	}
	specData, err := render("patwatch.yaml", p)
	if err != nil {
		return nil, err
	}
	todo := []file{{specPath, specData}}
	if ci == CIGitHub {
		for _, wf := range ciWorkflows {
			data, err := render(wf.template, p)
			if err != nil {
				return nil, err
			}
			todo = append(todo, file{filepath.Join(".github", "workflows", wf.target), data})
		}
	}
	var exist []string
	for _, f := range todo {
		if _, err := os.Lstat(f.path); err == nil {
			exist = append(exist, f.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(exist) > 0 {
		return nil, hint.Wrap(fmt.Errorf("%s already %s; init never overwrites a file, so it wrote nothing",
			strings.Join(exist, ", "), report.Plural(len(exist), "exists", "exist")),
			"move it aside, or name another spec with -f FILE")
	}
	if dir := filepath.Dir(specPath); dir != "." {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, hint.Wrap(fmt.Errorf("-f %s: directory %s does not exist", specPath, dir), "create it first")
		}
	}
	return todo, nil
}

// gitignoreWith returns the .gitignore at path with the lines of
// files/gitignore it lacks added at its end, and how many rule lines were
// added. A file that has them all is left as it is (added 0).
func gitignoreWith(path string) ([]byte, int, error) {
	want, err := files.ReadFile("files/gitignore")
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
