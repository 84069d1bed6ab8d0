package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/internal/hint"
)

// SchemaVersion is the version of the tables this build creates and reads.
// docs/postgres.md describes them; their column names are a contract.
const SchemaVersion = 1

// migrations[i] brings the schema from version i to i+1. "%[1]s." stands
// for the schema's quoted name. They run in one transaction, under a
// transaction-level advisory lock, so that two first uses at once do not
// both create the tables.
var migrations = []string{
	// 1: the tables of docs/postgres.md.
	`
CREATE TABLE %[1]s.states (
	state      text PRIMARY KEY,
	lineage    text NOT NULL,
	serial     bigint NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE TABLE %[1]s.serials (
	state            text NOT NULL REFERENCES %[1]s.states ON DELETE CASCADE,
	serial           bigint NOT NULL,
	lineage          text NOT NULL,
	format_version   integer NOT NULL,
	patwatch_version text NOT NULL,
	saved_at         timestamptz NOT NULL,
	saved_by         text NOT NULL,
	rows_written     integer NOT NULL,
	budget_day       date,
	budget_calls     integer,
	PRIMARY KEY (state, serial)
);
CREATE TABLE %[1]s.state_fields (
	state       text NOT NULL,
	field       text NOT NULL,
	from_serial bigint NOT NULL,
	to_serial   bigint,
	value       jsonb,
	raw         text,
	PRIMARY KEY (state, field, from_serial)
);
CREATE UNIQUE INDEX state_fields_current ON %[1]s.state_fields (state, field) WHERE to_serial IS NULL;
CREATE TABLE %[1]s.searches (
	state        text NOT NULL,
	search       text NOT NULL,
	retired      boolean NOT NULL,
	from_serial  bigint NOT NULL,
	to_serial    bigint,
	fingerprint  text NOT NULL,
	baseline_at  timestamptz NOT NULL,
	refreshed_at timestamptz,
	retired_at   timestamptz,
	extra        jsonb,
	raw          text,
	PRIMARY KEY (state, retired, search, from_serial)
);
CREATE UNIQUE INDEX searches_current ON %[1]s.searches (state, retired, search) WHERE to_serial IS NULL;
CREATE TABLE %[1]s.hits (
	state            text NOT NULL,
	search           text NOT NULL,
	retired          boolean NOT NULL,
	patent_pn        text NOT NULL,
	from_serial      bigint NOT NULL,
	to_serial        bigint,
	first_seen       timestamptz NOT NULL,
	missing          integer NOT NULL,
	patent_id        text,
	title            text,
	current_assignee text,
	apno             text,
	apdt             integer,
	pbdt             integer,
	extra            jsonb,
	raw              text,
	PRIMARY KEY (state, retired, search, patent_pn, from_serial)
);
CREATE UNIQUE INDEX hits_current ON %[1]s.hits (state, retired, search, patent_pn) WHERE to_serial IS NULL;
CREATE TABLE %[1]s.reports (
	state              text NOT NULL,
	report             text NOT NULL,
	retired            boolean NOT NULL,
	from_serial        bigint NOT NULL,
	to_serial          bigint,
	patent_number      text,
	patent_id          text,
	format             text NOT NULL,
	logo               boolean NOT NULL,
	job_id             text,
	status             text NOT NULL,
	submitted_at       timestamptz NOT NULL,
	link_expires_at    timestamptz,
	file               text,
	sha256             text,
	last_error         text,
	submissions        integer NOT NULL,
	outcome_unknown_at timestamptz,
	retired_at         timestamptz,
	extra              jsonb,
	raw                text,
	PRIMARY KEY (state, retired, report, from_serial)
);
CREATE UNIQUE INDEX reports_current ON %[1]s.reports (state, retired, report) WHERE to_serial IS NULL;
CREATE TABLE %[1]s.outbox (
	state        text NOT NULL,
	id           text NOT NULL,
	from_serial  bigint NOT NULL,
	to_serial    bigint,
	seq          bigint NOT NULL,
	channel      text NOT NULL,
	generated_at timestamptz NOT NULL,
	spec         text NOT NULL,
	simulated    boolean NOT NULL,
	events       jsonb NOT NULL,
	attempts     integer NOT NULL,
	first_failed timestamptz,
	last_error   text,
	extra        jsonb,
	raw          text,
	PRIMARY KEY (state, id, from_serial)
);
CREATE UNIQUE INDEX outbox_current ON %[1]s.outbox (state, id) WHERE to_serial IS NULL;
CREATE TABLE %[1]s.runs (
	id               bigserial PRIMARY KEY,
	state            text NOT NULL,
	command          text NOT NULL,
	started_at       timestamptz NOT NULL,
	finished_at      timestamptz NOT NULL,
	serial           bigint NOT NULL,
	changed          boolean NOT NULL,
	state_changed    boolean NOT NULL,
	failed           boolean NOT NULL,
	summary          text NOT NULL,
	calls_made       integer NOT NULL,
	host             text NOT NULL,
	pid              integer NOT NULL,
	patwatch_version text NOT NULL
);
CREATE INDEX runs_state ON %[1]s.runs (state, started_at);
CREATE TABLE %[1]s.locks (
	state       text NOT NULL,
	kind        text NOT NULL,
	host        text NOT NULL,
	pid         integer NOT NULL,
	command     text NOT NULL,
	since       timestamptz NOT NULL,
	backend_pid integer NOT NULL,
	PRIMARY KEY (state, kind)
);
CREATE TABLE %[1]s.aux (
	state      text NOT NULL,
	name       text NOT NULL,
	data       bytea NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (state, name)
);
CREATE VIEW %[1]s.current_searches AS SELECT * FROM %[1]s.searches WHERE to_serial IS NULL AND NOT retired;
CREATE VIEW %[1]s.current_hits AS SELECT * FROM %[1]s.hits WHERE to_serial IS NULL AND NOT retired;
CREATE VIEW %[1]s.current_reports AS SELECT * FROM %[1]s.reports WHERE to_serial IS NULL AND NOT retired;
CREATE VIEW %[1]s.current_outbox AS SELECT * FROM %[1]s.outbox WHERE to_serial IS NULL;
`,
}

