package patsnap

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Paging limits of P060/P061: offset at most 1000 and limit at most 100, so
// at most MaxReachable ranked hits exist for one query. MaxReachable is the
// cap of a spec's max_results (its schema's maximum is the same number).
const (
	MaxPageSize  = 100
	MaxOffset    = 1000
	MaxReachable = MaxOffset + MaxPageSize
	// DefaultMaxResults is the number of hits a search collects when it
	// asks for none: the default of a spec's max_results.
	DefaultMaxResults = 100
)

// searchBody is the JSON body of P060 and P061. Empty filters are omitted
// (Filters' own JSON encoding); legal statuses travel as the comma-joined
// string the API documents.
type searchBody struct {
	URL        string   `json:"url,omitempty"`
	URLs       []string `json:"urls,omitempty"`
	PatentType string   `json:"patent_type"`
	Model      int      `json:"model"`
	Limit      int      `json:"limit"`
	Offset     int      `json:"offset"`
	Filters
	IsHTTPS int `json:"is_https"`
}

// Search runs an image-similarity query: P060 for one URL, P061 for two to
// four. It pages through offset/limit, asking for no more than it needs,
// until it holds req.MaxResults hits (≤ 0: DefaultMaxResults; at most
// MaxReachable), the API's total is reached, a page comes back short or
// empty, or the offset would pass MaxOffset.
//
// Search is where a search's hits are chosen, for every caller: a hit is
// identified by its patent_pn; one without is left out (and counted in
// NoPatentPN), and a page holding no hit with a patent_pn is an
// inconsistent answer, an error. Hits are de-duplicated by patent_pn across
// pages (a rank can shift between two calls). With req.MinScore > 0, hits
// scoring below it are left out, and when the results are ordered by score
// (Field "" or "SCORE") paging stops at the first page whose last hit scores
// below it. On any failure Search returns no partial result: a failed search
// must never look like one whose hits are gone.
func (c *Client) Search(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	body, endpoint, path, err := searchRequestBody(req)
	if err != nil {
		return nil, err
	}
	want := req.MaxResults
	if want <= 0 {
		want = DefaultMaxResults
	}
	want = min(want, MaxReachable)
	byScore := req.Filters.Field == "" || strings.EqualFold(req.Filters.Field, "SCORE")

	res := &SearchResult{Hits: []Hit{}}
	keep := hitKeeper{want: want, minScore: req.MinScore, seen: make(map[string]bool), res: res}
	totalKnown := false
	for offset := 0; len(res.Hits) < want && offset <= MaxOffset; {
		limit := min(MaxPageSize, want-len(res.Hits))
		if totalKnown {
			limit = min(limit, res.Total-offset)
		}
		if limit <= 0 {
			break
		}
		body.Offset, body.Limit = offset, limit
		page, total, hasTotal, err := c.searchPage(ctx, endpoint, path, body)
		if err != nil {
			return nil, err
		}
		res.Calls++
		if len(page) > limit {
			page = page[:limit] // more than asked for: keep the offsets aligned
		}
		if hasTotal {
			res.Total, totalKnown = total, true
		} else {
			res.Total = max(res.Total, offset+len(page)) // a lower bound
		}
		if !keep.page(page) {
			return nil, &APIError{Endpoint: endpoint, HTTPStatus: http.StatusOK, Msg: "malformed answer", Class: ClassPermanent,
				Err: fmt.Errorf("a page of %d hits at offset %d, none with a patent_pn", len(page), offset)}
		}
		offset += limit
		if len(page) < limit || (totalKnown && offset >= res.Total) ||
			(byScore && req.MinScore > 0 && page[len(page)-1].Score < req.MinScore) {
			break
		}
	}
	if res.NoPatentPN > 0 {
		c.log.Warn().Str("endpoint", endpoint).Int("hits", res.NoPatentPN).Msg("the API sent hits without a patent_pn; they were left out")
	}
	return res, nil
}

// hitKeeper applies the rules of which hits a search keeps, page by page.
type hitKeeper struct {
	want     int
	minScore float64
	seen     map[string]bool // patent_pn of every hit read so far
	res      *SearchResult
}

// page keeps the hits of one page that pass. It returns false for a page
// whose hits all lack a patent_pn: the API answered hits it cannot identify.
func (k *hitKeeper) page(hits []Hit) bool {
	identified := 0
	for _, h := range hits {
		if h.PatentPN == "" {
			k.res.NoPatentPN++
			continue
		}
		identified++
		if k.seen[h.PatentPN] {
			continue
		}
		k.seen[h.PatentPN] = true
		if k.minScore > 0 && h.Score < k.minScore {
			continue
		}
		if len(k.res.Hits) < k.want {
			k.res.Hits = append(k.res.Hits, h)
		}
	}
	return len(hits) == 0 || identified > 0
}

