package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/patwatch/patwatch/internal/flagvalue"
	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/planfile"
	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/internal/runner"
	"github.com/patwatch/patwatch/spec"
)

// runOnce is the run of plan or apply that the flags ask for: a plan saved
// to --save, the saved plan apply FILE names, or an ordinary one.
func (f *reconcileFlags) runOnce(ctx context.Context, r *runner.Runner, sp *spec.Spec) (*report.ChangeReport, error) {
	switch {
	case f.save != "":
		return r.SavePlan(ctx, sp, runner.Options{Select: f.selection(), CheckNames: true}, f.save)
	case f.saved != nil:
		r.SpecPath = f.saved.Spec.Name
		return r.ApplySaved(ctx, sp, f.saved, f.maxPlanAge)
	}
	return r.Once(ctx, sp, runner.Options{Select: f.selection(), CheckNames: true})
}

// savedPlanFixes are the flags a saved plan fixes, which apply FILE
// refuses: the plan was made with them, and is applied as it was made.
var savedPlanFixes = []string{"target", "exclude", "due-only", "resubmit", "rebaseline", "sandbox", "allow-mass-drop"}

// useSaved reads the saved plan in file for apply FILE, and takes the spec,
// the state and the API it was made with, refusing the flags that would
// change them.
func (f *reconcileFlags) useSaved(ctx context.Context, e env, fs *flag.FlagSet, file string) error {
	p, err := planfile.Read(file)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, name := range savedPlanFixes {
		if set[name] {
			return hint.Wrap(fmt.Errorf("apply %s: %s cannot be given with a saved plan: the plan is applied as it was made", file, flagvalue.Name(name)),
				fmt.Sprintf("make a plan with it instead: patwatch plan %s … --save %s", flagvalue.Name(name), file))
		}
	}
	if abs, err := filepath.Abs(f.spec); set["f"] && (err != nil || abs != p.Spec.Path) {
		return hint.Wrap(fmt.Errorf("apply %s: the plan was made from the spec %s, not %s", file, p.Spec.Path, f.spec),
			"leave -f out: a saved plan names its spec")
	}
	f.spec, f.saved, f.sandbox = p.Spec.Path, p, p.Simulated
	if !set["state"] {
		f.state = runner.SavedTarget(ctx, p, e.getenv("PATWATCH_STATE"))
	}
	return nil
}

// checkSave refuses a --save that would destroy a file the run reads or
// keeps, and a plan that could never be applied: one of a spec read from
// standard input.
func checkSave(f *reconcileFlags, sp *spec.Spec, st *stateStore) error {
	if f.save != "" && f.spec == "-" {
		return errors.New("--save needs a spec file: a plan of a spec read from standard input cannot be applied later")
	}
	return runner.CheckSave(f.save, f.out, sp, st.kept())
}
