package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/patsnap"
)

// uploadCache is a patsnap.UploadCache kept in a file of the user's cache
// directory, one per API root, so that a local image is uploaded once while
// its URL lives rather than on every run. It lives outside the state file on
// purpose: upload URLs are presigned and expire, and the state holds nothing
// volatile. A cache that cannot be read or written only costs uploads.
type uploadCache struct {
	path string // empty: memory only
	log  zerolog.Logger

	mu      sync.Mutex
	entries map[string]patsnap.Upload
}

// OpenUploads opens the upload cache of an API root and account (an upload
// is the account's: another key may not fetch it). The directory is
// $PATWATCH_CACHE_DIR, else $XDG_CACHE_HOME/patwatch, else
// ~/.cache/patwatch, as getenv reads them; the file is named by a hash,
// which gives no credential away.
func OpenUploads(getenv func(string) string, log zerolog.Logger, baseURL, account string) patsnap.UploadCache {
	c := &uploadCache{log: log, entries: map[string]patsnap.Upload{}}
	dir := getenv("PATWATCH_CACHE_DIR")
	if dir == "" {
		if x := getenv("XDG_CACHE_HOME"); x != "" {
			dir = filepath.Join(x, "patwatch")
		} else if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, ".cache", "patwatch")
		}
	}
	if dir == "" {
		return c
	}
	sum := sha256.Sum256([]byte(baseURL + "\x00" + account))
	c.path = filepath.Join(dir, "uploads-"+hex.EncodeToString(sum[:6])+".json")
	if b, err := os.ReadFile(c.path); err == nil {
		if err := json.Unmarshal(b, &c.entries); err != nil {
			log.Debug().Err(err).Str("path", c.path).Msg("upload cache unreadable; starting a new one")
			c.entries = map[string]patsnap.Upload{}
		}
	}
	return c
}

func (c *uploadCache) Get(digest string) (patsnap.Upload, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.entries[digest]
	return u, ok
}

func (c *uploadCache) Put(digest string, u patsnap.Upload) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[digest] = u
	if c.path == "" {
		return
	}
	b, err := json.Marshal(c.entries)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(c.path), 0o700)
	}
	if err == nil {
		err = atomicfile.WriteFile(c.path, b, 0o600)
	}
	if err != nil {
		c.log.Debug().Err(err).Msg("upload cache not saved")
	}
}
