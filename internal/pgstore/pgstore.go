// Package pgstore keeps patwatch's state in PostgreSQL, shared by every
// runner: one database holds many named states, each saved serial is kept
// as history, and the searches, hits, reports and runs are tables users may
// query with SQL (docs/postgres.md documents them).
//
// A Store is one kind of state behind the seam every kind implements
// (store.Store, which opens it for a postgres:// URL). Its lock is a
// session advisory lock on a connection of its own, so a holder that dies
// or loses its connection releases it with its session; a save is one
// transaction that compares the lineage and serial it loaded with the
// database's and writes only the rows that changed.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/patwatch/patwatch/internal/hint"
)

// Defaults of the URL's own parameters.
const (
	DefaultState  = "default"
	DefaultSchema = "patwatch"
)

// Connection settings patwatch applies unless the URL sets them. The
// keepalives make both ends notice a peer that vanished without closing
// the connection (a cut network, a suspended laptop): the server ends a
// lock holder's session, which releases the lock, and the client stops
// waiting on a dead server. The statement timeout bounds any one statement;
// the idle-in-transaction timeout ends a session that died mid-save, which
// would otherwise keep the state's row locked.
const (
	keepaliveIdle     = 15 * time.Second
	keepaliveInterval = 5 * time.Second
	keepaliveCount    = 3
	statementTimeout  = 5 * time.Minute
	idleInTxTimeout   = time.Minute
	connectTimeout    = 15 * time.Second
	// opTimeout bounds what a save or a side-data write may take on the
	// client side, where it runs without the caller's context (an
	// interrupted run still saves what it completed).
	opTimeout = statementTimeout + 30*time.Second
)

// IsURL reports whether the value of --state or PATWATCH_STATE names a
// database state rather than a file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Options adjust a Store. The zero value is the running process.
type Options struct {
	Host string           // holder's host in lock rows; default os.Hostname()
	PID  int              // holder's pid; default os.Getpid()
	Now  func() time.Time // default time.Now
	// Version is patwatch's version, recorded with the schema and runs.
	Version string
	// SpecPath is the spec the state belongs to, as given; DrawingsDir is
	// beside it. "" or "-" (standard input): the working directory.
	SpecPath string
}

// Store is one named state in a PostgreSQL database. It connects on first
// use; Close releases its connection. A Store is safe for use by one
// goroutine at a time, except that its locks may be released from any.
type Store struct {
	cfg     *pgx.ConnConfig
	state   string // the state's name
	schema  string
	display string // the URL without secrets, for messages
	secrets []string
	opts    Options

	mu       sync.Mutex
	conn     *pgx.Conn // data connection; nil until first use
	migrated bool
	snap     *snapshot // what the last Load returned or the last Save wrote
	command  string    // the command of the last Lock, recorded with saves
	held     *heldLock // the state's lock while this store holds it
}

