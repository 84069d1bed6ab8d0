package statefile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// TestAnotherFormatIsOneReader: a format is a reader in formats; Load
// dispatches on format_version, wherever it comes in the file, and the
// newest format it has no reader for is the one a VersionError names.
func TestAnotherFormatIsOneReader(t *testing.T) {
	formats[3] = format{
		read: func(in *input, p pass) (*state.State, Header, error) {
			st := state.New()
			st.Lineage, st.PatwatchVersion = "from format 3", "3.0.0"
			return st, Header{FormatVersion: 3, Lineage: st.Lineage}, nil
		},
		path: func(p jsontext.Pointer) string { return string(p) },
	}
	defer delete(formats, 3)
	path := filepath.Join(t.TempDir(), "patwatch.state.json")
	os.WriteFile(path, []byte(`{"anything":{"new":[1,2]},"format_version":3}`), 0o600)
	st, err := load(path)
	if err != nil || st.Lineage != "from format 3" {
		t.Fatalf("Load = %+v, %v; want format 3's reader to read it", st, err)
	}
	os.WriteFile(path, []byte(`{"format_version":4,"patwatch_version":"4.0.0"}`), 0o600)
	var ve *VersionError
	if _, err := load(path); !errors.As(err, &ve) || ve.FormatVersion != 4 {
		t.Errorf("Load of format 4 = %v, want a *VersionError", err)
	}
}
