package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/notify"
	"github.com/patwatch/patwatch/internal/notify/notifytest"
	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// sockets counts the connections patwatch opened to the tarpit, and those
// it has not closed (a read waits 5 s for one it left open).
func sockets(t *testing.T, tp *notifytest.Tarpit) (opened, open int) {
	t.Helper()
	opened, open, err := tp.Sockets(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return opened, open
}

// tarpitSpec adds an e-mail channel whose URL is in MAIL to notifySpec.
const tarpitSpec = notifySpec + `
  - name: mail
    url_env: MAIL
`

// TestEmailTarpitBoundsTheApply (issue 25.3.2): against a server that
// never answers, even with an hour for each SMTP command, an apply's
// delivery ends at its deadline: the apply exits 1 saying so, the
// message waits in the state, and no connection to the server is left.
func TestEmailTarpitBoundsTheApply(t *testing.T) {
	h, _ := notifyHarness(t)
	tp := notifytest.NewTarpit(t)
	h.envs["MAIL"] = "smtp://patwatch:" + smtpPass + "@" + tp.Addr + "/?from=a@example.com&to=b@example.com&timeout=1h"
	h.tuneNotifier = func(n *notify.Notifier) { n.Deadline = 500 * time.Millisecond }
	h.writeSpec(tarpitSpec)
	started := time.Now()
	code, _, stderr := h.run(context.Background(), "apply")
	if took := time.Since(started); took > 30*time.Second {
		t.Errorf("the apply took %s with a delivery deadline of 500ms", took)
	}
	if code != exitError || !strings.Contains(stderr, "notification to mail failed: the delivery's deadline of 500ms passed") ||
		!strings.Contains(stderr, "1 message kept in the state for the next run") {
		t.Fatalf("exit %d, want 1 naming the deadline\n%s", code, stderr)
	}
	if opened, open := sockets(t, tp); opened == 0 || open != 0 {
		t.Errorf("%d connections to the tarpit, %d left open after the apply", opened, open)
	}
	assertNoSecrets(t, h, stderr)
}

// TestEmailTarpitLeavesNoSocketInWatch (issue 25.3.2): run after run of a
// watch, each delivery to a server that never answers ends with its
// connections closed: their number does not grow.
func TestEmailTarpitLeavesNoSocketInWatch(t *testing.T) {
	h, _ := notifyHarness(t)
	tp := notifytest.NewTarpit(t)
	h.envs["MAIL"] = "smtp://patwatch:" + smtpPass + "@" + tp.Addr + "/?from=a@example.com&to=b@example.com&timeout=1h"
	h.tuneNotifier = func(n *notify.Notifier) { n.Deadline = 300 * time.Millisecond }
	h.writeSpec(tarpitSpec)
	w := startWatch(t, h)
	for run := 1; run <= 3; run++ {
		w.waitRuns(run)
		opened, open := sockets(t, tp)
		if opened < run || open != 0 {
			t.Fatalf("after run %d: %d connections to the tarpit, %d of them open", run, opened, open)
		}
		// A change of the spec starts the next run, which sends the kept
		// message again.
		h.writeSpec(tarpitSpec + fmt.Sprintf("# edit %d\n", run))
	}
	w.stop()
	if opened, open := sockets(t, tp); open != 0 {
		t.Errorf("%d connections to the tarpit, %d left open after the watch", opened, open)
	}
}

// mailpitVersion is the Mailpit .ci/run installs.
const mailpitVersion = "v1.33.1"

// mailpitPath is where .ci/run installs Mailpit, relative to this
// package (.tmp/ is ignored by git); one on PATH does too.
const mailpitPath = "../../.tmp/bin/mailpit"

// mailpit starts Mailpit on two free loopback ports and returns its SMTP
// address and its API's base URL. Without Mailpit the test is skipped,
// except in CI, which installs it.
func mailpit(t *testing.T) (smtpAddr, api string) {
	t.Helper()
	path := mailpitPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("mailpit")
		if lerr != nil {
			msg := "no Mailpit at " + mailpitPath + " or on PATH: the e-mail is not scored against mail clients; install it with: GOBIN=$PWD/.tmp/bin go install github.com/axllent/mailpit@" + mailpitVersion
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		path = p
	}
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(path, "--smtp", smtpAddr, "--listen", httpAddr, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	api = "http://" + httpAddr + "/api/v1"
	waitWithin(t, time.Minute, "Mailpit to answer", func() bool {
		resp, err := http.Get(api + "/info")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return smtpAddr, api
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// mailpitQuickstart is a harness whose spec is the sandbox quickstart with
// an e-mail channel to a Mailpit server, and that server's API root.
func mailpitQuickstart(t *testing.T) (*harness, string) {
	smtpAddr, api := mailpit(t)
	h := newHarness(t, fake.Options{})
	data, err := os.ReadFile("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h.envs["MAIL"] = "smtp://" + smtpAddr + "/?from=patwatch@example.com&to=ip@example.com&usestarttls=no"
	h.writeSpec(string(data) + "\nnotify:\n  - name: mail\n    url_env: MAIL\n")
	return h, api
}

// TestEmailInMailpit (issue 25.1): the sandbox quickstart's e-mail,
// delivered to Mailpit, scores at least 90 % supported in its HTML check
// (caniemail's data on how e-mail clients support each feature), with
// its drawings as inline parts and no data: image.
//
// The score it logs is the README's (go test ./cmd/patwatch -run
// EmailInMailpit -v).
func TestEmailInMailpit(t *testing.T) {
	h, api := mailpitQuickstart(t)
	for range 2 { // a baseline, then new hits
		if code, _, stderr := h.run(context.Background(), "apply", "--sandbox"); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	}
	checkMailpitMessage(t, api)
}

// checkMailpitMessage checks the one message Mailpit holds: its drawings
// are inline parts it refers to, with no data: image, and its HTML check
// scores at least 90 % supported. It returns the message's HTML.
func checkMailpitMessage(t *testing.T, api string) string {
	t.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	getJSON(t, api+"/messages", &list)
	if len(list.Messages) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1", len(list.Messages))
	}
	var msg struct {
		HTML   string
		Inline []struct{ ContentID string }
	}
	getJSON(t, api+"/message/"+list.Messages[0].ID, &msg)
	if strings.Contains(msg.HTML, "data:") || len(msg.Inline) == 0 {
		t.Errorf("the e-mail has %d inline parts and data: images: %v", len(msg.Inline), strings.Contains(msg.HTML, "data:"))
	}
	for _, in := range msg.Inline {
		if !strings.Contains(msg.HTML, "cid:"+in.ContentID) {
			t.Errorf("inline part %s is not referred to", in.ContentID)
		}
	}
	var check struct {
		Total struct {
			Tests                           int
			Nodes                           int
			Supported, Partial, Unsupported float64
		}
		Warnings []struct {
			Slug  string
			Score struct {
				Found                int
				Partial, Unsupported float64
			}
		}
	}
	getJSON(t, api+"/message/"+list.Messages[0].ID+"/html-check", &check)
	c := check.Total
	t.Logf("Mailpit html-check: %.1f %% supported, %.1f %% partial, %.1f %% unsupported (%d tests over %d nodes, %d inline images)",
		c.Supported, c.Partial, c.Unsupported, c.Tests, c.Nodes, len(msg.Inline))
	if c.Supported < 90 {
		for _, w := range check.Warnings {
			t.Logf("%s: found %d, partial %.1f %%, unsupported %.1f %%", w.Slug, w.Score.Found, w.Score.Partial, w.Score.Unsupported)
		}
		t.Errorf("%.1f %% supported, want at least 90 %%", c.Supported)
	}
	return msg.HTML
}

// TestEmailWithDecisionsInMailpit: the sandbox quickstart's e-mail with
// its new hits decided relevant and report (the cards' decision lines)
// still scores at least 90 % supported in Mailpit's HTML check.
func TestEmailWithDecisionsInMailpit(t *testing.T) {
	h, api := mailpitQuickstart(t)
	if code, _, stderr := h.run(context.Background(), "apply", "--sandbox"); code != exitOK {
		t.Fatalf("baseline: exit %d\n%s", code, stderr)
	}
	// The plan shows the hits the next apply reports new: decide them.
	code, rep, stderr := h.report("plan", "--sandbox")
	if code != exitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var decisions strings.Builder
	decisions.WriteString("version: 1\ndecisions:\n")
	for _, s := range rep.Searches {
		for _, hit := range s.New {
			decisions.WriteString("  " + hit.PatentPN + ": {verdict: relevant}\n")
		}
	}
	h.writeDecisions(decisions.String())
	if code, _, stderr := h.run(context.Background(), "apply", "--sandbox"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if html := checkMailpitMessage(t, api); !strings.Contains(html, ">decision: relevant</div>") {
		t.Errorf("the e-mail marks no decision:\n%.3000s", html)
	}
}
