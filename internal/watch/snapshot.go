package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Snapshot returns a digest of the content of the files at paths, and of which of them are
// missing, for the consumer to compare with the digest taken at its last run: a run should start
// only if the digest changed. Paths are taken in the order given and are part of the digest, so
// pass the same list each time. A missing file is not an error (it is recorded as missing, since
// a rename-over save briefly leaves no file); any other failure to read is.
func Snapshot(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		if err := digestFile(h, p); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestFile writes one line to h: the quoted path, then "missing" or the SHA-256 of the content.
// Quoting keeps a path from containing a newline and the content digest has a fixed length, so
// different sets of files never produce the same stream.
func digestFile(h io.Writer, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(h, "%q missing\n", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("snapshot: %w", err) // *fs.PathError names the file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("snapshot %s: not a regular file", path)
	}
	c := sha256.New()
	if _, err := io.Copy(c, f); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	fmt.Fprintf(h, "%q %x\n", path, c.Sum(nil))
	return nil
}
