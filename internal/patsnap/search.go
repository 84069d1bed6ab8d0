package patsnap

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
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

// WantedResults is how many ranked hits a search asking for maxResults
// collects: DefaultMaxResults when maxResults is 0 or less, at most
// MaxReachable.
func WantedResults(maxResults int) int {
	if maxResults <= 0 {
		return DefaultMaxResults
	}
	return min(maxResults, MaxReachable)
}

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
// four. It pages through offset/limit until it holds req.MaxResults hits
// (≤ 0: DefaultMaxResults; at most MaxReachable), never asking for more than
// it needs, for a rank beyond the API's total_search_result_count, or for
// an offset past MaxOffset. Once the first page has answered, its total says
// how many pages are needed, and they are fetched at once, each taking its
// turn in the client's shared rate at the place the first page took: ahead
// of the searches that started after this one, so that concurrent searches
// complete one after the other. With req.MinScore > 0 and results
// ordered by score (Field "" or "SCORE"), paging stops at the first page
// whose last hit scores below it, and pages are fetched ahead only as far as
// the scores so far say hits at or above it remain (the slope of the last
// page's scores, projected). Without a total, pages are read one by one until
// one comes back short.
//
// Search is where a search's hits are chosen, for every caller: a hit is
// identified by its patent_pn; one without is left out (and counted in
// NoPatentPN), and a page holding no hit with a patent_pn is an error.
// Hits are de-duplicated by patent_pn across pages (a rank can shift between
// two calls); when that leaves fewer than wanted, the next ranks are asked
// for. With req.MinScore > 0, hits scoring below it are left out.
//
// An answer that contradicts itself is ClassInconsistent, retried like a
// retryable failure: a page with no hits while its total says results exist
// at its offset; a page after the first (one the first page's total said
// is needed) holding fewer hits than its total says exist there; a total
// below half the first page's. A first page short of its limit but not
// empty is the end of the results, whatever its total. On any failure
// Search returns no partial result: a failed search must never look like
// one whose hits are gone.
func (c *Client) Search(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	body, endpoint, path, err := searchRequestBody(req)
	if err != nil {
		return nil, err
	}
	want := WantedResults(req.MaxResults)
	sr := &searchRun{
		c: c, endpoint: endpoint, path: path, body: body,
		byScore: req.Filters.Field == "" || strings.EqualFold(req.Filters.Field, "SCORE"),
		res:     &SearchResult{Hits: []Hit{}},
	}
	sr.keep = hitKeeper{want: want, minScore: req.MinScore, seen: make(map[string]bool), res: sr.res}
	if err := sr.run(ctx, want); err != nil {
		return nil, err
	}
	if sr.res.NoPatentPN > 0 {
		c.log.Warn().Str("endpoint", endpoint).Int("hits", sr.res.NoPatentPN).Msg("the API sent hits without a patent_pn; they were left out")
	}
	return sr.res, nil
}

// searchRun is one Search in progress.
type searchRun struct {
	c        *Client
	endpoint string
	path     string
	body     searchBody
	byScore  bool
	keep     hitKeeper // its minScore is the request's
	res      *SearchResult
	// place is the search's place in line for turns, which every page
	// takes: pages fetched after the first go before the searches that
	// started later (see governor).
	place place

	firstTotal int // page 1's total; 0 while unknown
}

// page is one page asked for and its answer.
type page struct {
	offset, limit int
	hits          []Hit
	total         int
	hasTotal      bool
	err           error
}

// run reads the pages of a search into sr.res.
func (sr *searchRun) run(ctx context.Context, want int) error {
	first := sr.fetch(ctx, []page{{offset: 0, limit: min(MaxPageSize, want)}})
	if first[0].err != nil {
		return first[0].err
	}
	p := first[0]
	if !p.hasTotal {
		return sr.sequential(ctx, want, p)
	}
	sr.firstTotal = p.total
	stop, err := sr.take(p)
	if err != nil || stop {
		return err
	}
	next := p.offset + p.limit
	// ranks is how far the ranks are read: to the wanted count (never
	// past what the API lets reach), within the total.
	ranks := min(want, p.total)
	for {
		var wave []page
		n := sr.ahead(p)
		for off := next; off < ranks && off <= MaxOffset && len(wave) < n; off += MaxPageSize {
			wave = append(wave, page{offset: off, limit: min(MaxPageSize, ranks-off)})
		}
		if len(wave) == 0 {
			// The planned ranks are read; de-duplication or the score
			// filter may have left fewer hits than wanted, and the total
			// may allow more.
			total := sr.res.Total
			if len(sr.res.Hits) >= want || next >= total || next > MaxOffset {
				return nil
			}
			wave = []page{{offset: next, limit: min(MaxPageSize, want-len(sr.res.Hits), total-next)}}
			ranks = next + wave[0].limit
		}
		for _, q := range sr.fetch(ctx, wave) {
			if q.err != nil {
				return q.err
			}
			p = q
			if stop, err := sr.take(q); err != nil || stop {
				return err
			}
		}
		next = p.offset + p.limit
	}
}

// sequential reads the pages of an answer without a total, one at a time,
// until one comes back short, as many as wanted are kept, or the offset
// would pass MaxOffset.
func (sr *searchRun) sequential(ctx context.Context, want int, p page) error {
	for {
		if stop, err := sr.take(p); err != nil || stop {
			return err
		}
		offset := p.offset + p.limit
		limit := min(MaxPageSize, want-len(sr.res.Hits))
		if len(p.hits) < p.limit || limit <= 0 || offset > MaxOffset {
			return nil
		}
		p = sr.fetch(ctx, []page{{offset: offset, limit: limit}})[0]
		if p.err != nil {
			return p.err
		}
	}
}

