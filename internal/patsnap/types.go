package patsnap

import (
	"time"
)

// SearchRequest is one image-similarity query (P060 with one URL, P061 with
// two to four). Empty filter fields are not sent.
type SearchRequest struct {
	URLs       []string // image URLs, already uploaded where they were local files
	PatentType string   // "D" or "U"
	Model      int

	Country           []string
	LOC               string
	LegalStatus       []int // sent as the comma-joined string the API expects
	SimpleLegalStatus []int
	ApplyStartTime    string
	ApplyEndTime      string
	PublicStartTime   string
	PublicEndTime     string
	Assignees         string
	MainField         string
	Lang              string
	Field             string
	Order             string
	Stemming          *int
	PreFilter         *int
}

// Hit is one ranked similar patent from P060/P061.
type Hit struct {
	PatentPN         string  `json:"patent_pn"`
	PatentID         string  `json:"patent_id"`
	Title            string  `json:"title"`
	Score            float64 `json:"score"`
	CurrentAssignee  string  `json:"current_assignee"`
	OriginalAssignee string  `json:"original_assignee"`
	Inventor         string  `json:"inventor"`
	Apno             string  `json:"apno"`
	Apdt             int     `json:"apdt"` // yyyymmdd
	Pbdt             int     `json:"pbdt"` // yyyymmdd
	URL              string  `json:"url"`  // presigned result image; expires
	LocMatch         int     `json:"loc_match"`
}

// SearchResult is the outcome of paging through a query.
type SearchResult struct {
	Total int   // the API's total_search_result_count
	Hits  []Hit // in rank order, de-duplicated by PatentPN, at most the wanted number
	Calls int   // page requests made
}

// ReportRequest asks for one patent value report (R002 create).
type ReportRequest struct {
	PatentNumber string // exactly one of PatentNumber and PatentID
	PatentID     string
	Format       string // "pdf" or "word"
	Logo         bool   // false: the create-no-logo endpoint
}

// Job statuses of R002 status answers.
const (
	JobWaiting   = 0
	JobExporting = 1
	JobDone      = 2
	JobFailed    = 3
)

// ReportStatus is one R002 status answer.
type ReportStatus struct {
	JobID         string // exact decimal text
	JobStatus     int    // JobWaiting … JobFailed
	QueueNum      int
	DownloadURL   string // presigned, valid 7 days: never log or persist it
	AbnormalCause string
}

// Upload is an image uploaded through P010.
type Upload struct {
	URL     string
	Expires time.Time
	// Reused says the URL came from the upload cache rather than from an
	// upload just made. It is not stored.
	Reused bool `json:"-"`
}

// Download describes a file fetched by Client.Download.
type Download struct {
	Path   string
	Size   int64
	SHA256 string // hex
}
