// Package jobid owns the one rule for the id of a PatSnap report job
// (R002): the exact decimal text of a non-negative integer, as the API sends
// it (a bare JSON number above 2^53, or a string holding one). The client
// accepts from the API only ids this package accepts, and the state file
// holds only such ids, so an id that arrives can always be saved and sent
// back.
package jobid

import (
	"errors"
	"fmt"
)

// MaxLen bounds an id's length; real ids are 19 digits.
const MaxLen = 40

// Check reports why s is not a job id, or nil if it is one.
func Check(s string) error {
	switch {
	case s == "":
		return errors.New("empty job id")
	case len(s) > MaxLen:
		return fmt.Errorf("job id of %d characters; at most %d", len(s), MaxLen)
	case len(s) > 1 && s[0] == '0':
		return errors.New("job id has a leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return errors.New("job id is not a decimal number")
		}
	}
	return nil
}
