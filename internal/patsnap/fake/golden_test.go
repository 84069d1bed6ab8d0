package fake

import (
	"bytes"
	"encoding/base64"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenAnswers pins the exact bytes of a session's answers under a
// fixed clock and seed: the wire format, the generated corpus and the order
// of fields all show up in the diff when they change.
func TestGoldenAnswers(t *testing.T) {
	e := newEnv(t, Options{Seed: 1, ClientID: "cid", ClientSecret: "secret", PollsToFinish: 1})
	var out bytes.Buffer
	record := func(title string, r reply) {
		body := strings.ReplaceAll(string(r.body), e.ts.URL, "http://fake.test")
		out.WriteString("## " + title + "\n")
		out.WriteString("HTTP " + itoa(r.status) + " " + r.header.Get("Content-Type") + "\n")
		out.WriteString(body + "\n\n")
	}
	record("token", e.do(http.MethodPost, PathToken, "Basic "+base64.StdEncoding.EncodeToString([]byte("cid:secret")),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("grant_type=client_credentials")))
	record("P060 design", e.search(`{"url":"https://img.example/phone.png","patent_type":"D","model":1,"limit":3,"loc":"(14-03 OR 14-02)"}`))
	record("P060 utility, English titles", e.search(`{"url":"https://img.example/phone.png","patent_type":"U","model":4,"limit":2,"lang":"en","country":["CN"]}`))
	record("P061", e.call(PathSearchMultiple, `{"urls":["https://img.example/a.png","https://img.example/b.png"],"patent_type":"D","model":2,"limit":1,"is_https":1}`))
	record("P060 offset too large", e.search(`{"url":"https://img.example/phone.png","patent_type":"D","model":1,"offset":1001}`))
	record("P010", e.upload("image", pngImage))
	record("R002 create", e.call(PathReportCreate, `{"patent_number":"CN108977442B","report_type":"word"}`))
	record("R002 create design", e.call(PathReportCreateNoLogo, `{"patent_number":"CN305123456S","report_type":"pdf"}`))
	record("R002 status 1", e.status("1579434053399035905"))
	record("R002 status 2", e.status("1579434053399035905"))
	record("R002 status unknown", e.status("1579434053399035907"))
	e.clock.Add(time.Hour)
	record("missing apikey", e.do(http.MethodPost, PathSearchSingle, "Bearer x", nil, []byte(`{}`)))
	record("unknown path", e.do(http.MethodGet, "/nope", "", nil, nil))

	path := filepath.Join("testdata", "answers.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("answers differ from %s (run go test -update after checking the change):\n%s", path, out.String())
	}
}

// FuzzServe feeds arbitrary bodies and queries to every route: the fake
// must answer every request, never panic, and keep JSON answers JSON.
func FuzzServe(f *testing.F) {
	f.Add(0, `{"url":"http://i/x.png","patent_type":"D","model":1}`, "")
	f.Add(1, `{"urls":["http://i/x.png"],"patent_type":"U","model":3,"offset":1000}`, "")
	f.Add(2, "--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n", "")
	f.Add(3, `{"patent_number":"CN1S","report_type":"pdf"}`, "")
	f.Add(4, `{"patent_id":"x","report_type":"word"}`, "")
	f.Add(5, "", "job_id=1579434053399035905")
	f.Add(6, "", "expires=1&sign=zz")
	f.Add(7, "grant_type=client_credentials", "")
	srv := New(Options{APIKeys: []string{testKey}, ClientID: "cid", ClientSecret: "s", Seed: 1, PollsToFinish: -1})
	routes := []struct{ method, path string }{
		{http.MethodPost, PathSearchSingle},
		{http.MethodPost, PathSearchMultiple},
		{http.MethodPost, PathUpload},
		{http.MethodPost, PathReportCreate},
		{http.MethodPost, PathReportCreateNoLogo},
		{http.MethodGet, PathReportStatus},
		{http.MethodGet, PathDownloadPrefix + "1579434053399035905/x.pdf"},
		{http.MethodPost, PathToken},
	}
	f.Fuzz(func(t *testing.T, route int, body, query string) {
		rt := routes[(route%len(routes)+len(routes))%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(body))
		req.URL.RawQuery = query + "&apikey=" + testKey
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code == 0 || w.Body.Len() == 0 {
			t.Fatalf("no answer")
		}
		if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !jsonValid(w.Body.Bytes()) {
			t.Fatalf("invalid JSON answer: %s", w.Body.Bytes())
		}
		srv.ResetRequests()
	})
}
