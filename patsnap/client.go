// Package patsnap is a client for the PatSnap Open API endpoints patwatch
// needs: token exchange, image search (P060, P061), image upload (P010), and
// the asynchronous patent value report (R002 create and status), plus the
// download of a finished report.
//
// Every answer is checked (the envelope's status and error_code on every HTTP
// status); failures are *APIError values whose Class callers branch on.
// Secrets and presigned query strings never appear in errors or logs.
package patsnap

import (
	"context"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Config configures a Client. BaseURL and one credential mode are required.
type Config struct {
	BaseURL    string       // e.g. https://connect.zhihuiya.com
	HTTPClient *http.Client // nil: a client with sane transport timeouts

	// Mode A: exchanged for a bearer token at /oauth/token.
	ClientID     string
	ClientSecret string
	// Mode B: an sk- key sent directly. Used when set.
	APIKey string

	QPS            float64       // shared cap on requests per second; <= 0: DefaultQPS
	MaxRetries     int           // retries after the first attempt; 0: DefaultMaxRetries; <0: none
	AttemptTimeout time.Duration // deadline of each attempt; 0: DefaultAttemptTimeout

	// Now and Sleep are injectable for tests; nil means the real clock.
	// Sleep must return early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0,1) for backoff jitter; nil: math/rand/v2.
	Rand func() float64

	// Uploads remembers uploaded images by content hash across runs; nil: in memory only.
	Uploads UploadCache

	Logger zerolog.Logger
}

// Defaults for Config.
const (
	DefaultQPS            = 5
	DefaultMaxRetries     = 4
	DefaultAttemptTimeout = 12 * time.Second // the API's documented maximum is 10 s
)

// UploadCache remembers the URL an image was uploaded to, keyed by the hex
// sha256 of its bytes, so the same image is not uploaded on every run.
type UploadCache interface {
	Get(sha256 string) (Upload, bool)
	Put(sha256 string, u Upload)
}
