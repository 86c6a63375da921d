package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/rolodex/rolodex/cache"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// sessionSerializer writes session values as a flat JSON object. Rolodex
// keeps only string keys with int64 or string values (sid, flash).
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

// cachedCodec remembers the values of session cookies it has verified and
// decrypted. The values name a session; whether it is still live is asked
// of SQLite on every request (loadUser), so this cache cannot keep an
// ended session working. A signed-in user sends the same cookie with every request, and
// checking its MAC, decrypting and parsing it was a tenth of a company
// page. The key is the whole cookie as sent, so only a cookie that decoded
// once is ever answered from memory, and an entry lives cookieMemory at
// most: a cookie past its MaxAge stops working at most that much later
// than securecookie alone would stop it.
type cachedCodec struct {
	securecookie.Codec
	decoded *cache.Cache[string, decodedCookie]
}

type decodedCookie struct {
	at   time.Time
	vals map[any]any
}

const cookieMemory = time.Minute

func newCachedCodec(c securecookie.Codec) *cachedCodec {
	return &cachedCodec{Codec: c, decoded: cache.New(4<<20, func(k string, d decodedCookie) int { return 2*len(k) + 64*len(d.vals) })}
}

func (c *cachedCodec) Decode(name, value string, dst any) error {
	vals, ok := dst.(*map[any]any)
	if !ok {
		return c.Codec.Decode(name, value, dst)
	}
	key := name + "=" + value
	if d, ok := c.decoded.Get(key); ok && time.Since(d.at) < cookieMemory {
		*vals = maps.Clone(d.vals) // the session may change its copy
		return nil
	}
	if err := c.Codec.Decode(name, value, dst); err != nil {
		return err
	}
	c.decoded.Put(key, decodedCookie{at: time.Now(), vals: maps.Clone(*vals)})
	return nil
}

// listSessions shows the signed-in user's sessions, each with a button
// that ends it, and "Sign out everywhere" (GET /me/sessions).
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request) {
	list, err := h.Store.Sessions(r.Context(), userFrom(r.Context()).ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current := currentSession(r.Context()).ID
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, sessionList{Items: list, Current: current})
		return
	}
	h.render(w, r, http.StatusOK, views.SessionsPage(h.page(r, "Sessions"), list, current), nil)
}

// sessionList is GET /me/sessions as JSON: the sessions and the id of the
// one asking.
type sessionList struct {
	Items   []store.Session `json:"items"`
	Current int64           `json:"current"`
}

// ended answers a request that ended sessions: 204 to JSON, otherwise a
// redirect to target.
func ended(w http.ResponseWriter, r *http.Request, target string) {
	if wantsJSON(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	redirect(w, r, target)
}

// endSession ends one of the user's sessions; ending the current one is
// signing out.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil && id == currentSession(r.Context()).ID {
		if err := h.signOut(w, r, ""); err != nil {
			h.fail(w, r, err)
			return
		}
		ended(w, r, "/login")
		return
	}
	if err == nil {
		err = h.Store.EndSession(r.Context(), userFrom(r.Context()).ID, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !wantsJSON(r) {
		h.flash(w, r, "Session ended.")
	}
	ended(w, r, "/me/sessions")
}

// endSessions is "Sign out everywhere": it ends every session of the user,
// this one included, so that whoever holds any of them, however they got
// it, is out; the user signs in again here.
func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.EndSessions(r.Context(), userFrom(r.Context()).ID); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.signOut(w, r, "Signed out everywhere. Sign in again to continue."); err != nil {
		h.fail(w, r, err)
		return
	}
	ended(w, r, "/login")
}
