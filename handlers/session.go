package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gorilla/securecookie"
)

// sessionSerializer writes session values as a flat JSON object. Rolodex
// keeps only string keys with int64 or string values (uid, at, flash).
// gob, gorilla's default, compiles a decoder for every cookie it reads:
// about a tenth of a company page's cost. Cookies written as gob before
// this serializer existed are still read, so nobody is signed out.
type sessionSerializer struct{}

func (sessionSerializer) Serialize(src any) ([]byte, error) {
	vals, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session: cannot serialize %T", src)
	}
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("session: key %v is not a string", k)
		}
		switch v.(type) {
		case string, int64:
			out[key] = v
		default:
			return nil, fmt.Errorf("session: value of %q is a %T, want string or int64", key, v)
		}
	}
	return json.Marshal(out)
}

func (sessionSerializer) Deserialize(src []byte, dst any) error {
	vals, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session: cannot deserialize into %T", dst)
	}
	if len(src) == 0 || src[0] != '{' {
		return securecookie.GobEncoder{}.Deserialize(src, dst)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var in map[string]any
	if err := dec.Decode(&in); err != nil {
		return err
	}
	if *vals == nil {
		*vals = make(map[any]any, len(in))
	}
	for k, v := range in {
		switch v := v.(type) {
		case string:
			(*vals)[k] = v
		case json.Number:
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("session: %q is not an integer", k)
			}
			(*vals)[k] = n
		default:
			return fmt.Errorf("session: %q has a %T", k, v)
		}
	}
	return nil
}
