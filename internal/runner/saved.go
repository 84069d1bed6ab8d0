package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/planfile"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/store"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
	"github.com/patwatch/patwatch/state"
)

// DefaultMaxPlanAge is how old a saved plan may be when it is applied:
// the image links of its hits expire, and its rankings age.
const DefaultMaxPlanAge = 24 * time.Hour

// A saved plan (plan --save FILE, apply FILE) is Terraform's
// review-then-apply contract: the plan is what the reconciler observed (a
// reconciler.Recording: each search's answer, each report action) with what
// it was made from; its apply records exactly those answers without calling
// the search API again and submits exactly the jobs it listed. It applies
// only to the state, spec and decisions file it was made from, and only
// while it is young; otherwise it is refused before anything is changed or
// called.

// saving is what a run does for a saved plan: a plan records, an apply
// replays. It rides on Options, unexported: SavePlan and ApplySaved set it.
type saving struct {
	record *reconciler.Recording // a plan's, filled by the run
	loaded *state.State          // the state the plan was made on
	plan   *planfile.Plan        // the plan an apply carries out
}

// recording is the recording a plan fills; nil for every other run.
func (sv *saving) recording() *reconciler.Recording {
	if sv == nil {
		return nil
	}
	return sv.record
}

// check is called with the state a run loaded: a plan remembers it; the
// apply of a saved plan refuses a state that moved since the plan.
func (sv *saving) check(recorded *state.State) error {
	switch {
	case sv == nil:
		return nil
	case sv.plan == nil:
		sv.loaded = recorded
		return nil
	}
	want := sv.plan.State
	switch {
	case want.Serial == 0 && recorded.Serial != 0:
		return refused(sv.plan, fmt.Sprintf("it was made before the state was first saved, and the state is at serial %d now", recorded.Serial))
	case want.Serial != 0 && recorded.Lineage != want.Lineage:
		return refused(sv.plan, fmt.Sprintf("the state was replaced: its lineage is %s, the plan's %s", recorded.Lineage, want.Lineage))
	case recorded.Serial != want.Serial:
		return refused(sv.plan, fmt.Sprintf("the state moved: it is at serial %d, the plan was made on serial %d", recorded.Serial, want.Serial))
	}
	return nil
}

// callsBefore is the calls the plan an apply carries out made, which count
// against the day's budget with the apply's own.
func (sv *saving) callsBefore() int {
	if sv == nil || sv.plan == nil {
		return 0
	}
	return sv.plan.CallsMade
}

// SavePlan runs a plan of sp (r.Mode must be reconciler.ModePlan), as Once
// does, and writes it to path as a saved plan. A plan that failed or was
// interrupted is not saved: its change report is returned with an error
// saying so.
func (r *Runner) SavePlan(ctx context.Context, sp *spec.Spec, opts Options, path string) (*report.ChangeReport, error) {
	if r.Mode != reconciler.ModePlan {
		return nil, errors.New("only a plan that reads the API can be saved: an offline plan saw no answers")
	}
	decisions, err := decisionsRef(sp)
	if err != nil {
		return nil, err
	}
	opts.saved = &saving{record: &reconciler.Recording{}}
	rep, err := r.Once(ctx, sp, opts)
	switch {
	case err != nil:
		return rep, err
	case ctx.Err() != nil:
		return rep, fmt.Errorf("the plan was interrupted; no plan was saved to %s", path)
	case rep.Failed():
		return rep, fmt.Errorf("the plan failed; no plan was saved to %s", path)
	}
	loaded := opts.saved.loaded
	p := &planfile.Plan{
		CreatedAt:       r.now().UTC().Truncate(time.Second),
		PatwatchVersion: r.Version,
		Spec:            planfile.File{Path: sp.Path, Name: r.SpecPath, SHA256: sp.SHA256},
		Decisions:       decisions,
		State:           planfile.State{Target: StateName(r.Store)},
		Simulated:       r.Sandbox,
		AllowMassDrop:   r.AllowMassDrop,
		Recording:       opts.saved.record,
	}
	if loaded.Serial != 0 { // a state never saved has a new lineage at every load
		p.State.Lineage, p.State.Serial = loaded.Lineage, loaded.Serial
	}
	if rep.Calls.Made != nil {
		p.CallsMade = *rep.Calls.Made
	}
	return rep, planfile.Write(path, p)
}

// ApplySaved applies the saved plan p to sp (r.Mode must be
// reconciler.ModeApply): it records the answers the plan saw without
// calling the search API again, and submits only the jobs the plan listed.
// It is refused, before anything is changed or called, with an error
// matching ErrPlanRefused, when the plan is older than maxAge, the spec or
// its decisions file is not the one the plan was made from, or (under the
// state's lock) the state moved since.
func (r *Runner) ApplySaved(ctx context.Context, sp *spec.Spec, p *planfile.Plan, maxAge time.Duration) (*report.ChangeReport, error) {
	if err := r.checkSaved(sp, p, maxAge); err != nil {
		return nil, err
	}
	r.AllowMassDrop = p.AllowMassDrop
	opts := Options{Select: reconciler.Selection{Replay: p.Recording}, saved: &saving{plan: p}}
	return r.Once(ctx, sp, opts)
}

