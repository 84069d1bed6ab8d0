package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/atomicfile"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// sandboxAPIKey is the key the sandbox's simulated API accepts.
const sandboxAPIKey = "sk-sandbox"

// sandbox is the simulated PatSnap API of --sandbox, served on loopback for
// the length of one run.
type sandbox struct {
	baseURL string
	close   func()
}

// startSandbox serves the fake API on a loopback port. The simulation keeps
// its memory (the corpus's epoch, report jobs, uploads) in <state>.sandbox, so
// that each apply sees the next epoch: new and dropped hits appear and
// submitted report jobs finish. With persist false (plan) the memory is read
// but never written.
func startSandbox(statePath string, persist bool, log zerolog.Logger) (*sandbox, error) {
	srv := fake.New(fake.Options{APIKeys: []string{sandboxAPIKey}, PollsToFinish: -1, Seed: 1})
	memPath := sandboxMemoryPath(statePath)
	switch b, err := os.ReadFile(memPath); {
	case err == nil:
		if err := srv.Restore(b); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to restart the simulation)", memPath, err)
		}
		srv.Advance()
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, err
	}
	baseURL, stop, err := srv.ListenLoopback()
	if err != nil {
		return nil, err
	}
	log.Debug().Str("base_url", baseURL).Msg("sandbox API started")
	return &sandbox{
		baseURL: baseURL,
		close: func() {
			if err := stop(); err != nil {
				log.Debug().Err(err).Msg("stopping the sandbox API")
			}
			if !persist {
				return
			}
			b, err := srv.Snapshot()
			if err == nil {
				err = atomicfile.WriteFile(memPath, b, 0o600)
			}
			if err != nil {
				log.Warn().Err(err).Msg("the sandbox's memory was not saved")
			}
		},
	}, nil
}

// sandboxMemoryPath is where the sandbox keeps its memory for a state file.
func sandboxMemoryPath(statePath string) string { return statePath + ".sandbox" }
