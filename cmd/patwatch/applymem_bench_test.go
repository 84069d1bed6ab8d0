package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkApplyNoChangeMemory is issue 11.4's other half, measured from
// outside: the peak resident memory and wall time of "patwatch apply" when
// nothing changed, for built binaries run as child processes under
// /usr/bin/time -v, so that the fake API serving them (in this process) is
// not counted. PATWATCH_MEM_BINS lists the binaries, comma-separated; the
// first one also makes the baseline state, which every measured run starts
// from afresh (a copy of the whole state directory). The runs alternate
// binaries, PATWATCH_MEM_ROUNDS rounds (default 3); PATWATCH_MEM_SEARCHES
// sets the number of searches (default 1,000, each of 1,000 hits: ten
// pages, so about 10,000 calls an apply at the spec's 100 QPS);
// PATWATCH_MEM_KEEP=DIR keeps each measured run's output there, and with
// PATWATCH_MEM_TRACE=1 also a trace of its resident memory over time. Binaries
// whose apply knows --baseline-drawings get --baseline-drawings 0.
//
//	PATWATCH_MEM_BINS=/tmp/mem-bin/new-patwatch,/tmp/mem-bin/base-patwatch \
//	  go test -run '^$' -bench ApplyNoChangeMemory -benchtime 1x -timeout 40m ./cmd/patwatch
func BenchmarkApplyNoChangeMemory(b *testing.B) {
	bins := memBins(b, "PATWATCH_MEM_BINS")
	searches, rounds := memEnvInt(b, "PATWATCH_MEM_SEARCHES", 1000), memEnvInt(b, "PATWATCH_MEM_ROUNDS", 3)
	for b.Loop() {
		m := newMemBench(b, bins[0], searches)
		api, env, specPath, pristine := m.api, m.env, m.specPath, m.pristine
		format := "?"
		if f, err := os.Open(m.pristineState()); err == nil {
			head := make([]byte, 64)
			n, _ := f.Read(head)
			if m := memFormat.FindSubmatch(head[:n]); m != nil {
				format = string(m[1])
			}
			f.Close()
		}
		memSay("machine: NumCPU %d; %d searches × 1,000 hits; baseline by %s in %s, state %d bytes (%.1f MB), format %s",
			runtime.NumCPU(), searches, bins[0], m.base.wall, m.size, m.sizeMB(), format)

		_ = fs.WalkDir(os.DirFS(pristine), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if info, err := d.Info(); err == nil {
					memSay("  baseline file %s: %d bytes", p, info.Size())
				}
			}
			return nil
		})

		for round := 1; round <= rounds; round++ {
			for _, bin := range bins {
				statePath := m.fresh(b)
				api.ResetRequests()
				load := memLoadavg()
				trace := ""
				if keep := os.Getenv("PATWATCH_MEM_KEEP"); keep != "" && os.Getenv("PATWATCH_MEM_TRACE") != "" {
					trace = filepath.Join(keep, fmt.Sprintf("round%d-%s.trace", round, filepath.Base(bin)))
				}
				r := memRun(b, bin, env, trace, specPath, statePath)
				calls := len(api.Requests())
				if r.code != exitOK {
					b.Fatalf("no-change apply by %s exited %d, want 0\n%s", bin, r.code, r.stderr)
				}
				if n := memChangedHits(b, r.stdout); n != 0 {
					b.Fatalf("no-change apply by %s reported %d new or dropped hits", bin, n)
				}
				if keep := os.Getenv("PATWATCH_MEM_KEEP"); keep != "" {
					name := filepath.Join(keep, fmt.Sprintf("round%d-%s", round, filepath.Base(bin)))
					if err := errors.Join(os.WriteFile(name+".stdout", []byte(r.stdout), 0o644), os.WriteFile(name+".stderr", []byte(r.stderr), 0o644)); err != nil {
						b.Fatal(err)
					}
				}
				memSay("round %d %-16s load %s  state %.1f MB  peak RSS %d kB (%.0f MB)  RSS/state %.2f  wall %s  calls %d  drawings failed %s",
					round, filepath.Base(bin), load, m.sizeMB(), r.rssKB, float64(r.rssKB)*1024/1e6,
					float64(r.rssKB)*1024/float64(m.size), r.wall, calls, memFailed(r.stderr))
				// The floor: the same state loaded and compared with the
				// spec by an offline plan, which calls no API and saves nothing.
				p := memTime(b, bin, env, "", "plan", "--offline", "-f", specPath, "--state", statePath, "--format", "json", "--log-format", "json")
				memSay("        %-16s plan --offline: exit %d  peak RSS %d kB (%.0f MB)  RSS/state %.2f  wall %s",
					filepath.Base(bin), p.code, p.rssKB, float64(p.rssKB)*1024/1e6, float64(p.rssKB)*1024/float64(m.size), p.wall)
			}
		}
	}
}

// memSay prints a result line at once and in full (benchmark logs are cut
// to ten lines without -v).
func memSay(format string, a ...any) {
	fmt.Printf(format+"\n", a...)
}

// memSpec is a spec of n searches of 1,000 hits each, in the fields the
// first version's schema already knows.
func memSpec(n int) string {
	var s strings.Builder
	s.WriteString("version: 1\napi:\n  qps: 100\nsearches:\n")
	for i := range n {
		fmt.Fprintf(&s, "  - name: s%04d\n    image: https://images.test/%04d.png\n    patent_type: D\n    model: 1\n    max_results: 1000\n", i, i)
	}
	return s.String()
}

