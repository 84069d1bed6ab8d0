package fake

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Hit is one entry of a P060/P061 answer's patent_messages, with the same
// JSON fields.
type Hit struct {
	PatentPN         string  `json:"patent_pn"`
	PatentID         string  `json:"patent_id"`
	Title            string  `json:"title"`
	Score            float64 `json:"score"`
	CurrentAssignee  string  `json:"current_assignee"`
	OriginalAssignee string  `json:"original_assignee"`
	Inventor         string  `json:"inventor"`
	Apno             string  `json:"apno"`
	Apdt             int     `json:"apdt"`
	Pbdt             int     `json:"pbdt"`
	URL              string  `json:"url"`
	LocMatch         int     `json:"loc_match"`
}

// wireHit is Hit in the field order of the documented example.
type wireHit struct {
	URL              string  `json:"url"`
	Apdt             int     `json:"apdt"`
	Apno             string  `json:"apno"`
	Pbdt             int     `json:"pbdt"`
	Score            float64 `json:"score"`
	Title            string  `json:"title"`
	Inventor         string  `json:"inventor"`
	LocMatch         int     `json:"loc_match"`
	PatentID         string  `json:"patent_id"`
	PatentPN         string  `json:"patent_pn"`
	CurrentAssignee  string  `json:"current_assignee"`
	OriginalAssignee string  `json:"original_assignee"`
}

func (h Hit) wire() wireHit {
	return wireHit{h.URL, h.Apdt, h.Apno, h.Pbdt, h.Score, h.Title, h.Inventor, h.LocMatch, h.PatentID, h.PatentPN, h.CurrentAssignee, h.OriginalAssignee}
}

type searchData struct {
	PatentMessages []wireHit `json:"patent_messages"`
	Total          int       `json:"total_search_result_count"`
}

// fixedResult is what SetResults installed for one image.
type fixedResult struct {
	total int
	hits  []Hit // ranked
}

