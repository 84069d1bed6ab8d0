package pgstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"

	"github.com/patwatch/patwatch/internal/drawings"
	"github.com/patwatch/patwatch/internal/hint"
)

// What a database state keeps, or names, on the machine that runs
// patwatch: a state in a database has no directory of its own.

// Kind names a database state in messages.
func (s *Store) Kind() string { return "state" }

// Missing is the error of a state never saved: it matches fs.ErrNotExist.
func (s *Store) Missing() error {
	return hint.Wrap(notExist{fmt.Errorf("%s holds no state named %s", s.display, s.state)},
		"'patwatch apply' creates it; 'patwatch state push FILE' moves one there")
}

// notExist is an error that matches fs.ErrNotExist without saying so.
type notExist struct{ error }

func (notExist) Is(target error) bool { return target == fs.ErrNotExist }

// FilesDir is reportsDir's parent: a database state has no directory, and
// its runners each have their own reports directory, so recorded report
// files are relative to the directory holding it. They then read
// reports/NAME.pdf on every runner that keeps the default name, as a state
// file beside its spec records them (and a pushed one keeps them).
func (s *Store) FilesDir(reportsDir string) string { return filepath.Dir(reportsDir) }

// DrawingsDir keeps the drawings of the state on this runner beside the
// spec (Options.SpecPath), as a state file's are beside it: in
// .patwatch/drawings/postgres-NAME-DIGEST, where DIGEST tells apart states
// of one name in other databases or schemas, whatever the connection's
// options or password. They are a cache: a runner without them fetches the
// drawings of the hits it reports from then on. The directory is relative
// when the spec's path is.
func (s *Store) DrawingsDir() string {
	dir := "."
	if s.opts.SpecPath != "-" && s.opts.SpecPath != "" {
		dir = filepath.Dir(s.opts.SpecPath)
	}
	where := s.display // the URL without its secrets
	if u, err := url.Parse(where); err == nil {
		where = u.Host + u.Path // the server and database, not the connection's options
	}
	sum := sha256.Sum256([]byte(where + "\x00" + s.schema + "\x00" + s.state))
	return drawings.ForStateFile(filepath.Join(dir, "postgres-"+s.state+"-"+hex.EncodeToString(sum[:4]))).Dir()
}

// Reserved is false: a database state keeps no file on this machine that
// an output file could replace (its drawings are checked apart).
func (s *Store) Reserved(string, ...string) bool { return false }
