package main

import (
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"testing"
)

// decisionsNotifyHarness is notifyHarness with patent numbers a decisions
// file takes: a baseline of CN0000001S to CN0000003S, then CN0000004S new
// and CN0000003S dropped.
func decisionsNotifyHarness(t *testing.T) (*harness, *hookReceiver) {
	return notifyHarnessOf(t, []string{"CN0000001S", "CN0000002S", "CN0000003S"}, []string{"CN0000001S", "CN0000004S", "CN0000002S"})
}

// TestNotifyCarriesDecisions: a relevant hit's event carries its decision
// to every channel: the webhook's "decision" member, the digest's mark,
// the e-mail's text part and its card. A hit without one has no member.
func TestNotifyCarriesDecisions(t *testing.T) {
	h, rcv := decisionsNotifyHarness(t)
	gen := newGenericReceiver(t)
	mailSrv := newSMTPServer(t)
	h.envs["PATWATCH_NOTIFY_CHAT"] = "generic+" + gen.srv.URL + "/chat/" + hookToken
	h.envs["PATWATCH_NOTIFY_MAIL"] = "smtp://patwatch:" + smtpPass + "@" + mailSrv.addr + "/?from=patwatch@example.com&to=ip@example.com&usestarttls=no"
	h.writeSpec(notifySpec + `
  - name: chat
    url_env: PATWATCH_NOTIFY_CHAT
  - name: mail
    url_env: PATWATCH_NOTIFY_MAIL
`)
	h.writeDecisions("version: 1\ndecisions:\n  CN0000004S: {verdict: relevant}\n")
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := rcv.accepted()
	if len(got) != 1 || len(got[0].msg.Events) != 3 {
		t.Fatalf("the webhook accepted %d messages, want 1 of 3 events", len(got))
	}
	checkSigned(t, got[0])
	if e := got[0].msg.Events[0]; e["kind"] != "new" || e["patent_pn"] != "CN0000004S" || e["decision"] != "relevant" {
		t.Errorf("the relevant hit's event: %v", e)
	}
	if e := got[0].msg.Events[1]; e["kind"] != "dropped" || e["decision"] != nil {
		t.Errorf("the undecided dropped hit's event: %v", e)
	}
	if !strings.Contains(string(got[0].body), `"link":"https://worldwide.espacenet.com/patent/search?q=pn%3DCN0000004S","decision":"relevant"}`) {
		t.Errorf("decision is not the new event's last member:\n%s", got[0].body)
	}

	chat := gen.bodies()
	if len(chat) != 1 || !strings.Contains(chat[0], "+ CN0000004S  Design CN0000004S  [relevant]\n") || !strings.Contains(chat[0], "- CN0000003S  Design CN0000003S\n") {
		t.Errorf("the digest does not mark the decision:\n%s", chat)
	}

	mails := mailSrv.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	parts := mailParts(t, mails[0])
	if !strings.Contains(parts["text/plain"], "+ CN0000004S  Design CN0000004S  [relevant]") {
		t.Errorf("the mail's text part does not mark the decision:\n%s", parts["text/plain"])
	}
	if html := parts["text/html"]; strings.Count(html, ">decision: relevant</div>") != 1 || !strings.Contains(html, `style="padding:0 0 4px 0;font-size:12px;line-height:16px;font-weight:bold;color:#0b57d0"`) {
		t.Errorf("the mail's HTML part does not mark the decision once, inline-styled:\n%.4000s", html)
	}
}

// mailParts is the text and HTML parts of a raw mail, by media type.
func mailParts(t *testing.T, raw string) map[string]string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := readMailParts(msg.Body, params["boundary"])
	return parts
}

// readMailParts reads the multipart body r of a mail: its leaf parts'
// bodies by media type (those of a multipart/alternative too), and the
// Content-IDs of its inline parts.
func readMailParts(r io.Reader, boundary string) (parts map[string]string, cids []string) {
	parts = map[string]string{}
	var read func(r io.Reader, boundary string)
	read = func(r io.Reader, boundary string) {
		mr := multipart.NewReader(r, boundary)
		for {
			part, err := mr.NextPart()
			if err != nil {
				return
			}
			ct, params, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if ct == "multipart/alternative" {
				read(part, params["boundary"])
				continue
			}
			b, _ := io.ReadAll(part)
			parts[ct] = string(b)
			if cid := part.Header.Get("Content-Id"); cid != "" {
				cids = append(cids, strings.Trim(cid, "<>"))
			}
		}
	}
	read(r, boundary)
	return parts, cids
}

// oldMessageBody is the webhook body of the message in
// testdata/notify/old-outbox.state.json, which a patwatch that knew no
// decisions wrote: a resend must be these bytes, under the same id.
const oldMessageBody = `{"format_version":"1","id":"6b0fe180-c796-43b5-9109-ae625a96d132:2:hook:42a690a094ac","channel":"hook",` +
	`"generated_at":"2026-12-01T08:00:00Z","spec":"patwatch.yaml","simulated":false,"events":[` +
	`{"kind":"new","search":"alpha","patent_pn":"CN0000004S","title":"Design CN0000004S","score":0.94,"current_assignee":"ACME","apdt":20240101,"pbdt":20240601,"link":"https://worldwide.espacenet.com/patent/search?q=pn%3DCN0000004S"},` +
	`{"kind":"dropped","search":"alpha","patent_pn":"CN0000003S","title":"Design CN0000003S","current_assignee":"ACME","link":"https://worldwide.espacenet.com/patent/search?q=pn%3DCN0000003S"}]}`

// TestNotifyResendsAnOldMessageUnchanged: a message an older patwatch left
// in the outbox, without decisions, is delivered with its id and its
// bytes, even when the decisions file now decides its hits.
func TestNotifyResendsAnOldMessageUnchanged(t *testing.T) {
	h, rcv := decisionsNotifyHarness(t)
	old, err := os.ReadFile("testdata/notify/old-outbox.state.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.path("patwatch.state.json"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	h.writeDecisions("version: 1\ndecisions:\n  CN0000004S: {verdict: relevant}\n")
	if code, _, stderr := h.apply(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := rcv.accepted()
	if len(got) == 0 {
		t.Fatal("nothing delivered")
	}
	if string(got[0].body) != oldMessageBody || got[0].header.Get("Idempotency-Key") != "6b0fe180-c796-43b5-9109-ae625a96d132:2:hook:42a690a094ac" {
		t.Errorf("the old message was resent as\n%s\nwant\n%s", got[0].body, oldMessageBody)
	}
	checkSigned(t, got[0])
}
