package spec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// durationRE is the contract's duration syntax: whole numbers with units
// d (24 h), h, m and s, such as 30m, 6h, 1h30m or 7d.
var durationRE = regexp.MustCompile(`^([0-9]+[dhms])+$`)

// ParseDuration reads a duration in the contract's syntax (whole numbers
// with units d, h, m, s: "30m", "6h", "1h30m", "7d"). The spec and every
// duration flag read durations through it.
func ParseDuration(s string) (time.Duration, error) {
	if !durationRE.MatchString(s) {
		return 0, fmt.Errorf("%q is not a duration such as 30m, 6h, 1h30m or 7d", s)
	}
	var total time.Duration
	n := int64(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if n > (math.MaxInt64-int64(c-'0'))/10 {
				return 0, errTooLong(s)
			}
			n = n*10 + int64(c-'0')
			continue
		}
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'h': time.Hour, 'm': time.Minute, 's': time.Second}[c]
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, errTooLong(s)
		}
		total += time.Duration(n) * unit
		n = 0
	}
	return total, nil
}

func errTooLong(s string) error {
	return errors.New(quoteShort(s) + " is longer than patwatch can count (about 290 years)")
}

// FormatDuration writes d in the contract's syntax, the inverse of
// ParseDuration for whole seconds: 7d, 1h30m, 45s.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	d = d.Truncate(time.Second)
	var out []byte
	for _, u := range []struct {
		unit time.Duration
		c    byte
	}{{24 * time.Hour, 'd'}, {time.Hour, 'h'}, {time.Minute, 'm'}, {time.Second, 's'}} {
		if n := d / u.unit; n > 0 {
			out = fmt.Appendf(out, "%d%c", n, u.c)
			d -= n * u.unit
		}
	}
	return string(out)
}
