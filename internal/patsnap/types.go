package patsnap

import (
	"time"
)

// SearchRequest is one image-similarity query (P060 with one URL, P061 with
// two to four), with how many of its ranked hits to collect.
type SearchRequest struct {
	URLs       []string // image URLs, already uploaded where they were local files
	PatentType string   // "D" or "U"
	Model      int
	Filters    Filters

	// MaxResults is how many ranked hits to collect: at most MaxReachable,
	// DefaultMaxResults when 0 or less.
	MaxResults int
	// MinScore leaves out hits scoring lower; 0 leaves none out.
	MinScore float64
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
	Total int // the API's total_search_result_count
	// Hits are the kept hits in rank order: each with a PatentPN, which
	// identifies a hit, no PatentPN twice, none scoring below the request's
	// MinScore, at most its MaxResults.
	Hits  []Hit
	Calls int // page requests made
	// NoPatentPN counts the hits left out because they carry no patent_pn.
	NoPatentPN int
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
