// Command patwatch reconciles a YAML watch list of PatSnap image searches and
// patent value reports with the live API, and reports what changed.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/patwatch/patwatch/internal/cli"
	"github.com/patwatch/patwatch/internal/flagvalue"
)

// version is set at build time with -ldflags "-X main.version=…"; without
// it, a binary installed with go install reports its module version.
var version = "dev"

func init() {
	if version != "dev" {
		return
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal cancels the run, which saves what it completed;
		// a second one gets the default action and ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// notifyHangup subscribes to SIGHUP, which makes watch reload its spec and
// run at once. Only watch subscribes: every other command keeps SIGHUP's
// default action, ending the process when its terminal goes away.
func notifyHangup() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	signal.Notify(sig, syscall.SIGHUP)
	go func() {
		for {
			select {
			case <-sig:
				select {
				case out <- struct{}{}:
				default: // one pending reload is enough
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() {
		signal.Stop(sig)
		close(done)
	}
}

// Exit codes, as fixed by the user-facing contract (README.md): the cli
// framework's two, and the one of --detailed-exitcode.
const (
	exitOK      = cli.StatusOK
	exitError   = cli.StatusError
	exitChanged = 2 // only with --detailed-exitcode
)

// buildInfo is what 'patwatch version' reports.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`             // the VCS revision, "" when the build did not record one
	Modified bool   `json:"modified,omitempty"` // the working tree had changes
	Go       string `json:"go"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Go: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := flagSet(e, "version")
	var format string
	flagvalue.ChoiceVar(fs, &format, "format", "text", "format", []string{"text", "json"}, "output format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b := currentBuild()
	if format == "json" {
		out, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
		return nil
	}
	line := "patwatch " + b.Version
	var extra []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if b.Modified {
			c += "+modified"
		}
		extra = append(extra, "commit "+c)
	}
	extra = append(extra, b.Go)
	fmt.Fprintf(e.stdout, "%s (%s)\n", line, strings.Join(extra, ", "))
	return nil
}
