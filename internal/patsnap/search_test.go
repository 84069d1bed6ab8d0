package patsnap

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

func intp(v int) *int { return &v }

// TestSearchWireShape sends the query of the P060 page's own request
// example and compares the body field by field. The one deliberate
// difference: is_https is always 1.
func TestSearchWireShape(t *testing.T) {
	s := newStubAPI(t)
	example, err := os.ReadFile("testdata/p060_response_example.json")
	if err != nil {
		t.Fatal(err)
	}
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) { w.Write(example) })
	c, _ := s.client(nil)
	req := SearchRequest{
		URLs:       []string{"https://static-open.zhihuiya.com/sample/common_demo.png"},
		PatentType: "D",
		Model:      1,
		Filters: Filters{
			Country:           []string{"US", "EU", "CN"},
			LOC:               "(14-03 OR 14-02)",
			LegalStatus:       []int{3, 2},
			SimpleLegalStatus: []int{1, 2},
			ApplyStartTime:    "20100101",
			ApplyEndTime:      "20200101",
			PublicStartTime:   "20100101",
			PublicEndTime:     "20200101",
			Assignees:         "huawei",
			MainField:         "(phones or 手机)",
			Lang:              "original",
			Field:             "SCORE",
			Order:             "desc",
			Stemming:          intp(0),
			PreFilter:         intp(1),
		},
		MaxResults: 10,
	}
	res, err := c.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	reqs := s.requests(singlePath)
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	docReq, err := os.ReadFile("testdata/p060_request_example.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(docReq, &want); err != nil {
		t.Fatal(err)
	}
	want["is_https"] = float64(1)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body\n got %v\nwant %v", got, want)
	}
	if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	wantHit := Hit{
		URL:              "http://patsnap-imagefulltext240.cdn.zhihuiya.com/EU/S/00/47/44/21/70/00/9/004744217_0009_0002.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240311T111032Z&X-Amz-SignedHeaders=host&X-Amz-Expires=604800&X-Amz-Credential=AKIAPEVKZSEKLAJCRYAA%2F20240311%2Fcn-northwest-1%2Fs3%2Faws4_request&X-Amz-Signature=017c433982a4c397014bb96c92f320c7da2248a9d6b2ce6352f6adbffc4b0d99",
		Apdt:             20190528,
		Apno:             "EU006535076",
		Pbdt:             20190528,
		Score:            0.8884816,
		Title:            "Mobile phones",
		Inventor:         "ELSHAFIE, AHMED|YANG, WEI|HOSSEINI, SEYEDKIANOUSH",
		LocMatch:         1,
		PatentID:         "6e433449-143b-41d9-9abf-6c6519b07779",
		PatentPN:         "EU0065350760001S",
		CurrentAssignee:  "HUAWEI TECHNOLOGIES CO., LTD.",
		OriginalAssignee: "HUAWEI TECHNOLOGIES CO., LTD.",
	}
	if res.Total != 100 || res.Calls != 1 || len(res.Hits) != 1 || res.Hits[0] != wantHit {
		t.Errorf("result %+v", res)
	}
}

