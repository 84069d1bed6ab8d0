package drawings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds one fetch: connecting, the answer and its body.
const DefaultTimeout = 20 * time.Second

// maxBody is the largest image body read; a drawing is far smaller.
const maxBody = 16 << 20

// Fetcher fetches images over HTTP and makes thumbnails of them. It goes
// through its own client, outside the API client's rate cap: image links are
// presigned object-store URLs, not API calls.
type Fetcher struct {
	Client  *http.Client  // nil: http.DefaultClient
	Timeout time.Duration // per fetch; 0: DefaultTimeout
}

// MakeFrom is Make of a body downloaded from host, with an error that
// names the host.
func MakeFrom(host string, body []byte) (Thumb, error) {
	t, err := Make(body)
	if err != nil {
		return Thumb{}, fmt.Errorf("the answer from %s: %w", host, err)
	}
	return t, nil
}

// Download gets the body at rawURL (at most 16 MB, within Timeout) and
// the host that answered, for messages. Its errors never hold the URL:
// image links are presigned, and whoever holds one can use it until it
// expires.
func (f *Fetcher) Download(ctx context.Context, rawURL string) (body []byte, host string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errors.New("not an http or https link")
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", errors.New("not an http or https link")
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif;q=0.8, */*;q=0.1")
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, u.Host, fetchError(parent, ctx, timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, u.Host, fmt.Errorf("HTTP %d %s from %s", resp.StatusCode, http.StatusText(resp.StatusCode), u.Host)
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, u.Host, fetchError(parent, ctx, timeout, err)
	}
	if len(body) > maxBody {
		return nil, u.Host, fmt.Errorf("the image from %s is larger than %d MB", u.Host, maxBody>>20)
	}
	return body, u.Host, nil
}

// fetchError describes a failed request without the URL that *url.Error
// would print.
func fetchError(parent, ctx context.Context, timeout time.Duration, err error) error {
	if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}
