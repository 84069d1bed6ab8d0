package notify

import (
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest line, in bytes, an e-mail may carry: RFC 5321
// allows 998 and a CRLF, and shoutrrr sends its parts as they are, with no
// transfer encoding, so a longer line makes servers refuse the message
// (go-smtp: "too long a line"). A few bytes are kept for the CRLF.
const MaxLine = 990

// wrapLines breaks every line of s longer than max bytes so that none is:
// at the latest space (which becomes the line break) or point inside a
// data: URL's base64 (a URL's parser drops line breaks, and base64
// decoding any white space), else between two characters. In HTML a break at a space reads
// as the space did; between two characters it reads as a space, which only
// a word of max bytes with no space in it can need.
func wrapLines(s string, max int) string {
	if max <= 0 {
		return s
	}
	var b strings.Builder
	for line := range strings.SplitAfterSeq(s, "\n") {
		body := strings.TrimSuffix(line, "\n")
		for len(body) > max {
			cut, drop := breakAt(body, max)
			b.WriteString(body[:cut])
			b.WriteByte('\n')
			body = body[cut+drop:]
		}
		b.WriteString(body)
		if strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// breakAt is where to break line, longer than max, so that its first part
// is at most max bytes: cut is that part's length and drop how many bytes
// the break replaces (1 for a space, 0 otherwise).
func breakAt(line string, max int) (cut, drop int) {
	// The latest point will do, at a space or inside a base64 run after
	// "base64,".
	if i := strings.LastIndexByte(line[:max+1], ' '); i > 0 {
		cut, drop = i, 1
	}
	if i := strings.LastIndex(line[:max], "base64,"); i >= 0 {
		run := i + len("base64,")
		end := run
		for end < max && isBase64(line[end]) {
			end++
		}
		if end > run && end > cut {
			cut, drop = end, 0
		}
	}
	if cut > 0 {
		return cut, drop
	}
	cut = max
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	if cut == 0 {
		cut = max
	}
	return cut, 0
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
