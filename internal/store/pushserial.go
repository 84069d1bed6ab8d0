package store

import (
	"bytes"
	"fmt"

	"github.com/patwatch/patwatch/state"
	"github.com/patwatch/patwatch/state/statefile"
)

// PushRefusal is why PushSerial refuses to put a state in the place of
// another.
type PushRefusal int

// The refusals of PushSerial.
const (
	// PushOtherLineage: the pushed state is another state.
	PushOtherLineage PushRefusal = iota + 1
	// PushOtherContent: the pushed state has the current serial but not
	// the current content: one of the two was edited.
	PushOtherContent
	// PushOlder: the pushed state has a lower serial than the current one.
	PushOlder
)

// PushError reports a push that PushSerial refused. Target and Source name
// the state replaced and the state pushed in its message; PushSerial
// leaves them empty, for its caller to fill in.
type PushError struct {
	Refusal        PushRefusal
	Target, Source string
	// The lineage and serial of the state the target holds, and of the
	// pushed one.
	CurrentLineage, PushedLineage string
	CurrentSerial, PushedSerial   uint64
}

func (e *PushError) Error() string {
	switch e.Refusal {
	case PushOtherLineage:
		return fmt.Sprintf("%s has lineage %s, %s has %s: they are different states; not replacing it",
			e.Target, e.CurrentLineage, e.Source, e.PushedLineage)
	case PushOtherContent:
		return fmt.Sprintf("%s holds other content at serial %d, the serial of %s; not replacing it", e.Target, e.CurrentSerial, e.Source)
	}
	return fmt.Sprintf("%s is at serial %d, and %s at %d: it is older; not replacing the newer state",
		e.Target, e.CurrentSerial, e.Source, e.PushedSerial)
}

// Hint says what to do.
func (e *PushError) Hint() string {
	return "pass --force to replace it anyway; 'patwatch state pull' saves the current state first"
}

// PushSerial decides the serial at which pushed replaces cur, the state a
// store holds (nil: none yet), or refuses with a *PushError. It refuses a
// state of another lineage, or one older than cur (a lower serial, or the
// same serial with other content), unless force. A forced push gets the
// serial after cur's, so that serials never go back and a store that keeps
// every serial keeps the one replaced. It returns cur.Serial when cur is
// the pushed state already: there is nothing to write.
//
// Content is everything but the serial and the patwatch version, as for a
// save.
func PushSerial(cur, pushed *state.State, force bool) (uint64, error) {
	if cur == nil {
		return pushed.Serial, nil
	}
	refuse := func(r PushRefusal) (uint64, error) {
		return 0, &PushError{Refusal: r, CurrentLineage: cur.Lineage, PushedLineage: pushed.Lineage,
			CurrentSerial: cur.Serial, PushedSerial: pushed.Serial}
	}
	switch {
	case cur.Lineage != pushed.Lineage && !force:
		return refuse(PushOtherLineage)
	case cur.Lineage != pushed.Lineage:
		return max(pushed.Serial, cur.Serial+1), nil
	case pushed.Serial > cur.Serial:
		return pushed.Serial, nil
	}
	same, err := sameContent(cur, pushed)
	if err != nil {
		return 0, err
	}
	switch {
	case pushed.Serial == cur.Serial && same:
		return cur.Serial, nil
	case !force && pushed.Serial == cur.Serial:
		return refuse(PushOtherContent)
	case !force:
		return refuse(PushOlder)
	}
	return cur.Serial + 1, nil
}

// sameContent reports whether a and b hold the same content: the same
// bytes but for the serial and the patwatch version.
func sameContent(a, b *state.State) (bool, error) {
	ab, err := statefile.Marshal(a)
	if err != nil {
		return false, err
	}
	like := *b
	like.Serial, like.PatwatchVersion = a.Serial, a.PatwatchVersion
	bb, err := statefile.Marshal(&like)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ab, bb), nil
}
