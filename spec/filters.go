package spec

import (
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/patwatch/patwatch/internal/patsnap"
)

// filters decodes a search's filters mapping into Filters by the fields'
// JSON names, and runs the checks their filter tags call for: a date must
// exist in the calendar, and a range's end must not come before its start.
// Like the rest of build it reads m defensively: a value of the wrong type
// is skipped, the schema has reported it already.
func (l *loader) filters(ptr []string, m map[string]any) Filters {
	var f Filters
	v := reflect.ValueOf(&f).Elem()
	fields := patsnap.FilterFields()
	dates := map[string]time.Time{}
	for _, ff := range fields {
		raw, ok := m[ff.Name]
		if !ok {
			continue
		}
		dst := v.Field(ff.Index)
		switch ff.Kind {
		case patsnap.FilterText:
			s, ok := raw.(string)
			if !ok {
				continue
			}
			if ff.Date {
				if !dateRE.MatchString(s) {
					continue
				}
				t, err := time.Parse("20060102", s)
				if err != nil {
					l.add(with(ptr, ff.Name), fmt.Sprintf("%s is not a calendar date", s), "write the date as yyyyMMdd, e.g. \"20100131\"")
					continue
				}
				dates[ff.Name] = t
			}
			dst.SetString(s)
		case patsnap.FilterTexts:
			dst.Set(reflect.ValueOf(stringList(raw)))
		case patsnap.FilterCodes:
			dst.Set(reflect.ValueOf(patsnap.Codes(intList(raw))))
		case patsnap.FilterInt:
			if n, ok := intOf(raw); ok {
				dst.Set(reflect.ValueOf(&n))
			}
		default:
			panic(fmt.Sprintf("spec: filter %s has a kind the loader does not decode", ff.Name))
		}
	}
	for _, ff := range fields {
		start, okS := dates[ff.Start]
		end, okE := dates[ff.Name]
		if ff.Start != "" && okS && okE && end.Before(start) {
			l.add(with(ptr, ff.Name), fmt.Sprintf("%s is before %s %s", end.Format("20060102"), ff.Start, start.Format("20060102")),
				"the end of a date range must not come before its start")
		}
	}
	return f
}

var dateRE = regexp.MustCompile(`^[0-9]{8}$`)
