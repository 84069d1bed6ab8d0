package patsnap

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/buftest"
	"github.com/rs/zerolog"
)

// TestNoSecretInErrorsOrLogs drives every failure path it can think of,
// with servers that echo what they were sent, and searches every error
// string and the debug log for a secret or a presigned signature.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	secrets := []string{testSecret, testToken, testAPIKey, testClientID, "deadbeef4567", "feedface0123",
		"X-Amz-Signature", "q-signature", "sign="}
	var logs buftest.Buffer
	logger := zerolog.New(&logs).Level(zerolog.DebugLevel)
	echo := func(w http.ResponseWriter, r *http.Request, httpStatus, code int) {
		msg := fmt.Sprintf("rejected %s with %s from %s", r.Header.Get("Authorization"), r.URL.RawQuery, r.URL)
		apiErr(w, httpStatus, code, msg)
	}
	presigned := "?sign=q-sign-algorithm%3Dsha1%26q-signature%3Dfeedface0123&X-Amz-Signature=deadbeef4567"
	ctx := context.Background()
	var errs []error
	run := func(name string, err error) {
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		errs = append(errs, err)
	}

	// Mode A, token endpoint echoing the Basic credentials.
	s := newStubAPI(t)
	s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		apiErr(w, 200, 67200003, "bad key "+id+":"+secret+" "+r.Header.Get("Authorization"))
	})
	c, _ := s.client(func(cfg *Config) { cfg.Logger = logger })
	_, err := c.ReportStatus(ctx, "1")
	run("token rejected", err)
	s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) {
		_, secret, _ := r.BasicAuth()
		apiErr(w, 500, 68300008, "boom "+secret)
	})
	_, err = c.ReportStatus(ctx, "1")
	run("token 500", err)

	// Mode A, business calls echoing the token and the query.
	s.handle(tokenPath, tokenHandler(testToken, 1799))
	for _, code := range []int{67200009, 68300008, 68300004, 67200002, 68300013} {
		s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) { echo(w, r, 200, code) })
		_, err = c.ReportStatus(ctx, "1")
		run(fmt.Sprint(code), err)
	}
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) { echo(w, r, 401, 0) })
	_, err = c.Search(ctx, limited(simpleSearch, 10))
	run("401", err)
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":`+r.URL.RawQuery) })
	_, err = c.Search(ctx, limited(simpleSearch, 10))
	run("malformed", err)
	s.handle(uploadPath, func(w http.ResponseWriter, r *http.Request) { echo(w, r, 200, 68300010) })
	_, err = c.UploadImage(ctx, "a.png", pngBytes("x"))
	run("upload", err)
	s.handle(createPath, func(w http.ResponseWriter, r *http.Request) { cutConnection(w) })
	_, err = c.CreateReport(ctx, ReportRequest{PatentNumber: "CN1", Format: "pdf", Logo: true})
	run("create cut", err)

	// Downloads: presigned query strings must not show.
	dir := t.TempDir()
	for name, h := range map[string]http.HandlerFunc{
		"403": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) },
		"500": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) },
		"cut": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
			cutConnection(w)
		},
		"redirect loop": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		},
	} {
		s.handle(downloadPath, h)
		_, err = c.Download(ctx, s.srv.URL+downloadPath+presigned, filepath.Join(dir, "r.pdf"), "pdf")
		run("download "+name, err)
	}

	// Attempt timeouts and cancellation, mode B.
	slow := newStubAPI(t)
	slow.handle(statusPath, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	slow.handle(downloadPath, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	cb, _ := slow.client(func(cfg *Config) {
		cfg.APIKey, cfg.Logger, cfg.MaxRetries = testAPIKey, logger, 1
		cfg.AttemptTimeout, cfg.DownloadTimeout = 20*time.Millisecond, 20*time.Millisecond
	})
	_, err = cb.ReportStatus(ctx, "1")
	run("timeout", err)
	_, err = cb.Download(ctx, slow.srv.URL+downloadPath+presigned, filepath.Join(dir, "r.pdf"), "pdf")
	run("download timeout", err)
	cctx, cancel := context.WithCancel(ctx)
	slow.handle(statusPath, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})
	_, err = cb.ReportStatus(cctx, "1")
	run("cancelled", err)

	// Connection refused, mode B (the request URL carries apikey=).
	closed := newStubAPI(t)
	cc, _ := closed.client(func(cfg *Config) { cfg.APIKey, cfg.Logger = testAPIKey, logger })
	closedURL := closed.srv.URL
	closed.srv.Close()
	_, err = cc.Search(ctx, limited(simpleSearch, 10))
	run("refused", err)
	_, err = cc.Download(ctx, closedURL+downloadPath+presigned, filepath.Join(dir, "r.pdf"), "pdf")
	run("download refused", err)
	s.handle(statusPath, func(w http.ResponseWriter, r *http.Request) { echo(w, r, 200, 67200003) })
	cb2, _ := s.client(func(cfg *Config) { cfg.APIKey, cfg.Logger = testAPIKey, logger })
	_, err = cb2.ReportStatus(ctx, "1")
	run("mode B auth echo", err)

	for _, err := range errs {
		text := err.Error() + "\n" + fmt.Sprintf("%v %+v", err, err)
		if s, ok := containsAny(text, secrets...); ok {
			t.Errorf("error shows %q: %s", s, text)
		}
	}
	logText := logs.String()
	if !strings.Contains(logText, `"endpoint":"P060"`) || !strings.Contains(logText, `"attempt":`) {
		t.Errorf("debug log lacks request lines: %.300s", logText)
	}
	for _, line := range strings.Split(logText, "\n") {
		if s, ok := containsAny(line, secrets...); ok {
			t.Errorf("log line shows %q: %s", s, line)
		}
	}
	if len(errs) < 20 {
		t.Errorf("only %d failure paths exercised", len(errs))
	}
}

