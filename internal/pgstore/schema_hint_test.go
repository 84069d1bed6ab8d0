package pgstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/internal/hint"
)

// TestSystemSchemaIsRefused (issue 25.3.7): a state URL naming one of
// PostgreSQL's own schemas is refused before any connection, and no hint
// suggests creating that schema.
func TestSystemSchemaIsRefused(t *testing.T) {
	for _, schema := range []string{"pg_catalog", "information_schema", "pg_toast", "pg_temp_1"} {
		_, err := Open("postgres://u@db/pw?schema="+schema, Options{})
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL's own") {
			t.Errorf("schema %s: %v; want it refused as the system's", schema, err)
			continue
		}
		hints := strings.Join(hint.Of(err), "\n")
		if !strings.Contains(hints, "schema=patwatch") || strings.Contains(strings.ToLower(hints), "create schema "+schema) ||
			strings.Contains(hints, "GRANT") {
			t.Errorf("schema %s: hints %q; want a schema of patwatch's own, no grant", schema, hints)
		}
	}
	// Names PostgreSQL does not reserve are patwatch's to use.
	for _, schema := range []string{"patwatch", "PG_x", "team_pg_ip"} {
		if _, err := Open("postgres://u@db/pw?schema="+schema, Options{}); err != nil {
			t.Errorf("schema %s: %v", schema, err)
		}
	}
}

// TestPrivilegeHint: missing privileges in a schema that exists ask for a
// grant on that schema, not for creating it.
func TestPrivilegeHint(t *testing.T) {
	s, err := Open("postgres://u@db/pw?schema=ip", Options{})
	if err != nil {
		t.Fatal(err)
	}
	denied := &pgconn.PgError{Code: "42501", Message: "permission denied for schema ip"}
	for _, c := range []struct {
		exists    bool
		want, not string
	}{
		{true, `GRANT CREATE ON SCHEMA "ip"`, "create schema"},
		{false, "let this user create schema ip", "ON SCHEMA"},
	} {
		h := strings.Join(hint.Of(s.privilegeHint(denied, c.exists)), "\n")
		if !strings.Contains(h, c.want) || strings.Contains(h, c.not) {
			t.Errorf("schema exists %v: hint %q; want %q and no %q", c.exists, h, c.want, c.not)
		}
	}
	if other := errors.New("boom"); s.privilegeHint(other, true) != other {
		t.Error("an error that is no privilege error got a hint")
	}
}
