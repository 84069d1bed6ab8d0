package runner

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// historyDepth is how many earlier versions of the spec an offline plan
// reads for the queries the state's records were made with.
const historyDepth = 50

// priorQueries finds, for an offline plan, the queries that the recorded
// searches whose query the spec changed, or that left the spec, were made
// with (to say how a query changed, and what a change costs): the state keeps
// only their fingerprints, and the spec's history in git holds the
// queries. It reads the versions of the spec file committed in the git
// work tree it lies in, newest first, up to historyDepth, and keeps the
// searches whose fingerprint a record has. Without git, a work tree or a
// matching version it finds nothing, and the plan says only that a query
// changed. It calls no API and writes nothing.
func (r *Runner) priorQueries(ctx context.Context, sp *spec.Spec, recorded *state.State) reconciler.Queries {
	wanted := map[string]bool{}
	inSpec := map[string]bool{}
	for _, s := range sp.Searches {
		inSpec[s.Name] = true
		if rec := recorded.Searches[s.Name]; rec != nil && rec.Fingerprint != s.Fingerprint {
			wanted[rec.Fingerprint] = true
		}
	}
	for name, rec := range recorded.Searches {
		if !inSpec[name] { // removed: what it cost a day
			wanted[rec.Fingerprint] = true
		}
	}
	if len(wanted) == 0 || sp.Path == "" {
		return nil
	}
	dir, file := filepath.Split(sp.Path)
	git := func(args ...string) ([]byte, error) {
		return exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
	}
	log, err := git("log", "--format=%H", "-n", strconv.Itoa(historyDepth), "--", file)
	if err != nil {
		r.Log.Debug().Err(err).Msg("no history of the spec in git: the offline plan says only that a query changed")
		return nil
	}
	found := reconciler.Queries{}
	for _, commit := range strings.Fields(string(log)) {
		data, err := git("show", commit+":./"+file)
		if err != nil {
			continue
		}
		old, err := spec.Parse(sp.Path, data)
		if err != nil {
			continue // a version that is invalid today (an image since removed, say)
		}
		for _, s := range old.Searches {
			if wanted[s.Fingerprint] {
				found[s.Fingerprint] = s
				delete(wanted, s.Fingerprint)
			}
		}
		if len(wanted) == 0 {
			break
		}
	}
	return found
}
