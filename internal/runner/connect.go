package runner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"github.com/rs/zerolog"

	"github.com/patwatch/patwatch/internal/hint"
	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/reconciler"
	"github.com/patwatch/patwatch/spec"
)

// DefaultBaseURL is the API root used when neither PATSNAP_BASE_URL nor the
// spec's api.base_url names one.
const DefaultBaseURL = "https://connect.zhihuiya.com"

// LiveAPI connects runs to the PatSnap API with the credentials in the
// environment: PATSNAP_API_KEY, or PATSNAP_CLIENT_ID and
// PATSNAP_CLIENT_SECRET (mode A); its root is PATSNAP_BASE_URL, else the
// spec's api.base_url, else DefaultBaseURL. Uploaded images are remembered
// in the user's cache directory (OpenUploads).
//
// One LiveAPI keeps its client from run to run while the spec's API root
// and rate stay the same, so that watch mode's token, rate limiter and
// upload cache carry over (a report poll every 15 s must not fetch a token
// every time); a change of them builds a new client.
type LiveAPI struct {
	Getenv func(string) string
	Log    zerolog.Logger
	// Tune, when set, adjusts the configuration of each client it builds
	// (tests: the clock and sleep of retries).
	Tune func(*patsnap.Config)

	mu     sync.Mutex
	key    string // the settings client was built with
	client *patsnap.Client
}

// Connect returns the client of a run of sp; it is a Connector, and its
// release does nothing: the client outlives the run.
func (a *LiveAPI) Connect(_ context.Context, sp *spec.Spec) (reconciler.API, func(), error) {
	cfg := patsnap.Config{
		QPS:          sp.API.QPS,
		Logger:       a.Log,
		BaseURL:      firstNonEmpty(a.Getenv("PATSNAP_BASE_URL"), sp.API.BaseURL, DefaultBaseURL),
		APIKey:       a.Getenv("PATSNAP_API_KEY"),
		ClientID:     a.Getenv("PATSNAP_CLIENT_ID"),
		ClientSecret: a.Getenv("PATSNAP_CLIENT_SECRET"),
	}
	if err := checkCredentials(cfg); err != nil {
		return nil, nil, err
	}
	if cfg.APIKey != "" {
		cfg.ClientID, cfg.ClientSecret = "", ""
	}
	cfg.Uploads = OpenUploads(a.Getenv, a.Log, cfg.BaseURL, cfg.APIKey+cfg.ClientID)
	if a.Tune != nil {
		a.Tune(&cfg)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := fmt.Sprintf("%s|%g", cfg.BaseURL, cfg.QPS)
	if a.client == nil || a.key != key {
		c, err := patsnap.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		a.key, a.client = key, c
	}
	return a.client, func() {}, nil
}

// Credentials names the environment variables that hold the credentials,
// for the message of a run stopped because PatSnap refused them.
func (a *LiveAPI) Credentials() string {
	if a.Getenv("PATSNAP_API_KEY") != "" {
		return "PATSNAP_API_KEY"
	}
	return "PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"
}

// checkCredentials refuses a configuration without credentials, or with
// half of mode A's, naming the variable that is missing.
func checkCredentials(cfg patsnap.Config) error {
	switch {
	case cfg.APIKey != "":
		return nil
	case cfg.ClientID != "" && cfg.ClientSecret == "":
		return hint.Wrap(errors.New("PATSNAP_CLIENT_SECRET is not set: PATSNAP_CLIENT_ID is, and mode A needs both"),
			"set PATSNAP_CLIENT_SECRET to the client secret of the same PatSnap client, or use PATSNAP_API_KEY instead")
	case cfg.ClientID == "" && cfg.ClientSecret != "":
		return hint.Wrap(errors.New("PATSNAP_CLIENT_ID is not set: PATSNAP_CLIENT_SECRET is, and mode A needs both"),
			"set PATSNAP_CLIENT_ID to the client id of the same PatSnap client, or use PATSNAP_API_KEY instead")
	case cfg.ClientID == "":
		return hint.Wrap(errors.New("no PatSnap credentials: set PATSNAP_API_KEY, or PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET"),
			"try patwatch without credentials on the built-in simulation: add --sandbox",
			"review a change without calling the API: patwatch plan --offline")
	}
	return nil
}

// CheckBaseURL refuses a PATSNAP_BASE_URL that is plain http to anything
// but a loopback address: the token exchange, the key and every answer
// would cross the network in clear. The spec's api.base_url is checked by
// its loader the same way.
func CheckBaseURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || spec.IsLoopbackHost(u.Hostname()) {
		return nil // the client refuses what is not a URL at all
	}
	return hint.Wrap(fmt.Errorf("PATSNAP_BASE_URL is plain http to %s: credentials and results would cross the network unencrypted", u.Host),
		"use an https:// URL; plain http is accepted only to a loopback address (127.0.0.1, ::1, localhost), such as a local proxy")
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
