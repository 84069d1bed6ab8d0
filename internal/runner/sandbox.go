package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// sandboxAPIKey is the key the sandbox's simulated API accepts.
const sandboxAPIKey = "sk-sandbox"

// Sandbox connects each run to the built-in simulation of the PatSnap API
// (--sandbox), served on loopback for the length of the run. The
// simulation keeps its memory (the corpus's epoch, report jobs, uploads)
// with the state, as the side data SandboxAux, so that each apply sees the
// next epoch: new and dropped hits appear and submitted report jobs finish.
type Sandbox struct {
	Store Store
	// Mode is the mode of the runs: only an apply writes the memory back;
	// a plan reads it.
	Mode reconciler.Mode
	Log  zerolog.Logger
	// Tune, when set, adjusts the client's configuration (tests).
	Tune func(*patsnap.Config)
	// Started, when set, is told the simulation's API root as each run
	// starts it: the simulation serves the run's image links too.
	Started func(baseURL string)
}

// Connect starts the simulation and returns a client of it; it is a
// Connector, and its release stops the simulation and saves its memory.
func (s *Sandbox) Connect(ctx context.Context, sp *spec.Spec) (reconciler.API, func(), error) {
	baseURL, stop, err := s.start(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	if s.Started != nil {
		s.Started(baseURL)
	}
	cfg := patsnap.Config{QPS: sp.API.QPS, Logger: s.Log, BaseURL: baseURL, APIKey: sandboxAPIKey}
	if s.Tune != nil {
		s.Tune(&cfg)
	}
	c, err := patsnap.New(cfg)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}

// start serves the fake API on a loopback port, from the memory the store
// keeps, and returns its root and what stops it.
func (s *Sandbox) start(ctx context.Context) (string, func(), error) {
	srv := fake.New(fake.Options{APIKeys: []string{sandboxAPIKey}, PollsToFinish: -1, Seed: 1})
	switch b, err := s.Store.ReadAux(ctx, SandboxAux); {
	case err == nil:
		if err := srv.Restore(b); err != nil {
			return "", nil, fmt.Errorf("the sandbox memory of %s: %w (delete it to restart the simulation)", s.Store, err)
		}
		srv.Advance()
	case errors.Is(err, fs.ErrNotExist):
	default:
		return "", nil, err
	}
	baseURL, stop, err := srv.ListenLoopback()
	if err != nil {
		return "", nil, err
	}
	s.Log.Debug().Str("base_url", baseURL).Msg("sandbox API started")
	return baseURL, func() {
		if err := stop(); err != nil {
			s.Log.Debug().Err(err).Msg("stopping the sandbox API")
		}
		if s.Mode != reconciler.ModeApply {
			return
		}
		b, err := srv.Snapshot()
		if err == nil {
			// The memory is saved even when the run was interrupted: the
			// API's side of what the run did (jobs it created) happened.
			err = s.Store.WriteAux(context.WithoutCancel(ctx), SandboxAux, b)
		}
		if err != nil {
			s.Log.Warn().Err(err).Msg("the sandbox's memory was not saved")
		}
	}, nil
}