// Open returns the store the URL names:
// postgres://USER@HOST:PORT/DB?sslmode=…&state=NAME&schema=SCHEMA. The
// state and schema parameters are patwatch's and are removed before
// connecting; every other one is libpq's, as is the handling of PGPASSWORD,
// ~/.pgpass and the other PG* variables. Open does not connect.
func Open(rawURL string, opts Options) (*Store, error) {
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.PID == 0 {
		opts.PID = os.Getpid()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{opts: opts}
	if err := s.parse(rawURL); err != nil {
		return nil, hint.Wrap(s.redact(err), "the URL is postgres://USER@HOST:PORT/DB?sslmode=…&state=NAME&schema=SCHEMA")
	}
	return s, nil
}

func (s *Store) parse(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, password and all: say only what is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("state URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("state URL: scheme %q is not postgres", u.Scheme)
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		s.secrets = append(s.secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	q := u.Query()
	for _, k := range []string{"password", "sslpassword"} {
		if v := q.Get(k); v != "" {
			s.secrets = append(s.secrets, v, url.QueryEscape(v))
		}
	}
	s.state, s.schema = DefaultState, DefaultSchema
	if q.Has("state") {
		s.state = q.Get("state")
	}
	if q.Has("schema") {
		s.schema = q.Get("schema")
	}
	if err := s.checkNames(); err != nil {
		return err
	}
	q.Del("state")
	q.Del("schema")
	ka, err := takeKeepalives(q)
	if err != nil {
		return err
	}

	// The URL shown in messages keeps everything but the secrets.
	shown := *u
	shown.User = nil
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	sq := u.Query()
	sq.Del("password")
	sq.Del("sslpassword")
	shown.RawQuery = strings.ReplaceAll(sq.Encode(), "+", "%20")
	s.display = shown.String()

	conn := *u
	// Encode writes a space as "+", which pgx reads as a plus sign; a
	// plus sign itself it writes as %2B.
	conn.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	cfg, err := pgx.ParseConfig(conn.String())
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
			return fmt.Errorf("state URL %s: %w", s.display, errors.Unwrap(pe))
		}
		return fmt.Errorf("state URL %s: cannot parse it as a PostgreSQL URL", s.display)
	}
	if cfg.Password != "" {
		s.secrets = append(s.secrets, cfg.Password)
	}
	timeout := cfg.ConnectTimeout
	if timeout == 0 {
		timeout = connectTimeout
		cfg.ConnectTimeout = timeout
	}
	d := &net.Dialer{Timeout: timeout, KeepAliveConfig: ka.config(), Control: ka.control}
	cfg.DialFunc = d.DialContext
	defaults := map[string]string{
		"statement_timeout":                   strconv.FormatInt(statementTimeout.Milliseconds(), 10),
		"idle_in_transaction_session_timeout": strconv.FormatInt(idleInTxTimeout.Milliseconds(), 10),
		"application_name":                    "patwatch",
	}
	if ka.enabled {
		defaults["tcp_keepalives_idle"] = strconv.Itoa(int(ka.idle / time.Second))
		defaults["tcp_keepalives_interval"] = strconv.Itoa(int(ka.interval / time.Second))
		defaults["tcp_keepalives_count"] = strconv.Itoa(ka.count)
	}
	for k, v := range defaults {
		if _, set := cfg.RuntimeParams[k]; !set && !strings.Contains(cfg.RuntimeParams["options"], k) {
			cfg.RuntimeParams[k] = v
		}
	}
	s.cfg = cfg
	return nil
}

// keepalives are libpq's keepalive parameters, which pgx does not know:
// they are applied to the socket and to the server's end of the session.
type keepalives struct {
	enabled        bool
	idle, interval time.Duration
	count          int
	userTimeout    time.Duration // TCP_USER_TIMEOUT, where the system has it
}

func takeKeepalives(q url.Values) (keepalives, error) {
	ka := keepalives{enabled: true, idle: keepaliveIdle, interval: keepaliveInterval, count: keepaliveCount}
	seconds := func(key string, dst *time.Duration, unit time.Duration) error {
		if !q.Has(key) {
			return nil
		}
		v := q.Get(key)
		q.Del(key)
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("state URL: %s=%q is not a whole number", key, v)
		}
		if n > 0 {
			*dst = time.Duration(n) * unit
		}
		return nil
	}
	if q.Has("keepalives") {
		ka.enabled = q.Get("keepalives") != "0"
		q.Del("keepalives")
	}
	var count time.Duration
	if err := seconds("keepalives_idle", &ka.idle, time.Second); err != nil {
		return ka, err
	}
	if err := seconds("keepalives_interval", &ka.interval, time.Second); err != nil {
		return ka, err
	}
	if err := seconds("keepalives_count", &count, 1); err != nil {
		return ka, err
	}
	if count > 0 {
		ka.count = int(count)
	}
	ka.userTimeout = ka.idle + ka.interval*time.Duration(ka.count)
	if q.Has("tcp_user_timeout") {
		ka.userTimeout = 0
		if err := seconds("tcp_user_timeout", &ka.userTimeout, time.Millisecond); err != nil {
			return ka, err
		}
	}
	return ka, nil
}

