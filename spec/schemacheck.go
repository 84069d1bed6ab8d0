package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"gopkg.in/yaml.v3"

	"github.com/patwatch/patwatch/internal/patsnap"
	"github.com/patwatch/patwatch/internal/suggest"
)

// validateSchema checks v against the embedded schema and records one
// problem per failed leaf, worded from the schema itself (its enums, bounds
// and patternErrorMessage) rather than the validator's generic text.
func (l *loader) validateSchema(v any) {
	sch, err := l.doc.schema()
	if err != nil {
		// The schema is embedded and compiled in tests; this is a build defect.
		l.addAt(1, 1, "", fmt.Sprintf("internal error: %v", err), "")
		return
	}
	var raw map[string]any
	if err := json.Unmarshal(l.doc.schemaRaw(), &raw); err != nil {
		l.addAt(1, 1, "", fmt.Sprintf("internal error: %s schema: %v", l.doc.noun, err), "")
		return
	}
	verr := sch.Validate(v)
	if verr == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		l.addAt(1, 1, "", fmt.Sprintf("internal error: %v", verr), "")
		return
	}
	for _, leaf := range leaves(ve, nil) {
		if restated(leaf) {
			continue
		}
		l.schemaProblem(leaf, v, raw)
	}
}

// restated reports whether a failed schema rule is one that build checks
// too, in better words and with a hint: every rule the schema writes in
// anyOf, allOf or if/then (the either/or pairs, an interval's floor, a
// date's month and day, the rules of URLs, NaN) and the duplicate images of
// a search, and the form of a decision's patent number (propertyNames),
// which build locates at the key. The schema states them for editors, each with an errorMessage
// in validate's words; validate reports them once, from build (or, for
// NaN, from sanitize).
func restated(leaf *jsonschema.ValidationError) bool {
	_, frag, _ := strings.Cut(leaf.AbsoluteKeywordLocation, "#")
	toks := pointerTokens(frag)
	for i, t := range toks {
		switch t {
		case "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "propertyNames":
			return true
		case "uniqueItems":
			return i > 0 && toks[i-1] == "images"
		}
	}
	return false
}

func leaves(ve *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(ve.Causes) == 0 {
		return append(out, ve)
	}
	for _, c := range ve.Causes {
		out = leaves(c, out)
	}
	return out
}

// pointerTokens splits a JSON pointer as jsonschema/v5 writes it: tokens are
// ~-escaped and then URL-path-escaped.
func pointerTokens(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, raw := range parts {
		tok, err := url.PathUnescape(raw)
		if err != nil {
			tok = raw
		}
		if strings.Contains(tok, "~") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		}
		parts[i] = tok
	}
	return parts
}