// searchRequestBody checks req and builds the parts of its body that do
// not change between pages.
func searchRequestBody(req SearchRequest) (searchBody, string, string, error) {
	invalid := func(endpoint, msg string) (searchBody, string, string, error) {
		return searchBody{}, "", "", &APIError{Endpoint: endpoint, Class: ClassInvalid, Msg: msg}
	}
	endpoint, path := EndpointSearchSingle, pathSearchSingle
	if len(req.URLs) > 1 {
		endpoint, path = EndpointSearchMultiple, pathSearchMultiple
	}
	switch n := len(req.URLs); {
	case n == 0:
		return invalid(endpoint, "no image URL")
	case n > 4:
		return invalid(endpoint, fmt.Sprintf("%d image URLs; at most 4", n))
	}
	for _, u := range req.URLs {
		if strings.TrimSpace(u) == "" {
			return invalid(endpoint, "empty image URL")
		}
	}
	switch {
	case req.PatentType == "D" && (req.Model == 1 || req.Model == 2):
	case req.PatentType == "U" && (req.Model == 3 || req.Model == 4):
	case req.PatentType != "D" && req.PatentType != "U":
		return invalid(endpoint, fmt.Sprintf("patent type %q; want D or U", req.PatentType))
	default:
		return invalid(endpoint, fmt.Sprintf("model %d does not fit patent type %s (D: 1 or 2, U: 3 or 4)", req.Model, req.PatentType))
	}
	b := searchBody{PatentType: req.PatentType, Model: req.Model, Filters: req.Filters, IsHTTPS: 1}
	if len(req.URLs) == 1 {
		b.URL = req.URLs[0]
	} else {
		b.URLs = req.URLs
	}
	return b, endpoint, path, nil
}

// searchPage makes one P060/P061 call.
func (c *Client) searchPage(ctx context.Context, endpoint, path string, body searchBody) ([]Hit, int, bool, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, 0, false, &APIError{Endpoint: endpoint, Class: ClassInvalid, Msg: "cannot encode the request", Err: err}
	}
	cl := &call{endpoint: endpoint, method: http.MethodPost, path: path, body: raw, contentType: "application/json"}
	var hits []Hit
	var total int
	var hasTotal bool
	err = c.do(ctx, cl, func(status int, answer []byte) error {
		data, err := c.checkEnvelope(endpoint, status, answer)
		if err != nil {
			return err
		}
		hits, total, hasTotal, err = decodeSearchPage(data)
		if err != nil {
			return malformed(endpoint, status, err)
		}
		return nil
	})
	return hits, total, hasTotal, err
}

// hitWire is a P060 hit as it travels; numbers may arrive as strings.
type hitWire struct {
	PatentPN         string    `json:"patent_pn"`
	PatentID         string    `json:"patent_id"`
	Title            string    `json:"title"`
	Score            flexFloat `json:"score"`
	CurrentAssignee  string    `json:"current_assignee"`
	OriginalAssignee string    `json:"original_assignee"`
	Inventor         string    `json:"inventor"`
	Apno             string    `json:"apno"`
	Apdt             flexInt   `json:"apdt"`
	Pbdt             flexInt   `json:"pbdt"`
	URL              string    `json:"url"`
	LocMatch         flexInt   `json:"loc_match"`
}

// decodeSearchPage reads the data of a P060/P061 answer: the page's hits
// and, when present, total_search_result_count.
func decodeSearchPage(data json.RawMessage) ([]Hit, int, bool, error) {
	var d struct {
		PatentMessages []hitWire `json:"patent_messages"`
		Total          flexInt   `json:"total_search_result_count"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, 0, false, err
	}
	if d.Total.v < 0 || d.Total.v > 1<<31 {
		return nil, 0, false, fmt.Errorf("total_search_result_count %d out of range", d.Total.v)
	}
	hits := make([]Hit, len(d.PatentMessages))
	for i, w := range d.PatentMessages {
		hits[i] = Hit{
			PatentPN:         w.PatentPN,
			PatentID:         w.PatentID,
			Title:            w.Title,
			Score:            float64(w.Score),
			CurrentAssignee:  w.CurrentAssignee,
			OriginalAssignee: w.OriginalAssignee,
			Inventor:         w.Inventor,
			Apno:             w.Apno,
			Apdt:             int(w.Apdt.v),
			Pbdt:             int(w.Pbdt.v),
			URL:              w.URL,
			LocMatch:         int(w.LocMatch.v),
		}
	}
	return hits, int(d.Total.v), d.Total.set, nil
}