// take keeps the hits of p, the next page in rank order, and says whether
// paging stops there: a page short of its limit (the end of the results), a
// page ending below MinScore when ordered by score.
func (sr *searchRun) take(p page) (stop bool, err error) {
	if p.hasTotal {
		sr.res.Total = p.total
	} else {
		sr.res.Total = max(sr.res.Total, p.offset+len(p.hits)) // a lower bound
	}
	if !sr.keep.page(p.hits) {
		return true, &APIError{Endpoint: sr.endpoint, HTTPStatus: http.StatusOK, Msg: "malformed answer", Class: ClassPermanent,
			Err: fmt.Errorf("a page of %d hits at offset %d, none with a patent_pn", len(p.hits), p.offset)}
	}
	return len(p.hits) < p.limit || (sr.byScore && sr.keep.minScore > 0 && p.hits[len(p.hits)-1].Score < sr.keep.minScore), nil
}

// ahead says how many pages to fetch at once after p. Without MinScore,
// every page still needed; with it, as many as the slope of p's scores says
// may still hold hits at or above it. Scores fall fastest at the top ranks,
// so the projection errs on the side of fewer pages.
func (sr *searchRun) ahead(p page) int {
	if !sr.byScore || sr.keep.minScore <= 0 {
		return MaxReachable / MaxPageSize
	}
	hits := p.hits
	if len(hits) < 2 {
		return 1
	}
	last := hits[len(hits)-1].Score
	slope := (hits[0].Score - last) / float64(len(hits)-1)
	if slope <= 0 {
		return MaxReachable / MaxPageSize
	}
	ranks := (last - sr.keep.minScore) / slope
	return max(1, min(MaxReachable/MaxPageSize, int(math.Ceil(ranks/MaxPageSize))))
}

// fetch asks for pages at once, each through the shared rate, and returns
// them in order with their answers. The first failure cancels the others;
// the error returned for it is the failure's, not the cancellation's.
func (sr *searchRun) fetch(ctx context.Context, pages []page) []page {
	sr.res.Calls += len(pages)
	if len(pages) == 1 {
		p := &pages[0]
		p.hits, p.total, p.hasTotal, p.err = sr.page(ctx, p.offset, p.limit)
		return pages
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range pages {
		wg.Go(func() {
			p := &pages[i]
			p.hits, p.total, p.hasTotal, p.err = sr.page(fctx, p.offset, p.limit)
			if p.err != nil {
				cancel(p.err)
			}
		})
	}
	wg.Wait()
	if cause := context.Cause(fctx); cause != nil && ctx.Err() == nil {
		for i := range pages {
			if pages[i].err != nil {
				// Every failed page reports the failure that cancelled them.
				pages[i].err = cause
			}
		}
	}
	return pages
}

// page makes one P060/P061 call for the page at offset and checks that the
// answer agrees with itself and with the first page.
func (sr *searchRun) page(ctx context.Context, offset, limit int) ([]Hit, int, bool, error) {
	body := sr.body
	body.Offset, body.Limit = offset, limit
	hits, total, hasTotal, err := sr.c.searchPage(ctx, sr.endpoint, sr.path, body, &sr.place, func(hits []Hit, total int, hasTotal bool) error {
		return checkPage(sr.endpoint, offset, limit, len(hits), total, hasTotal, sr.firstTotal)
	})
	if len(hits) > limit {
		hits = hits[:limit] // more than asked for: keep the offsets aligned
	}
	return hits, total, hasTotal, err
}

// checkPage returns the ClassInconsistent error of a page of n hits at
// offset, asked with limit, whose answer says total (when hasTotal), when
// the two contradict each other or the first page's total (firstTotal, 0
// for the first page itself); nil otherwise. A short first page that holds
// hits ends the results: its total is no promise that more exist (the
// documentation's own example answers one hit of a total of 100).
func checkPage(endpoint string, offset, limit, n, total int, hasTotal bool, firstTotal int) error {
	if !hasTotal {
		return nil
	}
	inconsistent := func(format string, args ...any) error {
		return &APIError{Endpoint: endpoint, HTTPStatus: http.StatusOK, Class: ClassInconsistent,
			Msg: "inconsistent answer", Err: fmt.Errorf(format, args...)}
	}
	expect := min(limit, total-offset)
	switch {
	case firstTotal > 0 && total < firstTotal/2:
		return inconsistent("total_search_result_count fell from %d to %d between pages", firstTotal, total)
	case n == 0 && expect > 0:
		return inconsistent("no hits at offset %d, where total_search_result_count %d says %d exist", offset, total, expect)
	case offset > 0 && n < expect:
		return inconsistent("%d hits at offset %d, where total_search_result_count %d says %d exist", n, offset, total, expect)
	}
	return nil
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

// searchPage makes one P060/P061 call, waiting for its turn at pl; agree
// judges a well-formed answer, whose error makes it a failed attempt.
func (c *Client) searchPage(ctx context.Context, endpoint, path string, body searchBody, pl *place, agree func([]Hit, int, bool) error) ([]Hit, int, bool, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, 0, false, &APIError{Endpoint: endpoint, Class: ClassInvalid, Msg: "cannot encode the request", Err: err}
	}
	cl := &call{endpoint: endpoint, method: http.MethodPost, path: path, body: raw, contentType: "application/json", place: pl}
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
		return agree(hits, total, hasTotal)
	})
	if err != nil {
		return nil, 0, false, err
	}
	return hits, total, hasTotal, nil
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