// TestRedactsEveryCredentialForm: credentials are removed from any text in
// any form they travel in: the Base64 of "id:secret" a Basic header holds
// (any alphabet, with or without padding), bearer values of tokens the
// client never saw, and sk- keys.
func TestRedactsEveryCredentialForm(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(nil)
	basic := []byte(testClientID + ":" + testSecret)
	tests := []struct{ in, leak string }{
		{"rejected Authorization: Basic " + base64.StdEncoding.EncodeToString(basic), base64.StdEncoding.EncodeToString(basic)},
		{"header was " + base64.RawStdEncoding.EncodeToString(basic) + " (no padding)", base64.RawStdEncoding.EncodeToString(basic)},
		{"url-safe " + base64.URLEncoding.EncodeToString(basic), base64.URLEncoding.EncodeToString(basic)},
		{"got Bearer 3f9a8b7c6d5e4f3a2b1c instead", "3f9a8b7c6d5e4f3a2b1c"},
		{"got bearer%203f9a8b7c6d5e4f3a2b1c instead", "3f9a8b7c6d5e4f3a2b1c"},
		{"Authorization: Basic Zm9vOmJhcg== was refused", "Zm9vOmJhcg=="},
		{"key sk-live-0a1b2c3d4e5f is not valid", "0a1b2c3d4e5f"},
		{"Bearer " + testAPIKey, testAPIKey},
	}
	for _, tt := range tests {
		got := c.redact(tt.in)
		if strings.Contains(got, tt.leak) {
			t.Errorf("redact(%q) = %q: %q shows", tt.in, got, tt.leak)
		}
		if !strings.Contains(got, "[REDACTED]") {
			t.Errorf("redact(%q) = %q: nothing marked", tt.in, got)
		}
	}
	if got := c.redact("the basic rules: no bearer here"); got != "the basic rules: no bearer here" {
		t.Errorf("plain words changed to %q", got)
	}

	// End to end: a token endpoint and a business call echoing credentials
	// in every form.
	s.handle(tokenPath, func(w http.ResponseWriter, r *http.Request) {
		apiErr(w, 200, 67200003, "refused "+r.Header.Get("Authorization")+" and Bearer other-token-0123456789")
	})
	_, err := c.ReportStatus(context.Background(), "1")
	if err == nil {
		t.Fatal("no error")
	}
	b64 := base64.StdEncoding.EncodeToString(basic)
	if leak, ok := containsAny(err.Error(), b64, base64.RawStdEncoding.EncodeToString(basic), "other-token-0123456789"); ok {
		t.Errorf("error %q shows %q", err, leak)
	}
	b := newStubAPI(t)
	cb, _ := b.client(func(cfg *Config) { cfg.ClientID, cfg.ClientSecret, cfg.APIKey = "", "", testAPIKey })
	b.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		okData(w, `{"patent_messages":[{"patent_pn":"P1","score":"`+r.Header.Get("Authorization")+`"}],"total_search_result_count":1}`)
	})
	_, err = cb.Search(context.Background(), limited(simpleSearch, 10))
	if err == nil {
		t.Fatal("a score holding the key decoded")
	}
	if strings.Contains(err.Error(), testAPIKey) || strings.Contains(err.Error(), testAPIKey[3:]) {
		t.Errorf("error %q shows the key", err)
	}
}
