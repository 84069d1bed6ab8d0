package pgstore

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDrawingsDirectory: a database state's drawings are kept beside the
// spec, one directory per server, database, schema and state name (two
// states of one name elsewhere never share a cache), the same whatever the
// connection's options or password.
func TestDrawingsDirectory(t *testing.T) {
	dir := func(rawURL string) string {
		t.Helper()
		pg, err := Open(rawURL, Options{SpecPath: filepath.Join("team", "patwatch.yaml")})
		if err != nil {
			t.Fatal(err)
		}
		return pg.DrawingsDir()
	}
	base := dir("postgres://pw:secret@db.example.com:5432/ip?sslmode=require&state=phones")
	if !strings.HasPrefix(base, filepath.Join("team", ".patwatch", "drawings", "postgres-phones-")) || strings.Contains(base, "secret") {
		t.Errorf("drawings of a database state in %s", base)
	}
	same := []string{
		"postgres://pw:other@db.example.com:5432/ip?sslmode=disable&state=phones&connect_timeout=5",
		"postgresql://pw@db.example.com:5432/ip?state=phones",
	}
	for _, u := range same {
		if got := dir(u); got != base {
			t.Errorf("%s: %s, want %s as for the same state", u, got, base)
		}
	}
	other := []string{
		"postgres://pw@db.example.com:5432/ip?state=phones&schema=team_b",
		"postgres://pw@db.example.com:5432/legal?state=phones",
		"postgres://pw@db2.example.com:5432/ip?state=phones",
		"postgres://pw@db.example.com:5432/ip?state=tables",
	}
	seen := map[string]string{base: "the first"}
	for _, u := range other {
		got := dir(u)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s shares %s with %s", u, got, prev)
		}
		seen[got] = u
	}
}
