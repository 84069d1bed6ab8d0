package filestore

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/patwatch/patwatch/state/statefile"
)

// CorruptError reports a state file that exists but does not hold a valid
// state: empty, truncated, not JSON, or JSON that is not a state. Nothing
// writes over such a file.
type CorruptError struct {
	Path   string
	Backup string // the backup file, if one exists
	Err    error  // what is wrong, with its line and column
	Saving bool   // the error stopped a save
}

func (e *CorruptError) Error() string {
	var what string
	var se *statefile.SyntaxError
	switch {
	case errors.As(e.Err, &se) && se.Truncated && se.Line == 1 && se.Col == 1:
		what = "is empty"
	case errors.As(e.Err, &se) && se.Truncated:
		what = fmt.Sprintf("is truncated: it ends at line %d, column %d, inside the JSON", se.Line, se.Col)
	case errors.As(e.Err, &se):
		what = fmt.Sprintf("is not valid JSON: %v", e.Err)
	default:
		what = fmt.Sprintf("is not a valid patwatch state: %v", e.Err)
	}
	msg := "state file " + e.Path + " " + what
	if e.Saving {
		msg += "; not writing over it"
	}
	return msg
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Hint says how to recover, and what that costs.
func (e *CorruptError) Hint() string {
	if e.Backup != "" {
		return fmt.Sprintf("restore the previous save with 'cp %s %s'; that loses only what the last save recorded: hits it first saw are reported new again and report jobs it submitted are submitted again",
			shellQuote(e.Backup), shellQuote(e.Path))
	}
	return fmt.Sprintf("there is no backup; move %s aside and run 'patwatch apply' to start over: every search takes a new baseline (nothing is reported new) and every report is submitted again",
		shellQuote(e.Path))
}

// LineageError reports a save over a state file that belongs to another
// lineage: another state was created at the same path since this one was
// loaded.
type LineageError struct {
	Path        string
	FileLineage string
	Lineage     string
}

func (e *LineageError) Error() string {
	return fmt.Sprintf("state file %s has lineage %s, not %s: it is another state; not writing over it", e.Path, e.FileLineage, e.Lineage)
}

// ReplacedError reports a save refused because the state file is not the
// one the run loaded: it was replaced, removed or created meanwhile, as a
// git pull or checkout during the run does. Writing would lose what the
// other version holds.
type ReplacedError struct {
	Path   string
	What   string // replaced, removed or created
	Loaded string // what the run loaded: "serial 5 of lineage …", or "no file"
	Found  string // what is there now, in the same words
}

func (e *ReplacedError) Error() string {
	return fmt.Sprintf("state file %s was %s while this run held its lock (the run loaded %s; the file now holds %s): not writing over it",
		e.Path, e.What, e.Loaded, e.Found)
}

// Hint says what to do.
func (e *ReplacedError) Hint() string {
	return "this run's changes were not saved (its change report shows what they were); " +
		"run 'patwatch apply' again to reconcile the state now in place, and let no git pull or checkout touch the state while patwatch runs"
}

// loadError turns an error of reading the state file at path into the
// error Load or Save returns: a *statefile.VersionError naming the file, a
// *CorruptError, or the error wrapped.
func loadError(path string, err error, saving bool) error {
	var ve *statefile.VersionError
	if errors.As(err, &ve) {
		ve.Path = path
		return ve
	}
	var se *statefile.SyntaxError
	var ce *statefile.ContentError
	if !errors.As(err, &se) && !errors.As(err, &ce) {
		return fmt.Errorf("read state file %s: %w", path, err)
	}
	backup := BackupPath(path)
	if fi, err := os.Stat(backup); err != nil || !fi.Mode().IsRegular() {
		backup = ""
	}
	return &CorruptError{Path: path, Backup: backup, Err: err, Saving: saving}
}

// shellQuote quotes s for a POSIX shell if it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./+:@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
