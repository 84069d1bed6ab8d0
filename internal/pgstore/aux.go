package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/patwatch/patwatch/state"
)

// ReadAux returns the side data name kept with the state (the sandbox's
// memory), or an error matching fs.ErrNotExist when there is none.
func (s *Store) ReadAux(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.data(ctx)
	if err != nil {
		return nil, s.redact(err)
	}
	var b []byte
	err = conn.QueryRow(ctx, "SELECT data FROM "+s.t("aux")+" WHERE state = $1 AND name = $2", s.state, name).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("state %s (%s): no side data %q: %w", s.state, s.display, name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, s.redact(fmt.Errorf("state %s (%s): read side data %q: %w", s.state, s.display, name, err))
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// WriteAux replaces the side data name. It runs to completion even if ctx
// is cancelled.
func (s *Store) WriteAux(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.data(ctx)
	if err != nil {
		return s.redact(err)
	}
	if data == nil {
		data = []byte{}
	}
	_, err = conn.Exec(ctx, "INSERT INTO "+s.t("aux")+` (state, name, data, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (state, name) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
		s.state, name, data, s.opts.Now().UTC())
	if err != nil {
		return s.redact(fmt.Errorf("state %s (%s): write side data %q: %w", s.state, s.display, name, err))
	}
	return nil
}

// RecordRun adds a finished apply to the runs table.
func (s *Store) RecordRun(ctx context.Context, run state.RunRecord) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.data(ctx)
	if err != nil {
		return s.redact(err)
	}
	_, err = conn.Exec(ctx, "INSERT INTO "+s.t("runs")+` (state, command, started_at, finished_at, serial, changed, state_changed, failed,
		summary, calls_made, host, pid, patwatch_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.state, run.Command, run.Started.UTC(), run.Finished.UTC(), int64(run.Serial), run.Changed, run.StateChanged, run.Failed,
		noNUL(run.Summary), run.CallsMade, s.opts.Host, s.opts.PID, s.opts.Version)
	if err != nil {
		return s.redact(fmt.Errorf("state %s (%s): record the run: %w", s.state, s.display, err))
	}
	return nil
}
