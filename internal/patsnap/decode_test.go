package patsnap

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patwatch/patwatch/internal/jobid"
)

func TestParseJobID(t *testing.T) {
	tests := []struct {
		raw  string
		want string // "" means an error
	}{
		{`1579434053399035905`, "1579434053399035905"},
		{` 1579434053399035905 `, "1579434053399035905"},
		{`"1579434053399035905"`, "1579434053399035905"},
		{`123456789012345678901234567890`, "123456789012345678901234567890"},
		{`0`, "0"},
		{`"job-7_A"`, ""}, // the state could not hold it
		{`"7a"`, ""},
		{`"007"`, ""},
		{`"` + strings.Repeat("9", 40) + `"`, strings.Repeat("9", 40)},
		{strings.Repeat("9", 41), ""},
		{`1.579434053399036e18`, ""},
		{`1579434053399036000.0`, ""},
		{`-5`, ""},
		{`007`, ""},
		{`null`, ""},
		{``, ""},
		{`""`, ""},
		{`"1 2"`, ""},
		{`"a&b=c"`, ""},
		{`true`, ""},
		{`{}`, ""},
		{`"` + strings.Repeat("9", 65) + `"`, ""},
		{strings.Repeat("9", 65), ""},
	}
	for _, tt := range tests {
		got, err := parseJobID(json.RawMessage(tt.raw))
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseJobID(%s) = %q, want an error", tt.raw, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseJobID(%s) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}

func TestDecodeTokenShapes(t *testing.T) {
	tests := []struct {
		body string
		tok  string
		ttl  time.Duration
	}{
		{`{"token":"a","token_type":"BearerToken","expires_in":1799,"status":"approved","issued_at":"1692347672874"}`, "a", 1799 * time.Second},
		{`{"data":{"token":"b","expires_in":600},"status":true,"error_code":0}`, "b", 600 * time.Second},
		{`{"access_token":"c","expires_in":"120"}`, "c", 120 * time.Second},
		{`{"token":"d","expires_in":0}`, "d", defaultTokenTTL},
		{`{"token":"e","expires_in":"soon"}`, "", 0},
		{`{"token":"f","expires_in":99999999999999}`, "f", maxTokenTTL},
		{`{"token":"","access_token":"g"}`, "g", defaultTokenTTL},
		{`{"token":5}`, "", 0},
		{`{"data":"h","status":true}`, "", 0},
		{`[]`, "", 0},
	}
	for _, tt := range tests {
		tok, ttl, ae := decodeToken(200, []byte(tt.body))
		if tt.tok == "" {
			if ae == nil {
				t.Errorf("decodeToken(%s) = %q, want an error", tt.body, tok)
			}
			continue
		}
		if ae != nil || tok != tt.tok || ttl != tt.ttl {
			t.Errorf("decodeToken(%s) = %q %v %v", tt.body, tok, ttl, ae)
		}
	}
}

func TestDecodeEnvelopeFlexibleCode(t *testing.T) {
	for body, code := range map[string]int{
		`{"status":false,"error_code":67200002}`:   67200002,
		`{"status":false,"error_code":"67200002"}`: 67200002,
		`{"status":true,"error_code":null}`:        0,
		`{"status":true,"error_code":""}`:          0,
	} {
		env, err := decodeEnvelope([]byte(body))
		if err != nil || env.Code != code {
			t.Errorf("decodeEnvelope(%s) = %+v, %v", body, env, err)
		}
	}
	for _, body := range []string{`{"error_code":"x"}`, `{"error_code":1.5}`, `{"error_code":99999999999}`} {
		if _, err := decodeEnvelope([]byte(body)); err == nil {
			t.Errorf("decodeEnvelope(%s) accepted", body)
		}
	}
}

// The fuzz tests feed arbitrary bytes to every answer decoder: none may
// panic, and what they accept must be internally consistent.

func fuzzSeeds(f *testing.F, extra ...string) {
	for _, name := range []string{"p060_response_example.json", "r002_status_example.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzCheckEnvelope(f *testing.F) {
	fuzzSeeds(f, `{"status":false,"error_code":67200002,"error_msg":"too fast"}`, `{"data":null,"status":true}`, `{"data":`)
	c, err := New(Config{BaseURL: "http://127.0.0.1", APIKey: testAPIKey})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{200, 401, 500} {
			data, err := c.checkEnvelope(EndpointSearchSingle, status, body)
			if (data == nil) == (err == nil) {
				t.Fatalf("data %q and err %v", data, err)
			}
			var ae *APIError
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("%T is not an *APIError", err)
			}
			if status != 200 && err == nil {
				t.Fatalf("HTTP %d accepted", status)
			}
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	fuzzSeeds(f,
		`{"token":"a","expires_in":1799,"status":"approved"}`,
		`{"data":{"token":"b","expires_in":"600"},"status":true,"error_code":0}`,
		`{"access_token":"c","expires_in":"120"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, ttl, ae := decodeToken(200, body)
		if ae != nil {
			if tok != "" {
				t.Fatal("token with an error")
			}
			return
		}
		if tok == "" || ttl <= 0 || ttl > maxTokenTTL || checkCredential("token", tok) != nil {
			t.Fatalf("accepted token %q ttl %v", tok, ttl)
		}
	})
}

func FuzzDecodeSearchPage(f *testing.F) {
	fuzzSeeds(f, `{"patent_messages":[{"patent_pn":"A","score":"0.5","apdt":"20190528"}],"total_search_result_count":"3"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := (&Client{}).checkEnvelope(EndpointSearchSingle, 200, body)
		if err != nil {
			data = body // also try the bytes as data directly
		}
		hits, total, _, err := decodeSearchPage(data)
		if err == nil && (total < 0 || total > 1<<31 || len(hits) > len(data)) {
			t.Fatalf("total %d hits %v", total, hits)
		}
	})
}

func FuzzParseJobID(f *testing.F) {
	for _, s := range []string{`1579434053399035905`, `"1579434053399035905"`, `1.5e18`, `-1`, `"x y"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, err := parseJobID(raw)
		if err != nil {
			return
		}
		if jobid.Check(id) != nil {
			t.Fatalf("accepted job id %q", id)
		}
		// A bare number is kept verbatim.
		if trimmed := strings.TrimSpace(string(raw)); trimmed[0] != '"' && id != trimmed {
			t.Fatalf("job id %q from %q", id, raw)
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	fuzzSeeds(f, `{"job_id":1579434053399035905,"job_status":2,"download_url":"https://x"}`, `{"job_status":"3","abnormal_cause":"x"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		data, err := (&Client{}).checkEnvelope(EndpointReportStatus, 200, body)
		if err != nil {
			data = body
		}
		st, err := decodeStatus(data)
		if err != nil {
			return
		}
		if st.JobStatus < JobWaiting || st.JobStatus > JobFailed || (st.JobStatus == JobDone && st.DownloadURL == "") || st.QueueNum < 0 {
			t.Fatalf("accepted %+v", st)
		}
	})
}

func FuzzDecodeUpload(f *testing.F) {
	f.Add([]byte(`{"url":"https://x/y.png","expire":32400}`))
	f.Add([]byte(`{"url":"https://x/y.png","expire":"32400"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, ttl, err := decodeUpload(data)
		if err == nil && (strings.TrimSpace(u) == "" || ttl <= 0) {
			t.Fatalf("accepted %q %v", u, ttl)
		}
	})
}
