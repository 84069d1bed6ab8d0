// Package pgtest finds the PostgreSQL server the tests of the database
// state run against, and gives each test a schema of its own.
//
// The server is named by PATWATCH_TEST_POSTGRES, a postgres:// URL (.ci/run
// starts a throwaway cluster and sets it; README says how to start one
// locally). Without it the tests are skipped, except under CI, where a
// missing server would silently skip what they prove, so they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server's URL.
const EnvVar = "PATWATCH_TEST_POSTGRES"

// URL returns the server's URL, or skips (fails, under CI) the test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: the PostgreSQL tests must run in CI (.ci/run starts a server and sets it)", EnvVar)
		}
		t.Skipf("%s is not set: skipping the tests against PostgreSQL (start a server with '.ci/postgres start /tmp/pw-pg' and export its URL as %s)", EnvVar, EnvVar)
	}
	return u
}

// Schema returns the name of a fresh schema, dropped when the test ends.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// StateURL returns the server's URL naming state in schema.
func StateURL(t testing.TB, schema, state string) string {
	t.Helper()
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatalf("%s is not a URL", EnvVar)
	}
	q := u.Query()
	q.Set("schema", schema)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

// Conn connects to the server for a test's own queries; it is closed
// when the test ends.
func Conn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, URL(t))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