// lookup follows tokens through decoded JSON or YAML values.
func lookup(v any, toks []string) (any, bool) {
	for _, t := range toks {
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[t]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func (l *loader) schemaProblem(leaf *jsonschema.ValidationError, v any, raw map[string]any) {
	ptr := pointerTokens(leaf.InstanceLocation)
	_, frag, _ := strings.Cut(leaf.AbsoluteKeywordLocation, "#")
	kwToks := pointerTokens(frag)
	if len(kwToks) == 0 {
		l.add(ptr, leaf.Message, "")
		return
	}
	keyword := kwToks[len(kwToks)-1]
	parent, _ := lookup(any(raw), kwToks[:len(kwToks)-1])
	sch, _ := parent.(map[string]any)
	val, _ := lookup(v, ptr)
	node, _, _ := l.resolve(ptr)
	field := ""
	if len(ptr) > 0 {
		field = ptr[len(ptr)-1]
	}

	switch keyword {
	case "required":
		obj, _ := val.(map[string]any)
		req, _ := sch["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; ok {
				continue
			}
			hint := ""
			if len(ptr) == 0 && name == "version" {
				hint = l.doc.versionHint
			}
			l.add(with(ptr, name), "required field is missing", hint)
		}
	case "additionalProperties":
		obj, _ := val.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(obj)) {
			if _, ok := props[name]; ok {
				continue
			}
			if matchesPattern(sch["patternProperties"], name) {
				continue // an extension field (x-…)
			}
			l.addKey(with(ptr, name), "unknown field", unknownFieldHint(name, props, raw))
		}
	case "type":
		if len(ptr) == 0 {
			l.add(ptr, l.doc.noun+" must be a mapping of fields such as "+l.doc.fields+", not "+valueKind(val), l.doc.notMapping)
			return
		}
		if _, isNumber := floatOf(val); isNumber && len(kwToks) >= 2 && kwToks[len(kwToks)-2] == "interval" {
			// YAML read a bare number; quoting it would not make it a duration.
			l.add(ptr, "must be text, not "+valueKind(val), durationHint(val))
			return
		}
		l.add(ptr, "must be "+typeWords(sch["type"])+", not "+valueKind(val), typeHint(node, sch["type"], val))
	case "const":
		msg := fmt.Sprintf("must be %s, not %s", jsonText(sch["const"]), jsonText(val))
		hint := ""
		if str, ok := val.(string); ok && isNumberText(str) {
			msg = fmt.Sprintf("must be the number %s, not the text %s", jsonText(sch["const"]), quoteShort(str))
			hint = "remove the quotes"
		} else if len(ptr) == 1 && field == "version" {
			msg = fmt.Sprintf("unsupported %s version %s; this patwatch reads version 1", l.doc.noun, jsonText(val))
			hint = l.doc.versionWrong
		}
		l.add(ptr, msg, hint)
	case "enum":
		opts, _ := sch["enum"].([]any)
		words := make([]string, len(opts))
		hint := ""
		for i, o := range opts {
			words[i] = jsonText(o)
			if s, ok := val.(string); ok {
				if opt, ok := o.(string); ok && strings.EqualFold(s, opt) {
					hint = fmt.Sprintf("values are case-sensitive: write %s", opt)
				}
			}
		}
		if s, ok := val.(string); ok && hint == "" && isNumberText(s) {
			hint = "remove the quotes: the value is a number"
		}
		if s, ok := val.(string); ok && hint == "" && len(s) > 2 { // not for one-letter codes: D, U
			if best := suggest.Closest(strings.ReplaceAll(s, "-", "_"), stringsOf(opts)); best != "" {
				hint = "did you mean " + best + "?"
			}
		}
		l.add(ptr, fmt.Sprintf("must be one of %s, not %s", strings.Join(words, ", "), jsonText(val)), hint)
	case "pattern":
		msg, _ := sch["patternErrorMessage"].(string)
		if msg == "" {
			msg = fmt.Sprintf("does not match the pattern %s", jsonText(sch["pattern"]))
		}
		if s, ok := val.(string); ok && !(len(ptr) == 2 && ptr[0] == "api") {
			msg += ", not " + quoteShort(s)
		}
		l.add(ptr, msg, "")
	case "minimum":
		l.add(ptr, fmt.Sprintf("must be at least %s, not %s", jsonText(sch["minimum"]), jsonText(val)), "")
	case "maximum":
		hint := ""
		if field == "max_results" {
			hint = fmt.Sprintf("paging reaches at most %d ranked hits (offset %d plus limit %d)", patsnap.MaxReachable, patsnap.MaxOffset, patsnap.MaxPageSize)
		}
		l.add(ptr, fmt.Sprintf("must be at most %s, not %s", jsonText(sch["maximum"]), jsonText(val)), hint)
	case "exclusiveMinimum":
		l.add(ptr, fmt.Sprintf("must be greater than %s, not %s", jsonText(sch["exclusiveMinimum"]), jsonText(val)), "")
	case "minItems":
		hint := ""
		if field == "images" {
			hint = "for a single image, write image: instead of images:"
		}
		l.add(ptr, fmt.Sprintf("needs at least %s entries, not %d", jsonText(sch["minItems"]), lenOf(val)), hint)
	case "maxItems":
		l.add(ptr, fmt.Sprintf("takes at most %s entries, not %d", jsonText(sch["maxItems"]), lenOf(val)), "")
	case "minLength":
		l.add(ptr, "must not be empty", "")
	case "maxLength":
		l.add(ptr, fmt.Sprintf("must be at most %s characters long, not %d", jsonText(sch["maxLength"]), lenOf(val)), "")
	default:
		l.add(ptr, leaf.Message, "")
	}
}