// SetResults makes every search whose first image URL has the identity of
// imageURL answer hits, ranked by Score descending (ties keep their given
// order), with total_search_result_count total (total < 0: len(hits)). The
// hits are returned exactly as given (URL, Score and all); filters do not
// apply to them. Hits may repeat a PatentPN, which simulates ranks shifting
// between two page calls. It replaces the generated corpus for that image
// until SetResults is called again for it.
func (s *Server) SetResults(imageURL string, total int, hits ...Hit) {
	ranked := slices.Clone(hits)
	slices.SortStableFunc(ranked, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	if total < 0 {
		total = len(hits)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results[imageIdentity(imageURL)] = fixedResult{total: total, hits: ranked}
}

// Advance moves the generated corpus to its next epoch: a batch of new
// publications appears and some patents are withdrawn, for every query.
func (s *Server) Advance() {
	s.advanceMu.Lock()
	defer s.advanceMu.Unlock()
	e := s.Epoch() + 1
	// The corpus grows first, so that no search sees the new epoch without
	// its publications.
	s.corpus.upTo(e)
	s.mu.Lock()
	s.epoch = e
	s.mu.Unlock()
}

// Epoch returns the current epoch of the generated corpus (0 after New).
func (s *Server) Epoch() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// imageIdentity is what ranks depend on: the URL without its query string.
// Images uploaded to the fake are identified by their path alone, so that
// the same image ranks the same under any host and port.
func imageIdentity(u string) string {
	u = stripQuery(u)
	if i := strings.Index(u, PathImagePrefix); i >= 0 {
		return u[i:]
	}
	return u
}

// searchBody is a P060/P061 request. Pointers tell absent from zero.
// legal_status, simple_legal_status, main_field, stemming and pre_filter are
// accepted with their documented types but do not filter the corpus.
type searchBody struct {
	URL               *string         `json:"url"`
	URLs              []string        `json:"urls"`
	PatentType        string          `json:"patent_type"`
	Model             *int            `json:"model"`
	Limit             *int            `json:"limit"`
	Offset            *int            `json:"offset"`
	Country           json.RawMessage `json:"country"`
	Loc               string          `json:"loc"`
	ApplyStartTime    string          `json:"apply_start_time"`
	ApplyEndTime      string          `json:"apply_end_time"`
	PublicStartTime   string          `json:"public_start_time"`
	PublicEndTime     string          `json:"public_end_time"`
	Assignees         string          `json:"assignees"`
	Field             string          `json:"field"`
	Order             string          `json:"order"`
	Lang              string          `json:"lang"`
	IsHTTPS           *int            `json:"is_https"`
	LegalStatus       string          `json:"legal_status"`
	SimpleLegalStatus string          `json:"simple_legal_status"`
	MainField         string          `json:"main_field"`
	Stemming          *int            `json:"stemming"`
	PreFilter         *int            `json:"pre_filter"`
}

// query is a validated search.
type query struct {
	image          string // identity of the first image
	design         bool
	model          int
	limit, offset  int
	offices        uint32 // bit per offices index; 0: any
	unknownOffices bool   // only countries the corpus does not hold were asked for
	locSet         bool
	locs           uint64 // bit per locClasses index
	apFrom, apTo   int
	pbFrom, pbTo   int
	assignee       string // lower case
	field          string
	asc            bool
	lang           string
	https          bool
}

var (
	locCode   = regexp.MustCompile(`\b\d{2}(?:-\d{2})?\b`)
	dateParam = regexp.MustCompile(`^\d{8}$`)
)

func invalid(msg string) *answer {
	return errAnswer(http.StatusOK, CodeInvalidParam, "Invalid parameter! "+msg)
}

// parseSearch validates a search body; a non-nil answer is the refusal.
func (s *Server) parseSearch(ep Endpoint, body []byte) (query, *answer) {
	var b searchBody
	if err := decodeJSON(body, &b); err != nil {
		return query{}, decodeAnswer(err)
	}
	q := query{limit: 10, apTo: math.MaxInt, pbTo: math.MaxInt}
	var urls []string
	if ep == EndpointSearchSingle {
		if b.URL == nil || strings.TrimSpace(*b.URL) == "" {
			return q, invalid("url is required")
		}
		urls = []string{*b.URL}
	} else {
		if len(b.URLs) < 1 || len(b.URLs) > 4 {
			return q, invalid("urls must hold 1 to 4 image urls")
		}
		urls = b.URLs
	}
	for _, u := range urls {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return q, invalid("url must be an http(s) image url")
		}
	}
	if a := s.checkImages(urls); a != nil {
		return q, a
	}
	q.image = imageIdentity(urls[0])
	switch b.PatentType {
	case "D":
		q.design = true
	case "U":
	default:
		return q, invalid("patent_type must be D or U")
	}
	if b.Model == nil {
		return q, invalid("model is required")
	}
	q.model = *b.Model
	if (q.design && q.model != 1 && q.model != 2) || (!q.design && q.model != 3 && q.model != 4) {
		return q, invalid("model does not fit patent_type")
	}
	if b.Limit != nil {
		q.limit = *b.Limit
	}
	if q.limit < 1 || q.limit > 100 {
		return q, invalid("limit must be between 1 and 100")
	}
	if b.Offset != nil {
		q.offset = *b.Offset
	}
	if q.offset < 0 || q.offset > 1000 {
		return q, invalid("offset must be between 0 and 1000")
	}
	countries, ok := parseCountries(b.Country)
	if !ok {
		return q, invalid("country must be an array of office codes")
	}
	for _, c := range countries {
		if i := slices.Index(offices, c); i >= 0 {
			q.offices |= 1 << i
		}
	}
	q.unknownOffices = len(countries) > 0 && q.offices == 0
	if strings.TrimSpace(b.Loc) != "" {
		codes := locCode.FindAllString(b.Loc, -1)
		if len(codes) == 0 {
			return q, invalid("loc holds no Locarno class")
		}
		q.locSet = true
		for _, code := range codes {
			for i, l := range locClasses {
				if l.code == code || strings.HasPrefix(l.code, code+"-") {
					q.locs |= 1 << i
				}
			}
		}
	}
	dates := []struct {
		v   string
		dst *int
	}{{b.ApplyStartTime, &q.apFrom}, {b.ApplyEndTime, &q.apTo}, {b.PublicStartTime, &q.pbFrom}, {b.PublicEndTime, &q.pbTo}}
	for _, d := range dates {
		if d.v == "" {
			continue
		}
		if !dateParam.MatchString(d.v) {
			return q, invalid("dates must be yyyyMMdd")
		}
		if _, err := time.Parse("20060102", d.v); err != nil {
			return q, invalid("dates must be yyyyMMdd")
		}
		*d.dst, _ = strconv.Atoi(d.v)
	}
	q.assignee = strings.ToLower(strings.TrimSpace(b.Assignees))
	q.field = strings.ToUpper(b.Field)
	switch q.field {
	case "":
		q.field = "SCORE"
	case "SCORE", "APD", "PBD", "ISD":
	default:
		return q, invalid("field must be SCORE, APD, PBD or ISD")
	}
	switch strings.ToLower(b.Order) {
	case "", "desc":
	case "asc":
		q.asc = true
	default:
		return q, invalid("order must be desc or asc")
	}
	q.lang = strings.ToLower(b.Lang)
	switch q.lang {
	case "", "original", "cn", "en":
	default:
		return q, invalid("lang must be cn, en or original")
	}
	if b.IsHTTPS != nil {
		switch *b.IsHTTPS {
		case 0:
		case 1:
			q.https = true
		default:
			return q, invalid("is_https must be 0 or 1")
		}
	}
	return q, nil
}

// parseCountries accepts the documented array and, since the description
// also speaks of comma-separated items, a comma-separated string.
func parseCountries(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list, true
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		for _, c := range strings.Split(one, ",") {
			if c = strings.TrimSpace(c); c != "" {
				list = append(list, c)
			}
		}
		return list, true
	}
	return nil, false
}

