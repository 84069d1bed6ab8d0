package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/patwatch/patwatch/internal/report"
	"github.com/patwatch/patwatch/state"
)

// Headers of a webhook delivery.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderSignature      = "X-Patwatch-Signature"
)

// Signature is the X-Patwatch-Signature of body under key:
// sha256=<hex HMAC-SHA256>.
func Signature(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookSender posts the contract's JSON to https:// URLs and to http://
// ones, which spec.CheckChannelURL accepts only to a loopback address.
type webhookSender struct{}

func init() { register(webhookSender{}, "https", "http") }

func (webhookSender) send(ctx context.Context, n *Notifier, t *target, m *state.Message, _ Pages) error {
	return n.postWebhook(ctx, t, m)
}

// postWebhook makes one delivery of m's JSON to the webhook t. A 2xx answer
// is acceptance; a redirect is not followed (the body would go where the
// spec did not say) and counts as a refusal.
func (n *Notifier) postWebhook(ctx context.Context, t *target, m *state.Message) error {
	body := Body(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{err: errors.New("the webhook request cannot be made from the URL"), retry: false}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, m.ID)
	if n.UserAgent != "" {
		req.Header.Set("User-Agent", n.UserAgent)
	}
	if t.secret != nil {
		req.Header.Set(HeaderSignature, Signature(t.secret, body))
	}
	client := n.Client
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error quotes the URL: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("no answer in time")
		}
		return &attemptError{err: fmt.Errorf("webhook: %w", err), retry: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so that the connection can be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := "the webhook answered HTTP " + resp.Status
	if s := strings.Join(strings.Fields(report.Printable(string(snippet))), " "); s != "" {
		msg += ": " + s
	}
	switch code := resp.StatusCode; {
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return &attemptError{err: errors.New(msg), retry: true}
	}
	// A refusal (400, 401, 404 …) is not retried within the run: sent
	// again at once it is refused again. The next run tries again.
	return &attemptError{err: errors.New(msg), retry: false}
}
