package drawings

import (
	"testing"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/spec"
)

func TestQueryLine(t *testing.T) {
	three := 3
	s := spec.Search{PatentType: "D", Model: 2, MaxResults: 50, MinScore: 0.5, Filters: patsnap.Filters{
		Country: []string{"US", "EU", "CN"}, LOC: "(14-03 OR 14-02)", LegalStatus: patsnap.Codes{3, 2},
		ApplyStartTime: "20150101", Stemming: &three}}
	want := "design (D), model 2 · country US, EU, CN · loc (14-03 OR 14-02) · legal_status 3, 2 · apply_start_time 20150101 · stemming 3 · max_results 50 · min_score 0.5"
	if got := queryLine(s); got != want {
		t.Errorf("queryLine =\n%s\nwant\n%s", got, want)
	}
	if got := queryLine(spec.Search{PatentType: "U", Model: 3, MaxResults: 100}); got != "utility model (U), model 3 · max_results 100" {
		t.Errorf("queryLine of a bare search = %s", got)
	}
}

func TestObjectKey(t *testing.T) {
	a := "http://cdn.example/EU/S/1_0009_0002.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240311T111032Z&X-Amz-Signature=aa"
	b := "http://cdn.example/EU/S/1_0009_0002.png?X-Amz-Date=20240312T000000Z&x-amz-signature=bb&X-Amz-Algorithm=AWS4-HMAC-SHA256"
	if objectKey(a) != objectKey(b) {
		t.Errorf("two presignings of one object differ: %s, %s", objectKey(a), objectKey(b))
	}
	if objectKey("http://cdn.example/img?id=1") == objectKey("http://cdn.example/img?id=2") {
		t.Error("links that differ in a query parameter of their own are taken for one")
	}
}

func TestQueryKey(t *testing.T) {
	key, name := queryKey(spec.Image{URL: "https://bucket.example/q/phone.png?X-Amz-Signature=secret"})
	if key != "https://bucket.example/q/phone.png?X-Amz-Signature=secret" || name != "bucket.example/q/phone.png" {
		t.Errorf("a URL: key %q, name %q", key, name)
	}
	key, name = queryKey(spec.Image{Path: "/home/u/watch/images/hinge-front.png", SHA256: "ab12"})
	if key != "sha256:ab12" || name != "hinge-front.png" {
		t.Errorf("a file: key %q, name %q", key, name)
	}
}
