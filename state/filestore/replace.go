package filestore

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// Replace writes st to the state file at path as it is, serial included:
// unlike Store.Save, it neither gives it the next serial nor refuses a
// file of another lineage or the same content. It is for 'patwatch state push',
// which has decided both. As Store.Save does, it keeps the file there (if
// any) as the backup, through a hard link, and replaces it atomically; a
// new file has mode 0600, less the umask, and a replaced one keeps its
// mode.
func Replace(path string, st *state.State) error {
	if err := state.Validate(st); err != nil {
		return fmt.Errorf("replace state %s: %w", path, err)
	}
	target, err := resolveLink(path)
	if err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	old, _, err := openRegular(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return fmt.Errorf("replace state: %w", err)
	default:
		defer old.Close()
	}
	tmp, err := atomicfile.Create(target, 0o600)
	if err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	defer tmp.Abort()
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = statefile.Encode(w, st, st.Serial, st.PatwatchVersion, nil)
	if err == nil {
		err = w.Flush()
	}
	if err == nil && old == nil {
		err = tmp.Commit()
	}
	if err == nil && old != nil {
		// Save's last step: the backup, then the rename.
		err = (&diffWriter{old: old, target: target, tmp: tmp}).commit()
	}
	if err != nil {
		return fmt.Errorf("replace state %s: %w", path, err)
	}
	return nil
}