// SchemaError reports tables of a newer schema than this build knows: a
// newer patwatch migrated them, and this one would misread them.
type SchemaError struct {
	Store   string
	Schema  string
	Version int    // the database's
	By      string // the patwatch that migrated it, if recorded
}

func (e *SchemaError) Error() string {
	by := "a newer patwatch"
	if e.By != "" {
		by = "patwatch " + e.By
	}
	return fmt.Sprintf("%s: schema %s is at version %d, migrated by %s; this patwatch knows versions up to %d; upgrade patwatch",
		e.Store, e.Schema, e.Version, by, SchemaVersion)
}

// Hint says what to do.
func (e *SchemaError) Hint() string {
	if e.By != "" {
		return "install patwatch " + e.By + " or later to use this database"
	}
	return "install the latest patwatch to use this database"
}

// migrate checks the schema's version and creates or migrates its tables.
// In the common case it costs one query.
func (s *Store) migrate(ctx context.Context, conn *pgx.Conn) error {
	v, by, err := s.schemaVersion(ctx, conn)
	if err == nil && v == SchemaVersion {
		return nil
	}
	if err == nil && v > SchemaVersion {
		return &SchemaError{Store: s.display, Schema: s.schema, Version: v, By: by}
	}
	var pe *pgconn.PgError
	if err != nil && (!errors.As(err, &pe) || (pe.Code != "42P01" && pe.Code != "3F000")) {
		return fmt.Errorf("%s: read the schema version: %w", s.display, err)
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", s.display, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(s.schema, "", "migrate")); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.display, err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.display, err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+ident(s.schema)); err != nil {
			return s.privilegeHint(fmt.Errorf("%s: create schema %s: %w", s.display, s.schema, err), false)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.t("schema_version")+` (
	version          integer PRIMARY KEY,
	applied_at       timestamptz NOT NULL DEFAULT now(),
	patwatch_version text NOT NULL
)`); err != nil {
		return s.privilegeHint(fmt.Errorf("%s: create table %s.schema_version: %w", s.display, s.schema, err), true)
	}
	// Read again under the lock: another patwatch may have migrated.
	if v, by, err = s.schemaVersion(ctx, tx); err != nil {
		return fmt.Errorf("%s: read the schema version: %w", s.display, err)
	}
	if v > SchemaVersion {
		return &SchemaError{Store: s.display, Schema: s.schema, Version: v, By: by}
	}
	for ; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, fmt.Sprintf(migrations[v], ident(s.schema))); err != nil {
			return s.privilegeHint(fmt.Errorf("%s: migrate schema %s to version %d: %w", s.display, s.schema, v+1, err), true)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+s.t("schema_version")+" (version, patwatch_version) VALUES ($1, $2)", v+1, s.opts.Version); err != nil {
			return fmt.Errorf("%s: migrate: %w", s.display, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: migrate: %w", s.display, err)
	}
	return nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the schema's version (0 for an empty table) and
// the patwatch that migrated it last.
func (s *Store) schemaVersion(ctx context.Context, q querier) (int, string, error) {
	var v *int
	var by *string
	err := q.QueryRow(ctx, "SELECT version, patwatch_version FROM "+s.t("schema_version")+" ORDER BY version DESC LIMIT 1").Scan(&v, &by)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	if by == nil {
		by = new(string)
	}
	return *v, *by, nil
}

// privilegeHint adds a hint to an error caused by missing privileges:
// what to grant, in a schema that exists already or for one to create.
func (s *Store) privilegeHint(err error, schemaExists bool) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		return err
	}
	if schemaExists {
		return hint.Wrap(err, fmt.Sprintf("patwatch creates its tables on first use: let this user create tables in schema %s (GRANT CREATE ON SCHEMA %s TO …), or have an administrator run patwatch once", s.schema, ident(s.schema)))
	}
	return hint.Wrap(err, fmt.Sprintf("patwatch creates its tables on first use: let this user create schema %s (GRANT CREATE ON DATABASE …), or have an administrator run patwatch once", s.schema))
}