func TestSearchMinimalBodyAndMultipleImages(t *testing.T) {
	s := newStubAPI(t)
	s.handle(multiPath, pageHandler(t, func(int) []Hit { return rankedHits(3) }))
	c, _ := s.client(nil)
	req := SearchRequest{URLs: []string{"https://a/1.png", "https://a/2.png"}, PatentType: "U", Model: 4, MaxResults: 5}
	if _, err := c.Search(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(s.requests(multiPath)[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"urls": []any{"https://a/1.png", "https://a/2.png"}, "patent_type": "U", "model": float64(4),
		"limit": float64(5), "offset": float64(0), "is_https": float64(1),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %v, want %v", got, want)
	}
}

func TestSearchRejectsBadRequests(t *testing.T) {
	s := newStubAPI(t)
	c, _ := s.client(nil)
	bad := []SearchRequest{
		{PatentType: "D", Model: 1},
		{URLs: []string{"a", "b", "c", "d", "e"}, PatentType: "D", Model: 1},
		{URLs: []string{" "}, PatentType: "D", Model: 1},
		{URLs: []string{"a"}, PatentType: "X", Model: 1},
		{URLs: []string{"a"}, PatentType: "D", Model: 3},
		{URLs: []string{"a"}, PatentType: "U", Model: 1},
	}
	for _, req := range bad {
		_, err := c.Search(context.Background(), limited(req, 10))
		mustClass(t, err, ClassInvalid)
	}
	if n := s.count(""); n != 0 {
		t.Errorf("%d requests for invalid searches", n)
	}
}

// TestSearchPaging checks the exact pages asked for.
func TestSearchPaging(t *testing.T) {
	tests := []struct {
		name      string
		corpus    int
		want      int
		wantHits  int
		wantCalls [][2]int // offset, limit
	}{
		{"want 100: one call", 500, 100, 100, [][2]int{{0, 100}}},
		{"want 10", 500, 10, 10, [][2]int{{0, 10}}},
		{"want 0 means default", 500, 0, DefaultMaxResults, [][2]int{{0, 100}}},
		{"want 250", 500, 250, 250, [][2]int{{0, 100}, {100, 100}, {200, 50}}},
		{"total stops", 130, 500, 130, [][2]int{{0, 100}, {100, 30}}},
		{"total on a page boundary", 200, 500, 200, [][2]int{{0, 100}, {100, 100}}},
		{"fewer than asked", 7, 100, 7, [][2]int{{0, 100}}},
		{"empty", 0, 100, 0, [][2]int{{0, 100}}},
		{"deepest reachable", 5000, 5000, MaxReachable, [][2]int{
			{0, 100}, {100, 100}, {200, 100}, {300, 100}, {400, 100}, {500, 100},
			{600, 100}, {700, 100}, {800, 100}, {900, 100}, {1000, 100}}},
		{"1050", 5000, 1050, 1050, [][2]int{
			{0, 100}, {100, 100}, {200, 100}, {300, 100}, {400, 100}, {500, 100},
			{600, 100}, {700, 100}, {800, 100}, {900, 100}, {1000, 50}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStubAPI(t)
			corpus := rankedHits(tt.corpus)
			s.handle(singlePath, pageHandler(t, func(int) []Hit { return corpus }))
			c, _ := s.client(nil)
			res, err := c.Search(context.Background(), limited(simpleSearch, tt.want))
			if err != nil {
				t.Fatal(err)
			}
			calls := searchCalls(t, s.requests(singlePath))
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("pages %v, want %v", calls, tt.wantCalls)
			}
			if len(res.Hits) != tt.wantHits || res.Calls != len(tt.wantCalls) || res.Total != tt.corpus {
				t.Errorf("%d hits, %d calls, total %d", len(res.Hits), res.Calls, res.Total)
			}
			for i, h := range res.Hits {
				if h != corpus[i] {
					t.Fatalf("hit %d = %+v, want %+v", i, h, corpus[i])
				}
			}
		})
	}
}

// TestSearchShortPageStops: a page shorter than asked for ends the paging
// even when the total promises more.
func TestSearchShortPageStops(t *testing.T) {
	s := newStubAPI(t)
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		data, _ := json.Marshal(map[string]any{"patent_messages": rankedHits(60), "total_search_result_count": 900})
		okData(w, string(data))
	})
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, 300))
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 1 || len(res.Hits) != 60 || res.Total != 900 {
		t.Errorf("calls %d hits %d total %d", res.Calls, len(res.Hits), res.Total)
	}
}

// TestSearchRankShift: between two page calls a new patent enters at rank
// 1, pushing the last hit of page 1 onto page 2. It is kept once, and one
// more page fills the wanted count.
func TestSearchRankShift(t *testing.T) {
	s := newStubAPI(t)
	base := rankedHits(400)
	newcomer := Hit{PatentPN: "NEW", Score: 1}
	s.handle(singlePath, pageHandler(t, func(call int) []Hit {
		if call == 1 {
			return base
		}
		return append([]Hit{newcomer}, base...)
	}))
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, 200))
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 100}, {100, 100}, {200, 1}}
	if calls := searchCalls(t, s.requests(singlePath)); !slices.Equal(calls, want) {
		t.Errorf("pages %v, want %v", calls, want)
	}
	if len(res.Hits) != 200 || res.Calls != 3 || res.Total != 401 {
		t.Fatalf("%d hits, %d calls, total %d", len(res.Hits), res.Calls, res.Total)
	}
	seen := map[string]bool{}
	for _, h := range res.Hits {
		if seen[h.PatentPN] {
			t.Fatalf("%s twice", h.PatentPN)
		}
		seen[h.PatentPN] = true
	}
	if !slices.Equal([]string{res.Hits[99].PatentPN, res.Hits[100].PatentPN}, []string{"P00099", "P00100"}) {
		t.Errorf("hits 99,100 = %s,%s", res.Hits[99].PatentPN, res.Hits[100].PatentPN)
	}
}

