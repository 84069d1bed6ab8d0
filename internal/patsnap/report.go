package patsnap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/patwatch/patwatch/internal/jobid"
)

// CreateReport submits an R002 patent value report job and returns its id
// as the exact decimal text the API sent. It is repeated only after an
// answer that says no job was made (an API error code, a 4xx, a rate limit,
// a gateway's 502 or 503) or when the request never went out. Once the
// request was written, any other failure (an answer cut or unreadable, a
// reset connection, no answer in time, a 504) is returned at once: the job
// may exist on the account, a repeat would make a second paid one, and the
// error matches ErrOutcomeUnknown so that the caller can record that.
func (c *Client) CreateReport(ctx context.Context, req ReportRequest) (string, error) {
	endpoint, path := EndpointReportCreate, pathReportCreate
	if !req.Logo {
		endpoint, path = EndpointReportCreateNoLogo, pathReportCreateNoLogo
	}
	invalid := func(msg string) (string, error) {
		return "", &APIError{Endpoint: endpoint, Class: ClassInvalid, Msg: msg}
	}
	pn, pid := strings.TrimSpace(req.PatentNumber), strings.TrimSpace(req.PatentID)
	if (pn == "") == (pid == "") {
		return invalid("exactly one of patent number and patent id is needed")
	}
	if req.Format != "pdf" && req.Format != "word" {
		return invalid(fmt.Sprintf("report type %q; want pdf or word", req.Format))
	}
	body := struct {
		PatentNumber string `json:"patent_number,omitempty"`
		PatentID     string `json:"patent_id,omitempty"`
		ReportType   string `json:"report_type"`
	}{pn, pid, req.Format}
	raw, err := json.Marshal(body)
	if err != nil {
		return "", &APIError{Endpoint: endpoint, Class: ClassInvalid, Msg: "cannot encode the request", Err: err}
	}
	cl := &call{endpoint: endpoint, method: http.MethodPost, path: path, body: raw, contentType: "application/json", unsafe: true}
	var jobID string
	err = c.do(ctx, cl, func(status int, answer []byte) error {
		data, err := c.checkEnvelope(endpoint, status, answer)
		if err != nil {
			return err
		}
		if jobID, err = decodeCreate(data); err != nil {
			return malformed(endpoint, status, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return jobID, nil
}

// decodeCreate reads the data of an R002 create answer: {"job_id": …}.
func decodeCreate(data json.RawMessage) (string, error) {
	var d struct {
		JobID json.RawMessage `json:"job_id"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return "", err
	}
	return parseJobID(d.JobID)
}

// ReportStatus asks R002 for the state of one job, whose id must be one
// package jobid accepts. The returned JobID is always the jobID asked
// about: the answer's own copy is not read, since it may have been rounded
// through a float on the way (as in the API's documentation).
func (c *Client) ReportStatus(ctx context.Context, jobID string) (*ReportStatus, error) {
	if err := jobid.Check(jobID); err != nil {
		return nil, &APIError{Endpoint: EndpointReportStatus, Class: ClassInvalid, Msg: "invalid job id", Err: err}
	}
	cl := &call{endpoint: EndpointReportStatus, method: http.MethodGet, path: pathReportStatus, query: url.Values{"job_id": {jobID}}}
	var st *ReportStatus
	err := c.do(ctx, cl, func(status int, answer []byte) error {
		data, err := c.checkEnvelope(EndpointReportStatus, status, answer)
		if err != nil {
			return err
		}
		if st, err = decodeStatus(data); err != nil {
			return malformed(EndpointReportStatus, status, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.JobID = jobID
	return st, nil
}

// decodeStatus reads the data of an R002 status answer. A finished job must
// carry its download URL; an unknown job_status is an error rather than a
// guess.
func decodeStatus(data json.RawMessage) (*ReportStatus, error) {
	var d struct {
		QueueNum      flexInt `json:"queue_num"`
		JobStatus     flexInt `json:"job_status"`
		DownloadURL   string  `json:"download_url"`
		AbnormalCause string  `json:"abnormal_cause"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	if !d.JobStatus.set {
		return nil, errors.New("no job_status in the answer")
	}
	if d.JobStatus.v < JobWaiting || d.JobStatus.v > JobFailed {
		return nil, fmt.Errorf("unknown job_status %d", d.JobStatus.v)
	}
	if d.QueueNum.v < 0 || d.QueueNum.v > 1<<31 {
		return nil, fmt.Errorf("queue_num %d out of range", d.QueueNum.v)
	}
	st := &ReportStatus{
		JobStatus:     int(d.JobStatus.v),
		QueueNum:      int(d.QueueNum.v),
		DownloadURL:   strings.TrimSpace(d.DownloadURL),
		AbnormalCause: d.AbnormalCause,
	}
	if st.JobStatus == JobDone && st.DownloadURL == "" {
		return nil, errors.New("job done but no download_url")
	}
	return st, nil
}
