package notify

import "github.com/patwatch/patwatch/state"

// EmailHTML renders the HTML part of m's e-mail: the seam for the HTML
// report (issue 14's "query image and hit drawings inline"). It returns ""
// until that renderer exists, and e-mail is plain text only; once it does,
// this builds its page from m's events (a message is resent from the state,
// so the page must come from the message, not from the run's change
// report) and every e-mail channel gets it as its HTML part.
func EmailHTML(m *state.Message) string { return "" }
