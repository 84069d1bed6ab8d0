// Package planfile is the format of a saved plan (patwatch plan --save
// FILE, patwatch apply FILE): what a plan saw of the API and would do, with
// what it was made from, so that an apply can carry out exactly that plan
// later, or refuse it.
//
// A saved plan is a JSON object whose "kind" is "patwatch-plan" and whose
// "format_version" says its shape. Read checks the kind first, and names
// what a file of another kind is (a change report, a state file, a spec),
// then the version, refusing one it does not know with what to do. Write
// writes the current version only, atomically and with mode 0600: a plan
// holds the hits the API answered and their image links, never a
// credential (the state is named by its path or by its URL without its
// password).
package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/reconciler"
)

// Kind is the value of a saved plan's "kind".
const Kind = "patwatch-plan"

// FormatVersion is the version of the shape Write writes.
const FormatVersion = 1

// Plan is a saved plan.
type Plan struct {
	// Path is the file Read read the plan from, for messages; it is not
	// written.
	Path string
	// CreatedAt is when the plan was made, which bounds how long it may be
	// applied (its hits' image links and rankings age).
	CreatedAt       time.Time
	PatwatchVersion string
	// Spec is the spec the plan was made from: Path absolute, Name as the
	// command line gave it (the change report's spec).
	Spec File
	// Decisions is the spec's decisions file, whose SHA256 is empty when
	// there was none.
	Decisions File
	State     State
	// Simulated marks a plan made against the sandbox, which its apply
	// uses too.
	Simulated bool
	// AllowMassDrop is the plan's --allow-mass-drop, which its apply
	// keeps: the answers it accepted are the ones applied.
	AllowMassDrop bool
	// CallsMade is the API calls the plan made, which its apply counts
	// against the day's budget with its own.
	CallsMade int
	// Recording is what the plan saw and decided.
	Recording *reconciler.Recording
}

// File names a file a plan was made from and the digest of its bytes.
type File struct {
	Path   string
	Name   string
	SHA256 string // hex; empty: the file did not exist
}

// State is the state a plan was made on.
type State struct {
	// Target is the state file's absolute path, or the state's URL
	// without its password.
	Target  string
	Lineage string
	Serial  uint64
}

// Write writes p to path with mode 0600, replacing the file atomically.
// A file already there takes mode 0600 first, so that the plan is never
// readable by others.
func Write(path string, p *Plan) error {
	data, err := Marshal(p)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("save plan: %w", err)
		}
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return nil
}

// Marshal is p in the current format.
func Marshal(p *Plan) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(encode(p)); err != nil {
		return nil, fmt.Errorf("save plan: %w", err)
	}
	return buf.Bytes(), nil
}

// Read reads the saved plan at path. A file that is no saved plan is an
// error matching ErrNotAPlan that says what it is; a plan of a format
// version this patwatch does not know is an error that says what to do.
func Read(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, hint.Wrap(fmt.Errorf("saved plan %s does not exist", path), "write one with patwatch plan --save "+path)
		}
		return nil, fmt.Errorf("read saved plan: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a saved plan from data, read from the file path.
func Parse(path string, data []byte) (*Plan, error) {
	var head struct {
		Kind          string          `json:"kind"`
		FormatVersion json.RawMessage `json:"format_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Kind != Kind {
		return nil, &NotAPlanError{Path: path, What: whatIs(data)}
	}
	var version int
	if err := json.Unmarshal(head.FormatVersion, &version); err != nil {
		return nil, fmt.Errorf("saved plan %s: format_version %s is not a version number", path, head.FormatVersion)
	}
	switch {
	case version > FormatVersion:
		return nil, hint.Wrap(fmt.Errorf("saved plan %s has format version %d; this patwatch reads up to version %d", path, version, FormatVersion),
			"apply it with the patwatch that made it, or make the plan again with this one: patwatch plan --save "+path)
	case version < 1:
		return nil, fmt.Errorf("saved plan %s: format version %d does not exist", path, version)
	}
	var doc planV1
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("saved plan %s is damaged: %w", path, err)
	}
	p := doc.decode()
	p.Path = path
	return p, nil
}

// ErrNotAPlan is matched by the error of a file that is no saved plan.
var ErrNotAPlan = errors.New("not a saved plan")

// NotAPlanError is a file given as a saved plan that is something else.
type NotAPlanError struct {
	Path string
	What string // what it is: "a change report", "a state file", …
}

func (e *NotAPlanError) Error() string {
	return fmt.Sprintf("%s is %s, not a saved plan: write one with plan --save", e.Path, e.What)
}

// Is makes the error match ErrNotAPlan.
func (e *NotAPlanError) Is(target error) bool { return target == ErrNotAPlan }

// Hint says how a saved plan is made and applied.
func (e *NotAPlanError) Hint() string {
	return "patwatch plan --save FILE writes the plan, patwatch apply FILE applies it"
}
