package fake

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// linkLifetime is how long a report's download_url stays valid after the
// job finished.
const linkLifetime = 7 * 24 * time.Hour

// job is one R002 export task.
type job struct {
	ID        string    `json:"id"`
	Patent    string    `json:"patent"` // patent number, or the id when only an id was given
	Format    string    `json:"format"` // "pdf" or "word"
	Logo      bool      `json:"logo"`
	Polls     int       `json:"polls"`
	FailCause string    `json:"fail_cause,omitempty"`
	Created   time.Time `json:"created"`
	Finished  time.Time `json:"finished,omitzero"`
}

type createBody struct {
	PatentNumber *string `json:"patent_number"`
	PatentID     *string `json:"patent_id"`
	ReportType   *string `json:"report_type"`
}

type jobData struct {
	JobID json.Number `json:"job_id"` // bare number, written verbatim
}

type statusData struct {
	JobID         json.Number `json:"job_id"`
	QueueNum      int         `json:"queue_num"`
	JobStatus     int         `json:"job_status"`
	DownloadURL   string      `json:"download_url,omitempty"`
	AbnormalCause string      `json:"abnormal_cause,omitempty"`
}

var (
	patentNumber = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{3,30}$`)
	// designKind matches a design kind code (S, S1, S2…) at the end of a number.
	designKind = regexp.MustCompile(`\d(S\d?)$`)
)

// FailJob makes the next job created for patent (a number or an id) end in
// job_status 3 with abnormal_cause cause.
func (s *Server) FailJob(patent, cause string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[patent] = cause
}

// JobsCreated returns how many report jobs the server has created since New
// (across Restore: the count is part of the memory), whatever became of
// them: the jobs a real account would be billed for.
func (s *Server) JobsCreated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int((s.nextJob - firstJobID) / jobIDStep)
}

// ForgetJobs drops every existing job: their status calls answer 68300013
// "Report does not exist". Links already handed out keep working.
func (s *Server) ForgetJobs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs = map[string]*job{}
}

// createReport answers R002 create (with or without logo; the fake's files
// do not differ). Design patents are refused, as the documentation says.
func (s *Server) createReport(body []byte) *answer {
	var b createBody
	if err := decodeJSON(body, &b); err != nil {
		return decodeAnswer(err)
	}
	if b.ReportType == nil || (*b.ReportType != "pdf" && *b.ReportType != "word") {
		return invalid("report_type must be pdf or word")
	}
	var number, id string
	if b.PatentNumber != nil {
		number = strings.ToUpper(strings.TrimSpace(*b.PatentNumber))
	}
	if b.PatentID != nil {
		id = strings.TrimSpace(*b.PatentID)
	}
	var subject string
	switch {
	case number != "":
		if !patentNumber.MatchString(number) {
			return invalid("patent_number is malformed")
		}
		subject = number
	case id != "":
		subject = id
		if p, ok := s.corpus.lookupID(id); ok {
			number = p.pn
		}
	default:
		return invalid("patent_number or patent_id is required")
	}
	if number != "" && designKind.MatchString(number) {
		return invalid("design patents are not supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := &job{
		ID:      strconv.FormatUint(s.nextJob, 10),
		Patent:  subject,
		Format:  *b.ReportType,
		Created: s.now().UTC(),
	}
	if number != "" {
		j.Patent = number
	}
	s.nextJob += jobIDStep
	for _, k := range []string{number, id} {
		if cause, ok := s.failNext[k]; ok && k != "" {
			j.FailCause = cause
			delete(s.failNext, k)
			break
		}
	}
	s.jobs[j.ID] = j
	return okAnswer(jobData{JobID: json.Number(j.ID)})
}

// reportStatus answers R002 status. A job answers job_status 0 on its first
// poll, 1 until PollsToFinish polls were answered, then 2 (or 3).
func (s *Server) reportStatus(r *http.Request) *answer {
	id := r.URL.Query().Get("job_id")
	if id == "" {
		return invalid("job_id is required")
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return invalid("job_id must be a number")
	}
	now := s.now().UTC()
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return errAnswer(http.StatusOK, CodeNoReport, "")
	}
	j.Polls++
	d := statusData{JobID: json.Number(j.ID)}
	switch {
	case j.Polls <= s.polls && j.Polls == 1:
		d.JobStatus, d.QueueNum = 0, s.polls
	case j.Polls <= s.polls:
		d.JobStatus = 1
	case j.FailCause != "":
		d.JobStatus, d.AbnormalCause = 3, j.FailCause
	default:
		if j.Finished.IsZero() {
			j.Finished = now
		}
		d.JobStatus = 2
	}
	jc := *j
	s.mu.Unlock()
	if d.JobStatus == 2 {
		d.DownloadURL = s.downloadURL(baseURL(r), &jc)
	}
	return okAnswer(d)
}

// fileName is the report's file name, as the real service names it:
// <patent>_<yyyy>_<mm>_<dd>.<pdf|docx>.
func (j *job) fileName() string {
	ext := "pdf"
	if j.Format == "word" {
		ext = "docx"
	}
	safe := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, j.Patent)
	return safe + j.Finished.Format("_2006_01_02.") + ext
}

func (s *Server) linkSignature(jobID, file string, expires int64) string {
	mac := hmac.New(sha256.New, s.linkKey)
	fmt.Fprintf(mac, "%s/%s\n%d", jobID, file, expires)
	return hex.EncodeToString(mac.Sum(nil))
}

// downloadURL is the presigned link of a finished job, valid 7 days after it finished.
func (s *Server) downloadURL(base string, j *job) string {
	file := j.fileName()
	exp := j.Finished.Add(linkLifetime).Unix()
	return fmt.Sprintf("%s%s%s/%s?expires=%d&sign=%s&response-content-disposition=attachment%%3Bfilename%%2A%%3DUTF-8%%27%%27%s",
		base, PathDownloadPrefix, j.ID, file, exp, s.linkSignature(j.ID, file, exp), file)
}

func xmlError(status int, code, msg string) *answer {
	a := &answer{status: status, body: []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code +
		"</Code><Message>" + msg + "</Message></Error>\n")}
	a.setHeader("Content-Type", "application/xml")
	return a
}

// download serves GET /fake-download/<job>/<file>?expires=<unix>&sign=<hmac>:
// a signature over job, file and expiry, checked before the expiry, like an
// object store's presigned link. The body depends on the file name only, so
// links stay valid after ForgetJobs and across processes of the same seed.
func (s *Server) download(r *http.Request) *answer {
	jobID, file, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, PathDownloadPrefix), "/")
	if !ok || jobID == "" || file == "" || strings.Contains(file, "/") {
		return xmlError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil || !hmac.Equal([]byte(q.Get("sign")), []byte(s.linkSignature(jobID, file, exp))) {
		return xmlError(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	if s.now().Unix() >= exp {
		return xmlError(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	a := &answer{status: http.StatusOK}
	switch {
	case strings.HasSuffix(file, ".pdf"):
		a.body = reportPDF(file)
		a.setHeader("Content-Type", "application/pdf")
	case strings.HasSuffix(file, ".docx"):
		a.body = reportDocx(file)
		a.setHeader("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
	default:
		return xmlError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
	a.setHeader("Content-Disposition", "attachment; filename*=UTF-8''"+file)
	return a
}

// reportLines is the deterministic text of a report on file.
func reportLines(file string) []string {
	patent, _, _ := strings.Cut(file, "_")
	sum := sha256.Sum256([]byte(file))
	h := hex.EncodeToString(sum[:])
	lines := []string{
		"Patent Value Report",
		"Patent: " + patent,
		"Generated by the patwatch PatSnap simulation; not a real valuation.",
		fmt.Sprintf("Patent value estimate: USD %d", 10000+int(sum[0])*1000+int(sum[1])),
		fmt.Sprintf("Technology score: %d / 10", 1+int(sum[2])%10),
		fmt.Sprintf("Legal stability score: %d / 10", 1+int(sum[3])%10),
		fmt.Sprintf("Market coverage score: %d / 10", 1+int(sum[4])%10),
		"Report fingerprint: " + h,
	}
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("Section %02d: lifecycle, legal events and potential buyers, item %s.", i+1, h[i:i+12]))
	}
	return lines
}

// reportPDF is a minimal, valid one-page PDF holding the report text.
func reportPDF(file string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 9 Tf 40 800 Td 11 TL\n")
	for _, l := range reportLines(file) {
		content.WriteString("(" + strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l) + ") '\n")
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// reportDocx is a small, deterministic WordprocessingML package holding the
// report text.
func reportDocx(file string) []byte {
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, l := range reportLines(file) {
		doc.WriteString("<w:p><w:r><w:t>" + strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(l) + "</w:t></w:r></w:p>")
	}
	doc.WriteString("</w:body></w:document>")
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", doc.String()},
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	stamp := time.Date(2024, 11, 26, 7, 48, 33, 0, time.UTC)
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: stamp})
		if err == nil {
			_, err = w.Write([]byte(p.body))
		}
		if err != nil {
			// Writing to memory does not fail.
			return nil
		}
	}
	if zw.Close() != nil {
		return nil
	}
	return b.Bytes()
}