func (ka keepalives) config() net.KeepAliveConfig {
	if !ka.enabled {
		return net.KeepAliveConfig{Enable: false, Idle: -1, Interval: -1, Count: -1}
	}
	return net.KeepAliveConfig{Enable: true, Idle: ka.idle, Interval: ka.interval, Count: ka.count}
}

// String names the store in messages: the URL without its password.
func (s *Store) String() string { return s.display }

// StateName is the name of the state within the database.
func (s *Store) StateName() string { return s.state }

// Schema is the schema that holds patwatch's tables.
func (s *Store) Schema() string { return s.schema }

// Close closes the data connection. Locks have connections of their own
// and are released by their unlock functions.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.conn.Close(ctx)
	s.conn = nil
	return s.redact(err)
}

// connect opens a connection with the store's settings.
func (s *Store) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.display, err)
	}
	return conn, nil
}

// data returns the data connection, connected and migrated. The caller
// holds s.mu.
func (s *Store) data(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && s.conn.IsClosed() {
		s.conn = nil
	}
	if s.conn == nil {
		conn, err := s.connect(ctx)
		if err != nil {
			return nil, err
		}
		s.conn = conn
	}
	if !s.migrated {
		if err := s.migrate(ctx, s.conn); err != nil {
			return nil, err
		}
		s.migrated = true
	}
	return s.conn, nil
}

// redact removes the password from an error's message, whatever produced
// it. The chain stays intact for errors.Is and errors.As.
func (s *Store) redact(err error) error {
	if err == nil || len(s.secrets) == 0 {
		return err
	}
	msg := err.Error()
	clean := msg
	for _, sec := range s.secrets {
		if sec != "" {
			clean = strings.ReplaceAll(clean, sec, "xxxxx")
		}
	}
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Hint passes on the hint of the error it wraps.
func (e *redactedError) Hint() string {
	var h interface{ Hint() string }
	if errors.As(e.err, &h) {
		return h.Hint()
	}
	return ""
}

// checkNames refuses state and schema names PostgreSQL cannot hold or
// patwatch may not use.
func (s *Store) checkNames() error {
	switch {
	case s.state == "":
		return errors.New("state URL: the state parameter is empty; leave it out for the state named " + DefaultState)
	case s.schema == "":
		return errors.New("state URL: the schema parameter is empty; leave it out for schema " + DefaultSchema)
	case len(s.schema) > 63:
		return fmt.Errorf("state URL: schema %q is longer than PostgreSQL's 63-byte names", s.schema)
	case strings.ContainsRune(s.state, 0) || strings.ContainsRune(s.schema, 0):
		return errors.New("state URL: the state and schema names cannot hold a NUL character")
	case systemSchema(s.schema):
		return hint.Wrap(fmt.Errorf("state URL: schema %q is PostgreSQL's own (information_schema and every name that begins with pg_ are the system's): patwatch cannot keep its tables there", s.schema),
			"name a schema of patwatch's own, such as schema=patwatch (the default), which patwatch creates on first use")
	}
	return nil
}

// systemSchema reports whether name is one of PostgreSQL's own schemas:
// information_schema, or a name that begins with pg_, which PostgreSQL
// reserves (pg_catalog, pg_toast, …): no user can create one, nor tables
// in one.
func systemSchema(name string) bool {
	return name == "information_schema" || strings.HasPrefix(name, "pg_")
}

// ident quotes a name for SQL.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// t returns the schema-qualified, quoted name of one of the store's tables.
func (s *Store) t(table string) string { return pgx.Identifier{s.schema, table}.Sanitize() }
