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

type countingCodec struct {
	securecookie.Codec
	decodes int
}

func (c *countingCodec) Decode(name, value string, dst any) error {
	c.decodes++
	return c.Codec.Decode(name, value, dst)
}

// TestCachedCodec: a cookie that decoded once is answered from memory, as
// a copy, for cookieMemory at most; one that does not decode never is.
func TestCachedCodec(t *testing.T) {
	sc := securecookie.New(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32)).SetSerializer(sessionSerializer{})
	under := &countingCodec{Codec: sc}
	c := newCachedCodec(under)
	value, err := c.Encode("rolodex", map[any]any{"uid": int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		got := map[any]any{}
		if err := c.Decode("rolodex", value, &got); err != nil || got["uid"] != int64(7) {
			t.Fatalf("decode %d: %v %v", i, got, err)
		}
		got["flash"] = "changed by the request" // must not leak into the cache
	}
	if under.decodes != 1 {
		t.Errorf("%d real decodes for one cookie, want 1", under.decodes)
	}
	got := map[any]any{}
	c.Decode("rolodex", value, &got)
	if _, ok := got["flash"]; ok {
		t.Error("a change to a decoded session leaked into the cache")
	}

	// Tampered: refused every time, never remembered.
	bad := value[:len(value)-2] + "xx"
	for i := 0; i < 2; i++ {
		if err := c.Decode("rolodex", bad, &map[any]any{}); err == nil {
			t.Fatal("a tampered cookie decoded")
		}
	}
	if under.decodes != 3 {
		t.Errorf("%d real decodes, want 3 (the tampered cookie each time)", under.decodes)
	}

	// An entry older than cookieMemory is checked again.
	key := "rolodex=" + value
	d, _ := c.decoded.Get(key)
	d.at = d.at.Add(-2 * cookieMemory)
	c.decoded.Put(key, d)
	if err := c.Decode("rolodex", value, &map[any]any{}); err != nil {
		t.Fatal(err)
	}
	if under.decodes != 4 {
		t.Errorf("%d real decodes, want 4 (the old entry checked again)", under.decodes)
	}
}
