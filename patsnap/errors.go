package patsnap

// Class says how a caller should treat a failed call.
type Class int

// The classes of failure.
const (
	ClassPermanent Class = iota // anything not listed below: do not retry
	ClassRetryable              // network error, timeout, HTTP 5xx, 68300008, 67200100
	ClassRateLimit              // 67200001, 67200002, 67200007: rate or quota
	ClassAuth                   // 67200003, 67200006, 67200008, 67200009, HTTP 401/403, 67200004
	ClassInvalid                // 68300004, 68300007, 68300010, 67200012, 67200101: the request is wrong
	ClassNotFound               // 68300013 (report does not exist), HTTP 404
)

func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassRateLimit:
		return "rate-limit"
	case ClassAuth:
		return "auth"
	case ClassInvalid:
		return "invalid-request"
	case ClassNotFound:
		return "not-found"
	}
	return "permanent"
}
