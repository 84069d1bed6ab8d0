package statefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/patwatch/patwatch/state"
)

// SyntaxError is malformed JSON at a position in a state file.
type SyntaxError struct {
	Line, Col int // from 1; columns count bytes
	Msg       string
	Truncated bool // the file ended early
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// ContentError is well-formed JSON that is not a valid state, at a
// position in the file.
type ContentError struct {
	Line, Col int // from 1; columns count bytes
	Msg       string
}

func (e *ContentError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// VersionError reports a state file in a format newer than this build
// reads.
type VersionError struct {
	Path            string // the state file; a reader, which has no name for it, leaves it to the caller
	FormatVersion   int    // the file's format
	PatwatchVersion string // the patwatch that wrote it, if it says
}

func (e *VersionError) Error() string {
	by := "a newer patwatch"
	if e.PatwatchVersion != "" {
		by = "patwatch " + e.PatwatchVersion
	}
	return fmt.Sprintf("state file %s was written by %s in format %d; this patwatch reads format ≤ %d; upgrade patwatch",
		e.Path, by, e.FormatVersion, state.FormatVersion)
}

// Hint says what to do.
func (e *VersionError) Hint() string {
	if e.PatwatchVersion != "" {
		return "install patwatch " + e.PatwatchVersion + " or later to use this state file"
	}
	return "install the latest patwatch to use this state file"
}

// valueError is what a format's own decoding of a value, such as a time,
// finds wrong with it. readError puts the value's path before it.
type valueError string

func (e valueError) Error() string { return string(e) }

// readError turns an error of the JSON library into a *SyntaxError or a
// *ContentError at its line and column, with the path of the value in the
// message. Errors from reading the file, and errors of this package, pass
// through.
func readError(in *input, err error) error {
	var (
		ce  *ContentError
		se  *jsontext.SyntacticError
		sem *json.SemanticError
	)
	switch {
	case errors.Is(err, errStopped):
		return errStopped
	case errors.As(err, &ce):
		return ce // perhaps wrapped by the library, from a format's own decoding
	case errors.As(err, &se):
		switch {
		case errors.Is(se.Err, io.ErrUnexpectedEOF):
			e := in.syntaxAt(se.ByteOffset, "unexpected end of input")
			e.Truncated = true
			return e
		case errors.Is(se.Err, jsontext.ErrDuplicateName):
			return in.contentAt(se.ByteOffset, "%s", duplicate(in, se.JSONPointer))
		}
		return in.syntaxAt(se.ByteOffset, "%s", syntaxMessage(in, se))
	case errors.As(err, &sem):
		return in.contentAt(sem.ByteOffset, "%s", semanticMessage(in, sem))
	}
	return err
}

// pathOf renders ptr for a message.
func (in *input) pathOf(ptr jsontext.Pointer) string {
	if in.path != nil {
		return in.path(ptr)
	}
	return strings.Join(slices.Collect(ptr.Tokens()), ".")
}

// prefixed joins a path and a message.
func prefixed(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

// duplicate describes a member name that appears twice in one object.
func duplicate(in *input, ptr jsontext.Pointer) string {
	name := ptr.LastToken()
	parent := in.pathOf(ptr.Parent())
	switch parent {
	case "searches":
		return fmt.Sprintf("searches: duplicate search %q", name)
	case "reports":
		return fmt.Sprintf("reports: duplicate report %q", name)
	}
	return prefixed(parent, fmt.Sprintf("duplicate field %q", name))
}

// syntaxMessage says what is wrong with the JSON text at the error's
// offset, in the words patwatch's messages have always used. The library
// says the same in its own words, which are kept for anything not
// recognised here.
func syntaxMessage(in *input, se *jsontext.SyntacticError) string {
	msg := se.Err.Error()
	off := se.ByteOffset
	found := in.describeAt(off)
	has := func(s string) bool { return strings.Contains(msg, s) }
	switch {
	case msg == "invalid UTF-8":
		return "invalid UTF-8 in string"
	case has("escape sequence"), has("surrogate pair"):
		_, esc, _ := strings.Cut(msg, "`")
		esc, _, _ = strings.Cut(esc, "`")
		return "invalid escape " + esc + " in string"
	case has("(expecting non-control character)"):
		return "control character " + found + " in string"
	case has("in literal"):
		return "invalid literal"
	case has("in number"):
		return "invalid number"
	case has("after object value"), has("after array element"):
		// A number run into more of one, such as 01 or 1.5.5, which the
		// library reads as a number and a stray character.
		if w := in.window(off-1, 2); len(w) == 2 && isNumberByte(w[0]) && isNumberByte(w[1]) {
			return "invalid number"
		}
		if has("after object value") {
			return "want ',' or '}' after an object member, found " + found
		}
		return "want ',' or ']' in an array, found " + found
	case has("after object name"):
		return "want ':' after an object member name, found " + found
	case has("at start of string"):
		return "want a string, found " + found
	case has("at start of value"):
		if w := in.window(off, 1); len(w) == 1 && w[0] == ',' {
			// The library points at a comma that nothing follows.
			next := in.skipSpace(off + 1)
			if w := in.window(next, 1); len(w) == 1 && w[0] == '}' {
				return "want a string after ',', found '}'"
			}
			return "want a value after ',', found " + in.describeAt(next)
		}
		return "want a value, found " + found
	case has("after top-level value"):
		return "unexpected " + found + " after the end of the state"
	}
	return msg
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// semanticMessage says what is wrong with a value of the right syntax but
// the wrong kind, or with an unknown member.
func semanticMessage(in *input, sem *json.SemanticError) string {
	path := in.pathOf(sem.JSONPointer)
	var ve valueError
	switch {
	case errors.Is(sem.Err, json.ErrUnknownName):
		return prefixed(in.pathOf(sem.JSONPointer.Parent()), fmt.Sprintf("unknown field %q", sem.JSONPointer.LastToken()))
	case errors.As(sem.Err, &ve):
		return prefixed(path, ve.Error())
	case sem.JSONKind == '0' && sem.GoType != nil && isInteger(sem.GoType.Kind()):
		return prefixed(path, fmt.Sprintf("%s is not an integer between 0 and %d", sem.JSONValue, maxOf(sem.GoType.Kind())))
	case sem.GoType != nil && sem.JSONKind != 0:
		return prefixed(path, fmt.Sprintf("want %s, found %s", goKindName(sem.GoType), kindName(sem.JSONKind)))
	}
	return prefixed(path, sem.Error())
}

// kindName names a JSON kind for a message.
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "nothing"
}

// goKindName names the JSON that a Go type is read from, for a message.
// It names no type of this package's own.
func goKindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k := t.Kind(); {
	case k == reflect.String:
		return "a string"
	case k == reflect.Bool:
		return "true or false"
	case isInteger(k):
		return "an integer"
	case k == reflect.Struct, k == reflect.Map:
		return "an object"
	case k == reflect.Slice, k == reflect.Array:
		return "an array"
	}
	return t.String()
}

func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uint64
}

// maxOf is the largest value of an integer kind that a state holds.
func maxOf(k reflect.Kind) uint64 {
	if k == reflect.Uint64 {
		return 1<<64 - 1
	}
	return state.MaxCount
}

func (in *input) syntaxAt(off int64, format string, args ...any) *SyntaxError {
	line, col := in.position(off)
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (in *input) contentAt(off int64, format string, args ...any) *ContentError {
	line, col := in.position(off)
	return &ContentError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// The functions below read the file again to describe an error; they are
// never on the path of a successful read.

// position returns the line and column, from 1, of the byte at offset off.
// Columns count bytes.
func (in *input) position(off int64) (line, col int) {
	r := bufio.NewReaderSize(in.open(), 64<<10)
	line, lineStart := 1, int64(0)
	for i := int64(0); i < off; i++ {
		c, err := r.ReadByte()
		if err != nil {
			break
		}
		if c == '\n' {
			line++
			lineStart = i + 1
		}
	}
	return line, int(off-lineStart) + 1
}

// window returns up to n bytes of the file from offset off.
func (in *input) window(off int64, n int) []byte {
	if off < 0 {
		return nil
	}
	r := in.open()
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		return nil
	}
	b := make([]byte, n)
	m, _ := io.ReadFull(r, b)
	return b[:m]
}

// skipSpace returns the offset of the first byte at or after off that is
// not white space.
func (in *input) skipSpace(off int64) int64 {
	r := bufio.NewReader(in.open())
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		return off
	}
	for {
		c, err := r.ReadByte()
		if err != nil || (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return off
		}
		off++
	}
}

// describeAt names the byte at offset off for a message.
func (in *input) describeAt(off int64) string {
	w := in.window(off, 1)
	switch {
	case len(w) == 0:
		return "the end of the file"
	case w[0] >= 0x20 && w[0] < 0x7f:
		return strconv.QuoteRune(rune(w[0]))
	}
	return fmt.Sprintf("byte 0x%02x", w[0])
}