// checkImages refuses image URLs of this fake's uploads that it never
// issued or whose presigned lifetime has passed, as the real service cannot
// fetch them either.
func (s *Server) checkImages(urls []string) *answer {
	now := s.now()
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(u.Path, PathImagePrefix) {
			continue
		}
		name := strings.TrimPrefix(u.Path, PathImagePrefix)
		sha, _, _ := strings.Cut(name, ".")
		s.mu.Lock()
		_, known := s.uploads[sha]
		s.mu.Unlock()
		if !known {
			return invalid("the image url cannot be fetched")
		}
		if presignedExpired(u.Query(), now) {
			return invalid("the image url has expired")
		}
	}
	return nil
}

func (s *Server) search(r *http.Request, ep Endpoint, body []byte) *answer {
	q, refusal := s.parseSearch(ep, body)
	if refusal != nil {
		return refusal
	}
	s.mu.Lock()
	fixed, isFixed := s.results[q.image]
	epoch := s.epoch
	s.mu.Unlock()
	if isFixed {
		return okAnswer(searchData{PatentMessages: page(fixed.hits, q.offset, q.limit), Total: fixed.total})
	}
	hits, total := s.rank(q, epoch)
	return okAnswer(searchData{PatentMessages: hits, Total: total})
}

func page(hits []Hit, offset, limit int) []wireHit {
	out := []wireHit{}
	for i := offset; i < len(hits) && i < offset+limit; i++ {
		out = append(out, hits[i].wire())
	}
	return out
}

// mix64 is the splitmix64 finaliser: a fast, well-spread hash of x.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hashString(seed int64, s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return mix64(h.Sum64() ^ uint64(seed))
}

type candidate struct {
	h uint64
	p *patent
}

