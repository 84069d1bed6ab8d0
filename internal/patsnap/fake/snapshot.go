package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// snapshotVersion is the format version of Snapshot's JSON.
const snapshotVersion = 1

// maxEpoch bounds what Restore accepts: the corpus grows with every epoch.
const maxEpoch = 100000

// snapshot is the server's memory. SetResults, faults and the request log
// are test configuration, not memory, and are left out.
type snapshot struct {
	Version  int                  `json:"version"`
	Seed     int64                `json:"seed"`
	Epoch    int                  `json:"epoch"`
	NextJob  string               `json:"next_job"`
	TokenSeq uint64               `json:"token_seq"`
	Tokens   map[string]time.Time `json:"tokens"`
	Jobs     map[string]*job      `json:"jobs"`
	Uploads  map[string]upload    `json:"uploads"`
	FailNext map[string]string    `json:"fail_next"`
}

// Snapshot returns the server's memory (epoch, jobs and their poll counts,
// uploads, issued tokens, pending FailJob causes) as JSON, for Restore.
func (s *Server) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := snapshot{
		Version:  snapshotVersion,
		Seed:     s.opts.Seed,
		Epoch:    s.epoch,
		NextJob:  strconv.FormatUint(s.nextJob, 10),
		TokenSeq: s.tokenSeq,
		Tokens:   s.tokens,
		Jobs:     s.jobs,
		Uploads:  s.uploads,
		FailNext: s.failNext,
	}
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fake: snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the server's memory with a Snapshot taken from a server
// with the same Seed. On error the server is unchanged.
func (s *Server) Restore(b []byte) error {
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return fmt.Errorf("fake: restore: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("fake: restore: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	if snap.Seed != s.opts.Seed {
		return fmt.Errorf("fake: restore: snapshot of seed %d, server has seed %d", snap.Seed, s.opts.Seed)
	}
	if snap.Epoch < 0 || snap.Epoch > maxEpoch {
		return fmt.Errorf("fake: restore: epoch %d out of range", snap.Epoch)
	}
	next, err := strconv.ParseUint(snap.NextJob, 10, 64)
	if err != nil {
		return fmt.Errorf("fake: restore: next job id: %w", err)
	}
	for id, j := range snap.Jobs {
		if j == nil || j.ID != id {
			return errors.New("fake: restore: job entry does not match its id")
		}
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return fmt.Errorf("fake: restore: job id: %w", err)
		}
	}
	if snap.Tokens == nil {
		snap.Tokens = map[string]time.Time{}
	}
	if snap.Jobs == nil {
		snap.Jobs = map[string]*job{}
	}
	if snap.Uploads == nil {
		snap.Uploads = map[string]upload{}
	}
	if snap.FailNext == nil {
		snap.FailNext = map[string]string{}
	}
	s.advanceMu.Lock()
	defer s.advanceMu.Unlock()
	s.corpus.upTo(snap.Epoch)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch = snap.Epoch
	s.nextJob = next
	s.tokenSeq = snap.TokenSeq
	s.tokens = snap.Tokens
	s.jobs = snap.Jobs
	s.uploads = snap.Uploads
	s.failNext = snap.FailNext
	return nil
}
