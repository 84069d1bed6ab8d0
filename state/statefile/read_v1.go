package statefile

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// Format 1 is the state file as patwatch has written it from the start:
// the header, then the searches with their hits and the reports. The
// writer still writes it, for a state that uses no member of format 2.

// fileV1 is a format 1 file.
type fileV1 struct {
	FormatVersion   int       `json:"format_version"`
	Serial          uint64    `json:"serial"`
	Lineage         text      `json:"lineage"`
	PatwatchVersion text      `json:"patwatch_version"`
	Searches        searchMap `json:"searches"`
	Reports         reportMap `json:"reports"`
}

// readV1 reads a format 1 file.
func readV1(in *input, p pass) (*state.State, Header, error) {
	r := &reader{in: in, pass: p}
	v := fileV1{Searches: searchMap{r: r}, Reports: reportMap{r: r}}
	err := readTop(in, &v)
	h := Header{FormatVersion: v.FormatVersion, Serial: v.Serial, Lineage: string(v.Lineage), PatwatchVersion: string(v.PatwatchVersion)}
	switch {
	case err != nil:
		return nil, h, err
	case r.problem != nil:
		return nil, h, r.problem
	case p == checking:
		return nil, h, nil
	}
	return newState(h, v.Searches.m, v.Reports.m), h, nil
}

// pathV1 renders a JSON pointer into a format 1 file as the path in error
// messages: searches["name"].hits["CN1234S"].title.
func pathV1(ptr jsontext.Pointer) string {
	var b []byte
	var parent string
	i := 0
	for tok := range ptr.Tokens() {
		isKey := (i == 1 && (parent == "searches" || parent == "reports")) || (i == 3 && parent == "hits")
		switch {
		case isKey:
			b = append(b, '[')
			b = strconv.AppendQuote(b, tok)
			b = append(b, ']')
		case i > 0:
			b = append(b, '.')
			fallthrough
		default:
			b = append(b, tok...)
		}
		parent = tok
		i++
	}
	return string(b)
}