// TestSearchMinScore: by score, paging stops at the first page ending below
// the minimum and lower hits are dropped; by date, every page is read and
// filtered.
func TestSearchMinScore(t *testing.T) {
	corpus := rankedHits(500) // score of rank i: 1 - i/501
	minScore := 1 - 150.5/501 // ranks 0..150 pass
	tests := []struct {
		field    string
		wantHits int
		calls    int
	}{
		{"", 151, 2},
		{"SCORE", 151, 2},
		{"score", 151, 2},
		{"APD", 151, 5},
	}
	for _, tt := range tests {
		t.Run("field "+tt.field, func(t *testing.T) {
			s := newStubAPI(t)
			s.handle(singlePath, pageHandler(t, func(int) []Hit { return corpus }))
			c, _ := s.client(nil)
			req := simpleSearch
			req.Filters.Field = tt.field
			req.MaxResults, req.MinScore = 1000, minScore
			res, err := c.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != tt.wantHits || res.Calls != tt.calls {
				t.Errorf("%d hits in %d calls, want %d in %d", len(res.Hits), res.Calls, tt.wantHits, tt.calls)
			}
			for _, h := range res.Hits {
				if h.Score < minScore {
					t.Fatalf("hit %s scores %v < %v", h.PatentPN, h.Score, minScore)
				}
			}
		})
	}
}

// TestSearchFailureReturnsNothing: an error on page 2 discards page 1.
func TestSearchFailureReturnsNothing(t *testing.T) {
	s := newStubAPI(t)
	good := pageHandler(t, func(int) []Hit { return rankedHits(300) })
	var calls atomic.Int32
	s.handle(singlePath, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			apiErr(w, 200, 68300004, "Invalid parameter!")
			return
		}
		good(w, r)
	})
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), limited(simpleSearch, 300))
	if res != nil || err == nil {
		t.Fatalf("res %v err %v", res, err)
	}
	mustClass(t, err, ClassInvalid)
}

// TestSearchHitIdentity: a hit is its patent_pn. Hits without one are left
// out and counted; a repeated patent_pn counts once however its other
// fields differ; two patent_pns sharing a patent_id are two hits.
func TestSearchHitIdentity(t *testing.T) {
	s := newStubAPI(t)
	corpus := []Hit{
		{PatentPN: "P1", PatentID: "a", Score: 0.9},
		{PatentID: "b", Score: 0.85},
		{PatentPN: "P2", PatentID: "c", Score: 0.8},
		{PatentPN: "P1", PatentID: "d", Score: 0.7},
		{PatentPN: "P3", PatentID: "c", Score: 0.6},
		{Score: 0.5},
	}
	s.handle(singlePath, pageHandler(t, func(int) []Hit { return corpus }))
	c, _ := s.client(nil)
	res, err := c.Search(context.Background(), simpleSearch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range res.Hits {
		got = append(got, h.PatentPN+"/"+h.PatentID)
	}
	if want := []string{"P1/a", "P2/c", "P3/c"}; !slices.Equal(got, want) || res.NoPatentPN != 2 || res.Total != 6 {
		t.Errorf("hits %v, %d without patent_pn, total %d; want %v, 2, 6", got, res.NoPatentPN, res.Total, want)
	}
}

// TestSearchPageWithoutPatentPNs: a page none of whose hits can be
// identified is an inconsistent answer, never an empty result, on the first
// page or a later one.
func TestSearchPageWithoutPatentPNs(t *testing.T) {
	for _, at := range []int{0, 100} {
		s := newStubAPI(t)
		corpus := rankedHits(300)
		for i := at; i < at+100; i++ {
			corpus[i].PatentPN = ""
		}
		s.handle(singlePath, pageHandler(t, func(int) []Hit { return corpus }))
		c, _ := s.client(nil)
		res, err := c.Search(context.Background(), limited(simpleSearch, 300))
		if res != nil {
			t.Errorf("page at %d: result %+v, want none", at, res)
		}
		mustClass(t, err, ClassPermanent)
		if !strings.Contains(err.Error(), "none with a patent_pn") {
			t.Errorf("page at %d: err = %v", at, err)
		}
	}
}
