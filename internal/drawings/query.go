package drawings

import (
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/spec"
)

func hitKey(search, pn string) string { return search + "\x00" + pn }

// queryKey identifies a query image (a local file by its content, a URL as
// written) and names it for a page: a file by its base
// name, a URL by its host and path (no query: it may be presigned).
func queryKey(img spec.Image) (key, name string) {
	if img.Local() {
		return "sha256:" + img.SHA256, filepath.Base(img.Path)
	}
	name = img.URL
	if u, err := url.Parse(img.URL); err == nil {
		name = u.Host + u.EscapedPath()
	}
	return img.URL, name
}

func queryEntry(entry *Search, key string) *QueryImage {
	if entry == nil {
		return nil
	}
	for i := range entry.Query.Images {
		if entry.Query.Images[i].Key == key {
			return &entry.Query.Images[i]
		}
	}
	return nil
}

// queryThumb is the entry of the query image key, when it has a thumbnail.
func queryThumb(entry *Search, key string) *QueryImage {
	if q := queryEntry(entry, key); q != nil && !q.Thumb.IsZero() {
		return q
	}
	return nil
}

// queryLine is a search's query in one line, with the spec's own names:
// the patent type and model, every filter set, max_results and min_score.
func queryLine(s spec.Search) string {
	kind := map[string]string{"D": "design (D)", "U": "utility model (U)"}[s.PatentType]
	if kind == "" {
		kind = s.PatentType
	}
	parts := []string{kind + ", model " + strconv.Itoa(s.Model)}
	v := reflect.ValueOf(s.Filters)
	for _, f := range patsnap.FilterFields() {
		fv := v.Field(f.Index)
		var text string
		switch x := fv.Interface().(type) {
		case string:
			text = x
		case []string:
			text = strings.Join(x, ", ")
		case patsnap.Codes:
			var codes []string
			for _, c := range x {
				codes = append(codes, strconv.Itoa(c))
			}
			text = strings.Join(codes, ", ")
		case *int:
			if x != nil {
				text = strconv.Itoa(*x)
			}
		}
		if text != "" {
			parts = append(parts, f.Name+" "+text)
		}
	}
	parts = append(parts, "max_results "+strconv.Itoa(s.MaxResults))
	if s.MinScore > 0 {
		parts = append(parts, "min_score "+strconv.FormatFloat(s.MinScore, 'f', -1, 64))
	}
	return strings.Join(parts, " · ")
}
