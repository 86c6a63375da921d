package handlers

import (
	"reflect"
	"testing"

	"github.com/gorilla/securecookie"
)

func TestSessionSerializer(t *testing.T) {
	vals := map[any]any{"uid": int64(42), "at": int64(1763800000), "flash": "Company created."}
	b, err := sessionSerializer{}.Serialize(vals)
	if err != nil {
		t.Fatal(err)
	}
	got := map[any]any{}
	if err := (sessionSerializer{}).Deserialize(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vals) {
		t.Errorf("JSON round trip: got %#v, want %#v", got, vals)
	}

	// A cookie written by the gob serializer (before this one) still reads.
	old, err := securecookie.GobEncoder{}.Serialize(vals)
	if err != nil {
		t.Fatal(err)
	}
	got = map[any]any{}
	if err := (sessionSerializer{}).Deserialize(old, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, vals) {
		t.Errorf("gob cookie: got %#v, want %#v", got, vals)
	}

	// What the JSON form cannot carry faithfully is refused, not mangled.
	for _, bad := range []map[any]any{{"n": 1.5}, {"n": 7}, {1: "x"}} {
		if _, err := (sessionSerializer{}).Serialize(bad); err == nil {
			t.Errorf("Serialize(%v): no error", bad)
		}
	}
	for _, bad := range []string{`{"n":1.5}`, `{"n":[1]}`, `{"n":`} {
		if err := (sessionSerializer{}).Deserialize([]byte(bad), &got); err == nil {
			t.Errorf("Deserialize(%s): no error", bad)
		}
	}
}
