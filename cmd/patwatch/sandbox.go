package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/internal/runner"
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
// its memory (the corpus's epoch, report jobs, uploads) with the state (the
// file store: <state>.sandbox), so that each apply sees the next epoch: new
// and dropped hits appear and submitted report jobs finish. With persist
// false (plan) the memory is read but never written.
func startSandbox(ctx context.Context, st runner.Store, persist bool, log zerolog.Logger) (*sandbox, error) {
	srv := fake.New(fake.Options{APIKeys: []string{sandboxAPIKey}, PollsToFinish: -1, Seed: 1})
	switch b, err := st.ReadAux(ctx, runner.SandboxAux); {
	case err == nil:
		if err := srv.Restore(b); err != nil {
			return nil, fmt.Errorf("the sandbox memory of %s: %w (delete it to restart the simulation)", st, err)
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
				// The memory is saved even when the run was interrupted:
				// the API's side of what the run did (jobs it created) happened.
				err = st.WriteAux(context.WithoutCancel(ctx), runner.SandboxAux, b)
			}
			if err != nil {
				log.Warn().Err(err).Msg("the sandbox's memory was not saved")
			}
		},
	}, nil
}
