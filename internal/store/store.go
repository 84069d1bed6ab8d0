// Package store opens the state a command names, whatever kind it is, and
// is the one seam through which every command reads, locks and writes it.
//
// Open decides the kind by the target's form: a postgres:// URL is a state
// in PostgreSQL (internal/pgstore), anything else the path of a state file
// (package state's file store, adapted in file.go). Both implement Store,
// and so does any new backend: one package that implements Store, one line
// in Open, and a passing run of the conformance suite in storetest, which
// fixes the contract below for every kind (memstore, a store in memory for
// tests, is the smallest example).
//
// Beside the seam, the package holds what commands do with a state through
// it whatever its kind: Pull (its JSON), Push (the replacement that
// 'patwatch state push' makes, with its lineage and serial policy, see
// PushSerial), Simulated (whether --sandbox runs wrote it),
// Refreshed (when its searches were last refreshed).
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/pgstore"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// Store is one state, wherever it lives. A Store is used by one goroutine
// at a time, except that the functions its locks return may be called from
// any.
//
// The contract every kind keeps (storetest checks it):
//   - Lock is exclusive across processes and machines: while one holder has
//     it, another Lock waits up to its timeout and is then refused with an
//     error matching state.ErrLocked whose message names the holder (its
//     command, pid and host) and whose Hint says what to do. A holder that
//     dies releases the lock with it. LockWatch is the same for the lock a
//     watch holds for its lifetime; the two do not exclude each other.
//   - Load of a state never saved is an empty state with a new lineage.
//   - Save writes nothing when the content is unchanged (everything but the
//     serial and the patwatch version), and otherwise gives the state the
//     next serial. It refuses, writing nothing, when the state it would
//     replace is not the one the last Load saw (another run saved a newer
//     serial, or the state was replaced by one of another lineage).
//   - What Save or Replace wrote reads back through Load as the same bytes
//     (statefile.Marshal).
//   - A side data name that was never written reads as an error matching
//     fs.ErrNotExist; so do Missing, and LoadSerial of a state never saved.
type Store interface {
	// Lock takes the state's lock for command (the holder's name in a
	// refusal), waiting up to timeout (zero: try once), and returns the
	// function that releases it.
	Lock(ctx context.Context, command string, timeout time.Duration) (unlock func() error, err error)
	// CheckLock proves that the lock Lock took is still held, for a run
	// about to make a paid call: nil while it is (or when the store holds
	// none), an error matching state.ErrLockLost once it is not. A lock
	// that a database holds for a session is lost when the database
	// restarts or ends the session; a store that loses its lock refuses
	// to Save under it. A state file's lock lasts as long as its holder's
	// process: nil.
	CheckLock(ctx context.Context) error
	// LockWatch takes the lock a watch holds for its lifetime, so that a
	// second watch on the same state is refused, naming the first: it
	// waits up to timeout (zero: tries once), as Lock does, and a standby
	// watch (--standby) waits in turns of it until the holder ends.
	LockWatch(ctx context.Context, timeout time.Duration) (unlock func() error, err error)

	// Load reads the current state; a state never saved is an empty one.
	Load(ctx context.Context) (*state.State, error)
	// Exists reports whether the state has been saved.
	Exists(ctx context.Context) (bool, error)
	// LoadSerial reads the state as it was saved at serial n, where the
	// store keeps it (a database keeps every serial; a state file, its
	// current one and its backup's), and is otherwise an error that says
	// which serials there are. It leaves what a later Save compares with
	// untouched.
	LoadSerial(ctx context.Context, n uint64) (*state.State, error)
	// Save writes st if its content changed, and reports whether it wrote;
	// st gets the serial it was saved at.
	Save(ctx context.Context, st *state.State) (written bool, err error)
	// Replace makes st the state at serial, whatever the lineage of the
	// one it replaces, for Push, which decides both: serial is above the
	// current one's, so that a store that keeps every serial keeps the
	// one replaced.
	Replace(ctx context.Context, st *state.State, serial uint64) error

	// RecordRun adds a finished apply to the store's history of runs,
	// where it keeps one.
	RecordRun(ctx context.Context, run state.RunRecord) error
	// ReadAux returns the side data name kept with the state (the
	// sandbox's memory), or an error matching fs.ErrNotExist.
	ReadAux(ctx context.Context, name string) ([]byte, error)
	WriteAux(ctx context.Context, name string, data []byte) error

	// FilesDir is the directory that recorded report files are relative
	// to, for a run that downloads them into reportsDir: a state file's
	// own directory; for a state with none, reportsDir's parent, so that
	// they read reports/NAME.pdf on every runner that keeps the default.
	FilesDir(reportsDir string) string
	// DrawingsDir is where the drawings of the state's HTML reports are
	// kept unless the user says otherwise: each state has its own.
	DrawingsDir() string
	// Reserved reports whether path is a file the store keeps on this
	// machine (the state file, its backup and lock, the side files named
	// aux and its own), which an output file must never replace.
	Reserved(path string, aux ...string) bool

	// Kind names the kind of state in messages: "state file", or "state"
	// (one of many in a database).
	Kind() string
	// Missing is the error that says the state has never been saved, in
	// the store's words and with what to do; it matches fs.ErrNotExist.
	Missing() error
	// String names the store in messages: a path, or a URL without its
	// password.
	String() string
	// Close releases the store's connections, if it has any.
	Close() error
}

