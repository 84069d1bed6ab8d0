package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/spec"
)

// TestLiveAPIKeepsItsClient: runs with the same API root and rate share one
// client (its token and rate carry over); another rate builds a new one.
func TestLiveAPIKeepsItsClient(t *testing.T) {
	env := map[string]string{"PATSNAP_API_KEY": "sk-test", "PATSNAP_BASE_URL": "https://api.example", "PATWATCH_CACHE_DIR": t.TempDir()}
	a := &LiveAPI{Getenv: func(k string) string { return env[k] }}
	sp := &spec.Spec{}
	sp.API.QPS = 5
	first, release, err := a.Connect(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	release()
	again, _, _ := a.Connect(context.Background(), sp)
	if again != first {
		t.Error("a second run with the same settings built a new client")
	}
	sp.API.QPS = 2
	if other, _, _ := a.Connect(context.Background(), sp); other == first {
		t.Error("a run at another rate kept the old client")
	}
	if got := a.Credentials(); got != "PATSNAP_API_KEY" {
		t.Errorf("Credentials() = %q", got)
	}
}

func TestLiveAPINamesMissingCredentials(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "no PatSnap credentials"},
		{map[string]string{"PATSNAP_CLIENT_ID": "id"}, "PATSNAP_CLIENT_SECRET is not set"},
		{map[string]string{"PATSNAP_CLIENT_SECRET": "s"}, "PATSNAP_CLIENT_ID is not set"},
	} {
		a := &LiveAPI{Getenv: func(k string) string { return c.env[k] }}
		if _, _, err := a.Connect(context.Background(), &spec.Spec{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.env, err, c.want)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"":                         true,
		"https://api.example":      true,
		"http://127.0.0.1:8080":    true,
		"http://localhost":         true,
		"http://api.example":       false,
		"http://api.example:80/v1": false,
	} {
		if err := CheckBaseURL(raw); (err == nil) != ok {
			t.Errorf("CheckBaseURL(%q) = %v", raw, err)
		}
	}
}
