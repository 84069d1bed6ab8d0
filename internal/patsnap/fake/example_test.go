package fake_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/patwatch/patwatch/internal/patsnap/fake"
)

// ExampleServer starts the fake on loopback, pins the results of one image
// and makes one P060 call in mode B.
func ExampleServer() {
	srv := fake.New(fake.Options{APIKeys: []string{"sk-test"}, Seed: 1})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	srv.SetResults("https://img.example/chair.png", -1,
		fake.Hit{PatentPN: "CN305000001S", Title: "Chair", Score: 0.91},
	)

	body := `{"url":"https://img.example/chair.png?v=2","patent_type":"D","model":1,"limit":10}`
	req, _ := http.NewRequest(http.MethodPost, ts.URL+fake.PathSearchSingle+"?apikey=sk-test", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(b), `"patent_pn":"CN305000001S"`))
	fmt.Println(len(srv.Requests()), srv.Requests()[0].Endpoint)
	// Output:
	// 200 true
	// 1 search-single
}
