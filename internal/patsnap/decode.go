package patsnap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/internal/jobid"
)

// envelope is the wrapper of every business answer:
// {"data": …, "status": bool, "error_code": int, "error_msg": string}.
type envelope struct {
	Data      json.RawMessage // nil when absent or null
	Status    *bool           // nil when absent or not a boolean
	HasStatus bool            // the field is present, whatever its type
	HasCode   bool
	Code      int
	Msg       string
}

// decodeEnvelope reads an envelope leniently: error_code may be a number or
// a numeric string, status may be any type (the token answer's is the
// string "approved"), error_msg is kept only when it is a string.
func decodeEnvelope(body []byte) (envelope, error) {
	var w struct {
		Data      json.RawMessage `json:"data"`
		Status    json.RawMessage `json:"status"`
		ErrorCode flexInt         `json:"error_code"`
		ErrorMsg  json.RawMessage `json:"error_msg"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return envelope{}, err
	}
	var env envelope
	if !isNull(w.Data) {
		env.Data = w.Data
	}
	if !isNull(w.Status) {
		env.HasStatus = true
		var b bool
		if json.Unmarshal(w.Status, &b) == nil {
			env.Status = &b
		}
	}
	if w.ErrorCode.set {
		if w.ErrorCode.v < math.MinInt32 || w.ErrorCode.v > math.MaxInt32 {
			return envelope{}, fmt.Errorf("error_code %d out of range", w.ErrorCode.v)
		}
		env.HasCode = true
		env.Code = int(w.ErrorCode.v)
	}
	var msg string
	if json.Unmarshal(w.ErrorMsg, &msg) == nil {
		env.Msg = msg
	}
	return env, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// checkEnvelope turns an answer into its data, or into the *APIError it
// amounts to. Non-2xx answers are errors even when their body says
// otherwise; their envelope, when there is one, supplies code and message.
func (c *Client) checkEnvelope(endpoint string, status int, body []byte) (json.RawMessage, error) {
	env, err := decodeEnvelope(body)
	if status < 200 || status > 299 {
		ae := &APIError{Endpoint: endpoint, HTTPStatus: status}
		if err == nil {
			ae.Code = env.Code
			ae.Msg = c.redact(env.Msg)
		}
		if ae.Msg == "" {
			ae.Msg = strings.ToLower(httpStatusText(status))
		}
		ae.Class = classify(status, ae.Code)
		return nil, ae
	}
	if err != nil {
		return nil, malformed(endpoint, status, err)
	}
	if !env.HasStatus && !env.HasCode {
		return nil, malformed(endpoint, status, errors.New("no status or error_code"))
	}
	if env.Code != 0 || (env.Status != nil && !*env.Status) {
		msg := c.redact(env.Msg)
		if msg == "" {
			msg = "the API reported a failure"
		}
		return nil, &APIError{Endpoint: endpoint, HTTPStatus: status, Code: env.Code, Msg: msg, Class: classify(status, env.Code)}
	}
	if env.Data == nil {
		return nil, malformed(endpoint, status, errors.New("no data"))
	}
	return env.Data, nil
}

// malformed is the error of an answer that cannot be read. A syntax error
// (a body cut short or garbled on the way) is worth another attempt; a
// well-formed answer of the wrong shape will not change by asking again.
func malformed(endpoint string, status int, err error) *APIError {
	class := ClassPermanent
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		class = ClassRetryable
	}
	return &APIError{Endpoint: endpoint, HTTPStatus: status, Msg: "malformed answer", Class: class, Err: err}
}

func httpStatusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return fmt.Sprintf("HTTP status %d", status)
}

// flexInt is an integer sent as a JSON number or as a string holding one
// (expires_in, error_code, total counts are seen both ways). A number with
// an integral value written as a float (1799.0) is accepted.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	text, ok, err := numberText(b)
	if err != nil || !ok {
		*f = flexInt{}
		return err
	}
	v, err := parseInteger(text)
	if err != nil {
		return err
	}
	*f = flexInt{v: v, set: true}
	return nil
}

// numberText returns the text of a JSON value that is a number or a string
// holding one; ok is false for null and for an empty string.
func numberText(b []byte) (text string, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return "", false, nil
	}
	text = string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return "", false, err
		}
		text = strings.TrimSpace(text)
	}
	return text, text != "", nil
}

func parseInteger(text string) (int64, error) {
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return v, nil
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) || x < -(1<<53) || x > 1<<53 {
		return 0, fmt.Errorf("%q is not an integer", truncateText(text, 40))
	}
	return int64(x), nil
}

// flexFloat is a number sent as a JSON number or as a string holding one.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	text, ok, err := numberText(b)
	if err != nil || !ok {
		*f = 0
		return err
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%q is not a number", truncateText(text, 40))
	}
	*f = flexFloat(x)
	return nil
}

// parseJobID returns a job id exactly as the API wrote it: a bare JSON
// number, whose decimal text is kept (never passed through float64), or a
// string holding one. Either way the id must be one package jobid accepts,
// the rule the state holds ids to, so that an id the client accepts can
// always be saved and sent back.
func parseJobID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return "", errors.New("job_id missing")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", fmt.Errorf("job_id: %w", err)
		}
	} else if strings.ContainsAny(text, ".eE-+") {
		return "", errors.New("job_id is not a non-negative integer (a fraction or exponent would have lost digits)")
	}
	if err := jobid.Check(text); err != nil {
		return "", fmt.Errorf("job_id %q: %w", truncateText(text, 40), err)
	}
	return text, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