// matchesPattern reports whether name matches one of the patterns of a
// schema's patternProperties.
func matchesPattern(patterns any, name string) bool {
	m, _ := patterns.(map[string]any)
	for p := range m {
		if re, err := regexp.Compile(p); err == nil && re.MatchString(name) {
			return true
		}
	}
	return false
}

// durationHint is the hint for a duration written as a bare number, which
// YAML reads as one: the number read as seconds, with its unit.
func durationHint(val any) string {
	n, ok := intOf(val)
	if !ok || n <= 0 {
		return "write the unit: d, h, m or s"
	}
	return fmt.Sprintf("a duration needs its unit: %d seconds is %s", n, FormatDuration(time.Duration(n)*time.Second))
}

// unknownFieldHint suggests the field the user probably meant.
func unknownFieldHint(name string, props map[string]any, raw map[string]any) string {
	if filters, ok := lookup(any(raw), []string{"$defs", "filters", "properties"}); ok {
		if _, isFilter := filters.(map[string]any)[name]; isFilter {
			if _, here := props["filters"]; here {
				return fmt.Sprintf("%s is a filter: move it under filters:", name)
			}
		}
	}
	if best := suggest.Closest(name, slices.Collect(maps.Keys(props))); best != "" {
		return fmt.Sprintf("did you mean %s?", best)
	}
	return "allowed fields: " + strings.Join(slices.Sorted(maps.Keys(props)), ", ")
}

func typeWords(t any) string {
	word := func(s string) string {
		switch s {
		case "string":
			return "text"
		case "integer":
			return "a whole number"
		case "number":
			return "a number"
		case "boolean":
			return "true or false"
		case "array":
			return "a list"
		case "object":
			return "a mapping"
		}
		return s
	}
	switch t := t.(type) {
	case string:
		return word(t)
	case []any:
		ws := make([]string, len(t))
		for i, e := range t {
			s, _ := e.(string)
			ws[i] = word(s)
		}
		return strings.Join(ws, " or ")
	}
	return "valid"
}

// valueKind names what a decoded YAML value is, for messages.
func valueKind(v any) string {
	switch v := v.(type) {
	case nil:
		return "empty"
	case bool:
		return "a boolean"
	case string:
		return "text"
	case int, int64, uint64:
		return "a whole number"
	case float64:
		if v == float64(int64(v)) {
			return "a whole number"
		}
		return "a number with a fraction"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// typeHint explains YAML's reading of a plain scalar when it was not what the
// schema wants: 20100101 is a number, true is a boolean, an empty value null.
func typeHint(n *yaml.Node, want any, val any) string {
	wantString := want == "string"
	if val == nil {
		return "the field has no value: give it one, or remove the line"
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	if wantString && n.Style == 0 && n.Tag != "!!str" {
		return fmt.Sprintf(`YAML reads %s as %s; quote it to make it text: "%s"`, n.Value, tagName(n.Tag), n.Value)
	}
	if s, ok := val.(string); ok {
		switch want {
		case "integer", "number":
			if isNumberText(s) {
				return "remove the quotes: the value is a number"
			}
		case "boolean":
			switch strings.ToLower(s) {
			case "yes", "no", "on", "off", "y", "n":
				if n.Style == 0 {
					return fmt.Sprintf("YAML 1.2 reads %s as text: write true or false", n.Value)
				}
				return "write true or false, without quotes"
			case "true", "false":
				return "write true or false, without quotes"
			}
		}
	}
	return ""
}

func isNumberText(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// jsonText writes a value as it would appear in the spec.
func jsonText(v any) string {
	switch v := v.(type) {
	case string:
		return quoteShort(v)
	case nil:
		return "empty"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case json.Number:
		return v.String()
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprint(v)
}

// quoteShort quotes s, cut to a length that keeps a message on one line.
func quoteShort(s string) string {
	const max = 48
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

func lenOf(v any) int {
	switch v := v.(type) {
	case []any:
		return len(v)
	case string:
		return len([]rune(v))
	}
	return 0
}

// stringsOf is the strings among vals.
func stringsOf(vals []any) []string {
	var out []string
	for _, v := range vals {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
