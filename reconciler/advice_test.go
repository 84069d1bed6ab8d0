package reconciler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// TestAccountAdviceOfAnEndpointAlwaysRateLimited: a run stopped because an
// endpoint refused every request as too fast is told to check the API's
// rate limits, not the credentials.
func TestAccountAdviceOfAnEndpointAlwaysRateLimited(t *testing.T) {
	err := fmt.Errorf("search a: %w", &patsnap.APIError{Endpoint: patsnap.EndpointToken, HTTPStatus: 429, Code: 429,
		Class: patsnap.ClassAccount, Err: patsnap.ErrAlwaysRateLimited})
	got := accountAdvice(err, "PATSNAP_CLIENT_ID and PATSNAP_CLIENT_SECRET")
	if got != patsnap.Hint(err) || !strings.Contains(got, "QPS") || strings.Contains(got, "PATSNAP_CLIENT_ID") {
		t.Errorf("advice %q; want patsnap's hint on the API's rate", got)
	}
}