// checkSaved refuses a saved plan that does not fit what r would apply it
// to: too old, another spec or decisions file, another state, another kind
// of API.
func (r *Runner) checkSaved(sp *spec.Spec, p *planfile.Plan, maxAge time.Duration) error {
	if r.Mode != reconciler.ModeApply {
		return errors.New("a saved plan is applied by apply")
	}
	if age := r.now().Sub(p.CreatedAt); maxAge > 0 && age > maxAge {
		return refused(p, fmt.Sprintf("it was made %s ago, more than --max-plan-age allows (%s)",
			spec.FormatDuration(age.Truncate(time.Second)), spec.FormatDuration(maxAge)))
	}
	if sp.SHA256 != p.Spec.SHA256 {
		return refused(p, fmt.Sprintf("the spec %s changed since the plan", p.Spec.Name))
	}
	decisions, err := decisionsRef(sp)
	if err != nil {
		return err
	}
	if decisions.SHA256 != p.Decisions.SHA256 {
		what := "changed"
		switch {
		case p.Decisions.SHA256 == "":
			what = "was created"
		case decisions.SHA256 == "":
			what = "was removed"
		}
		return refused(p, fmt.Sprintf("the decisions file %s %s since the plan", decisions.Name, what))
	}
	if got := StateName(r.Store); got != p.State.Target {
		return refused(p, fmt.Sprintf("it was made on the state %s, not %s", p.State.Target, got))
	}
	if r.Sandbox != p.Simulated {
		return refused(p, "it was made against "+apiName(p.Simulated)+", and this apply would use "+apiName(r.Sandbox))
	}
	return checkQueries(sp, p)
}

// checkQueries refuses a plan whose answers are to queries the spec no
// longer asks: a local image of a search changed since (the spec's bytes
// did not).
func checkQueries(sp *spec.Spec, p *planfile.Plan) error {
	byName := map[string]spec.Search{}
	for _, s := range sp.Searches {
		byName[s.Name] = s
	}
	for _, name := range slices.Sorted(maps.Keys(p.Recording.Searches)) {
		if s, ok := byName[name]; !ok || s.Fingerprint != p.Recording.Searches[name].Fingerprint {
			return refused(p, fmt.Sprintf("the query of search %s changed since the plan (an image file it reads, say)", name))
		}
	}
	return nil
}

func apiName(simulated bool) string {
	if simulated {
		return "the sandbox (--sandbox)"
	}
	return "the live API"
}

// ErrPlanRefused is matched by the error of a saved plan that no longer
// applies.
var ErrPlanRefused = errors.New("saved plan refused")

// PlanRefusedError is a saved plan that no longer applies; nothing was
// changed and nothing was called.
type PlanRefusedError struct {
	Path string // the plan file
	Why  string
}

func refused(p *planfile.Plan, why string) error {
	return &PlanRefusedError{Path: p.Path, Why: why}
}

func (e *PlanRefusedError) Error() string {
	return fmt.Sprintf("the saved plan %s was not applied: %s; nothing was changed or called", e.Path, e.Why)
}

// Is makes the error match ErrPlanRefused.
func (e *PlanRefusedError) Is(target error) bool { return target == ErrPlanRefused }

// Hint says how to get a plan that applies.
func (e *PlanRefusedError) Hint() string {
	return fmt.Sprintf("make the plan again and review it: patwatch plan --save %s, then patwatch apply %s", e.Path, e.Path)
}

// SavedTarget is the state to apply the saved plan p to when no --state
// names one: env ($PATWATCH_STATE) when it names the plan's state (it may
// hold the password the plan leaves out), else the plan's own name for it.
func SavedTarget(ctx context.Context, p *planfile.Plan, env string) string {
	if env == "" {
		return p.State.Target
	}
	s, err := store.Open(ctx, env, store.Options{})
	if err != nil {
		return p.State.Target
	}
	defer s.Close()
	if StateName(s) == p.State.Target {
		return env
	}
	return p.State.Target
}

// StateName names the state of s as a saved plan records it: a state
// file's absolute path, or the state's URL without its password.
func StateName(s Store) string {
	name := s.String()
	if strings.Contains(name, "://") {
		return name
	}
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

// decisionsRef is the spec's decisions file with the digest of its bytes
// (empty when it does not exist).
func decisionsRef(sp *spec.Spec) (planfile.File, error) {
	path, name := spec.DefaultDecisionsFile(sp.Path), filepath.Base(spec.DefaultDecisionsFile(sp.Path))
	if sp.Decisions != nil {
		path, name = sp.Decisions.Path, sp.Decisions.Name
	}
	f := planfile.File{Path: path, Name: name}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return f, fmt.Errorf("decisions file: %w", err)
	}
	sum := sha256.Sum256(data)
	f.SHA256 = hex.EncodeToString(sum[:])
	return f, nil
}

// CheckSave refuses a plan --save FILE that would destroy a file the run
// reads or keeps, or the change report of --out (out).
func CheckSave(save, out string, sp *spec.Spec, k Kept) error {
	switch {
	case save == "":
		return nil
	case out != "" && samePath(save, out):
		return hint.Wrap(fmt.Errorf("--save %s is also --out: the plan and the change report need a file each", save),
			"name two files, such as --out plan.md --save plan.saved")
	}
	if what := reservedWhat(save, sp, k); what != "" {
		return hint.Wrap(fmt.Errorf("--save %s is %s: writing the plan there would destroy it; nothing was run", save, what),
			"name another file for the plan, such as --save plan.saved")
	}
	return nil
}