type memResult struct {
	code           int
	rssKB          int
	wall           string
	cpu            float64 // user and system seconds
	stdout, stderr string
}

// memRun runs bin's apply on statePath under /usr/bin/time -v, with
// --detailed-exitcode and the JSON report, and reads the time report off
// the end of its standard error.
func memRun(b *testing.B, bin string, env []string, trace, specPath, statePath string) memResult {
	b.Helper()
	args := []string{"apply", "-f", specPath, "--state", statePath, "--format", "json", "--detailed-exitcode", "--log-format", "json"}
	if help, _ := exec.Command(bin, "apply", "-h").CombinedOutput(); bytes.Contains(help, []byte("baseline-drawings")) {
		args = append(args, "--baseline-drawings", "0")
	}
	if trace != "" {
		args = append(args, "--log-level", "debug")
	}
	return memTime(b, bin, env, trace, args...)
}

// memTime runs bin with args under /usr/bin/time -v.
// With a trace file, it also samples the child's resident memory every
// 50 ms and notes when each line of its log arrived (see memTraced).
func memTime(b *testing.B, bin string, env []string, trace string, binArgs ...string) memResult {
	b.Helper()
	args := append([]string{"-v", bin}, binArgs...)
	cmd := exec.Command("/usr/bin/time", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var err error
	if trace == "" {
		err = cmd.Run()
	} else {
		err = memTraced(b, cmd, &stderr, trace)
	}
	r := memResult{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		b.Fatalf("running %s: %v", bin, err)
	}
	sc := bufio.NewScanner(strings.NewReader(r.stderr))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Maximum resident set size (kbytes): "); ok {
			r.rssKB, _ = strconv.Atoi(v)
		}
		if _, v, ok := strings.Cut(line, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			r.wall = v
		}
		if v, ok := strings.CutPrefix(line, "Command exited with non-zero status "); ok {
			r.code, _ = strconv.Atoi(v)
		}
		for _, p := range []string{"User time (seconds): ", "System time (seconds): "} {
			if v, ok := strings.CutPrefix(line, p); ok {
				s, _ := strconv.ParseFloat(v, 64)
				r.cpu += s
			}
		}
	}
	if r.rssKB == 0 {
		b.Fatalf("no maximum resident set size in the output of %s:\n%s", bin, memTail(r.stderr))
	}
	return r
}

// memTraced runs cmd (/usr/bin/time and its one child) and writes to
// trace, in milliseconds since the start, the child's VmRSS every 50 ms
// ("rss" lines, kB) and the arrival of each of its log lines ("log" lines),
// so that the peak can be placed between the run's logged steps.
func memTraced(b *testing.B, cmd *exec.Cmd, stderr *bytes.Buffer, trace string) error {
	b.Helper()
	f, err := os.Create(trace)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	var mu sync.Mutex
	start := time.Now()
	note := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%d\t"+format+"\n", append([]any{time.Since(start).Milliseconds()}, a...)...)
	}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			stderr.Write(sc.Bytes())
			stderr.WriteByte('\n')
			// One line per request or search would drown the steps.
			if m := memMessage.FindSubmatch(sc.Bytes()); m != nil && !memChatter[string(m[1])] {
				written := ""
				if w := memWritten.FindSubmatch(sc.Bytes()); w != nil {
					written = " written=" + string(w[1])
				}
				note("log\t%s%s", m[1], written)
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		children := fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid)
		child := ""
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if child == "" {
				if raw, err := os.ReadFile(children); err == nil {
					child = strings.TrimSpace(string(raw))
				}
			}
			if child != "" {
				if raw, err := os.ReadFile("/proc/" + child + "/status"); err == nil {
					for _, line := range strings.Split(string(raw), "\n") {
						if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
							note("rss\t%s", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
						}
					}
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	pw.Close()
	<-sampled
	<-logged
	return err
}

var (
	memMessage = regexp.MustCompile(`"message":"([^"]*)"`)
	memWritten = regexp.MustCompile(`"written":(true|false)`)
	memChatter = map[string]bool{"patsnap request": true, "search refreshed": true, "a drawing was not fetched": true}
)

// memChangedHits counts the entries of every "new" and "dropped" array in
// a JSON change report, whichever version's shape it has.
func memChangedHits(b *testing.B, report string) int {
	b.Helper()
	var v any
	if err := json.Unmarshal([]byte(report), &v); err != nil {
		b.Fatalf("the JSON report: %v\n%s", err, memTail(report))
	}
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if a, ok := e.([]any); ok && (k == "new" || k == "dropped") {
					n += len(a)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return n
}

func memEnvInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

func memLoadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
}

var memFormat = regexp.MustCompile(`"format_version":\s*"?(\d+)`)

// memFailed is the number of failed drawing fetches the drawings step
// logged (query images on images.test, which does not resolve), or "-"
// for versions without the step.
func memFailed(stderr string) string {
	if m := regexp.MustCompile(`"failed":(\d+)`).FindStringSubmatch(stderr); m != nil {
		return m[1]
	}
	return "-"
}

func memTail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