// Options adjust the store Open returns.
type Options struct {
	// Version is patwatch's version, which a store that keeps a history
	// records with it.
	Version string
	// SpecPath is the spec the state belongs to, as given ("-": standard
	// input). A state with no directory of its own keeps the files of this
	// machine (the drawings) beside it.
	SpecPath string
}

// Open returns the store target names: a postgres:// (or postgresql://)
// URL names a state in PostgreSQL, anything else is the path of a state
// file. Open connects to nothing; the caller closes the store.
func Open(ctx context.Context, target string, opts Options) (Store, error) {
	var s Store
	var err error
	switch {
	case pgstore.IsURL(target):
		s, err = pgstore.Open(target, pgstore.Options{Version: opts.Version, SpecPath: opts.SpecPath})
	default:
		s, err = openFile(target)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// CheckTarget refuses a target that names a state file in a directory that
// does not exist, for a command that will write the state: read there, it
// would be an empty state (a silent new baseline of everything), and the
// save at the end would fail. A URL is its store's to check.
func CheckTarget(target string) error {
	if pgstore.IsURL(target) {
		return nil
	}
	dir := filepath.Dir(target)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return hint.Wrap(fmt.Errorf("directory %s does not exist", dir),
			"create it first, or name a file in an existing directory (patwatch creates the file, not its directory)")
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// SandboxAux is the name of the side data the sandbox keeps its memory in.
// Its presence marks a state written by --sandbox runs.
const SandboxAux = "sandbox"

// Simulated reports whether --sandbox runs wrote the state of s: its hits
// and reports are the simulation's.
func Simulated(ctx context.Context, s Store) (bool, error) {
	_, err := s.ReadAux(ctx, SandboxAux)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Refreshed reads from the state of s when each search was last refreshed,
// for the searches whose state records it (one with an interval of its
// own, or any under a daily budget): watch mode schedules them by it.
func Refreshed(ctx context.Context, s Store) (map[string]time.Time, error) {
	recorded, err := s.Load(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for name, sr := range recorded.Searches {
		if !sr.RefreshedAt.IsZero() {
			out[name] = sr.RefreshedAt
		}
	}
	return out, nil
}

// Pull writes the state s holds to w as a state file's JSON (what
// statefile.Marshal makes of it), as it encodes it: it holds the state
// loaded, not its JSON as well. A state never saved is an error,
// s.Missing(), and nothing is written: there is nothing to pull.
func Pull(ctx context.Context, s Store, w io.Writer) error {
	st, err := loadExisting(ctx, s)
	if err != nil {
		return err
	}
	return statefile.Encode(w, st, st.Serial, st.PatwatchVersion, nil)
}

// PullSerial is Pull of the state as it was saved at serial n (see
// Store.LoadSerial).
func PullSerial(ctx context.Context, s Store, n uint64, w io.Writer) error {
	st, err := s.LoadSerial(ctx, n)
	if err != nil {
		return err
	}
	return statefile.Encode(w, st, st.Serial, st.PatwatchVersion, nil)
}

// notExist is an error that matches fs.ErrNotExist without saying so.
type notExist struct{ error }

func (notExist) Is(target error) bool { return target == fs.ErrNotExist }