// rank filters and ranks the generated corpus for q at epoch and returns the
// requested page and the number of matches.
func (s *Server) rank(q query, epoch int) ([]wireHit, int) {
	if q.unknownOffices {
		return []wireHit{}, 0
	}
	img := hashString(s.opts.Seed, q.image)
	sh := s.corpus.view(q.design)
	e := int32(epoch)
	apFrom, apTo := int32(min(q.apFrom, math.MaxInt32)), int32(min(q.apTo, math.MaxInt32))
	pbFrom, pbTo := int32(min(q.pbFrom, math.MaxInt32)), int32(min(q.pbTo, math.MaxInt32))
	// Utility models carry no Locarno class: loc does not filter them.
	useLoc := q.locSet && q.design
	cands := make([]candidate, 0, len(sh.ps))
	for i := range sh.ps {
		if sh.born[i] > e || e >= sh.gone[i] ||
			(q.offices != 0 && q.offices&(1<<sh.office[i]) == 0) ||
			(useLoc && (sh.loc[i] < 0 || q.locs&(1<<sh.loc[i]) == 0)) ||
			sh.apdt[i] < apFrom || sh.apdt[i] > apTo || sh.pbdt[i] < pbFrom || sh.pbdt[i] > pbTo ||
			(q.assignee != "" && !strings.Contains(sh.ps[i].assigneeLower, q.assignee)) {
			continue
		}
		cands = append(cands, candidate{mix64(img ^ sh.key[i]), sh.ps[i]})
	}
	byScore := func(a, b candidate) int {
		switch {
		case a.h > b.h:
			return -1
		case a.h < b.h:
			return 1
		}
		return strings.Compare(a.p.pn, b.p.pn)
	}
	cmp := byScore
	if q.field != "SCORE" {
		cmp = func(a, b candidate) int {
			da, db := a.p.apdt, b.p.apdt
			if q.field != "APD" {
				da, db = a.p.pbdt, b.p.pbdt
			}
			if da != db {
				if (da < db) != q.asc {
					return 1
				}
				return -1
			}
			return byScore(a, b)
		}
	}
	// Only the first offset+limit ranks are ever shown: select them before sorting.
	need := q.offset + q.limit
	if len(cands) > need {
		selectTop(cands, need, cmp)
		cands2 := cands[:need]
		slices.SortFunc(cands2, cmp)
	} else {
		slices.SortFunc(cands, cmp)
	}
	total := len(cands)
	out := []wireHit{}
	if q.offset >= total {
		return out, total
	}
	end := min(total, need)
	signer := s.presigner(7 * 24 * time.Hour)
	scheme := "http"
	if q.https {
		scheme = "https"
	}
	for _, c := range cands[q.offset:end] {
		p := c.p
		title := p.titleEN
		if q.lang == "cn" || ((q.lang == "" || q.lang == "original") && offices[p.office] == "CN") {
			title = p.titleZH
		}
		locMatch := 0
		if q.model == 1 && q.field == "SCORE" && p.loc >= 0 && (!q.locSet || q.locs&(1<<p.loc) != 0) && c.h%5 != 0 {
			locMatch = 1
		}
		out = append(out, wireHit{
			URL:              signer.sign(scheme + "://patsnap-imagefulltext240.cdn.zhihuiya.com" + p.imagePath),
			Apdt:             p.apdt,
			Apno:             p.apno,
			Pbdt:             p.pbdt,
			Score:            score(c.h, mix64(signer.nonce^c.h)),
			Title:            title,
			Inventor:         p.inventor,
			LocMatch:         locMatch,
			PatentID:         p.id,
			PatentPN:         p.pn,
			CurrentAssignee:  p.current,
			OriginalAssignee: p.original,
		})
	}
	return out, total
}

// score maps a rank hash to a similarity in (0, 1], jittered by at most
// 0.0000005 per call as the real service's scores are; the ranking itself
// uses the unjittered hash.
func score(h, jitter uint64) float64 {
	u := float64(h>>11) / (1 << 53)
	v := 0.2 + 0.8*u*u*u
	j := (float64(jitter>>11)/(1<<53)*2 - 1) * 5e-7
	v = math.Round((v+j)*1e7) / 1e7
	return min(1, max(1e-7, v))
}

// selectTop reorders c so that its first k elements are the k smallest
// under cmp (in any order): quickselect with a deterministic pivot.
func selectTop(c []candidate, k int, cmp func(a, b candidate) int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three keeps the deterministic pivot robust.
		if cmp(c[mid], c[lo]) < 0 {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if cmp(c[hi], c[lo]) < 0 {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if cmp(c[hi], c[mid]) < 0 {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid]
		i, j := lo, hi
		for i <= j {
			for cmp(c[i], pivot) < 0 {
				i++
			}
			for cmp(c[j], pivot) > 0 {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
