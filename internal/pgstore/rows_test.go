package pgstore

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patwatch/patwatch/state"
)

// TestEveryFieldIsModelled keeps the tables in step with the state's
// types. A field the state gains is kept meanwhile (in extra, under its Go
// name), but users cannot query it, and it fails here until a column
// models it; a field renamed or removed fails here too.
func TestEveryFieldIsModelled(t *testing.T) {
	for _, c := range []struct {
		typ      reflect.Type
		modelled []string
	}{
		{reflect.TypeFor[state.State](), topModelled},
		{reflect.TypeFor[state.Search](), searchModelled},
		{reflect.TypeFor[state.Hit](), hitModelled},
		{reflect.TypeFor[state.Report](), reportModelled},
		{reflect.TypeFor[state.Message](), messageModelled},
		{reflect.TypeFor[state.Event](), eventModelled},
	} {
		fields := allFields(c.typ)
		for _, k := range c.modelled {
			if !slices.Contains(fields, k) {
				t.Errorf("%s has no field %s, which the tables model", c.typ, k)
			}
		}
		for _, k := range allFields(c.typ, c.modelled...) {
			t.Errorf("%s.%s has no column: give it one (schema.go, rows.go, docs/postgres.md); until then it is kept in extra", c.typ, k)
		}
	}
}

// TestExtraRoundTrips is the path a field no column models takes: out of
// the struct by Go name, through canonical form, and back.
func TestExtraRoundTrips(t *testing.T) {
	type later struct {
		Fingerprint string
		RefreshedAt time.Time
		Counters    map[string]int
		Big         uint64
		Note        string
		Zero        int
	}
	in := later{Fingerprint: "f", RefreshedAt: t0.Add(time.Hour), Counters: map[string]int{"b": 2, "a": 1}, Big: 1<<64 - 1, Note: "<&>"}
	extra, err := fieldsJSON(&in, allFields(reflect.TypeFor[later](), "Fingerprint"))
	if err != nil {
		t.Fatal(err)
	}
	if extra, err = canonicalJSON(extra); err != nil {
		t.Fatal(err)
	}
	out := later{Fingerprint: "f"}
	if err := setFieldsJSON(&out, extra); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("read back %+v (%v), want %+v", out, err, in)
	}
	if again, _ := canonicalJSON(extra); string(again) != string(extra) {
		t.Errorf("canonical form is not stable: %s then %s", extra, again)
	}
	if err := setFieldsJSON(&out, []byte(`{"Unknown": 1}`)); err == nil {
		t.Error("a field this build does not know was accepted")
	}
}

func TestOutboxSeqs(t *testing.T) {
	msgs := func(ids ...string) []*state.Message {
		var out []*state.Message
		for _, id := range ids {
			out = append(out, &state.Message{ID: id})
		}
		return out
	}
	old := map[string]messageRow{"a": {seq: 1}, "b": {seq: 2}, "c": {seq: 5}}
	for _, c := range []struct {
		ids  []string
		want []int64
	}{
		{[]string{"a", "b", "c"}, []int64{1, 2, 5}},
		{[]string{"a", "c", "d", "e"}, []int64{1, 5, 6, 7}}, // one delivered, two appended
		{[]string{"b", "x", "c"}, []int64{2, 3, 5}},         // one put in a gap
		{[]string{"a", "x", "b"}, []int64{1, 2, 3}},         // no gap: all renumbered
		{[]string{"c", "a"}, []int64{5, 6}},                 // an older one after a newer: a new seq
		{nil, []int64{}},
	} {
		if got := outboxSeqs(old, msgs(c.ids...)); !slices.Equal(got, c.want) {
			t.Errorf("%v: seqs %v, want %v", c.ids, got, c.want)
		}
	}
}
