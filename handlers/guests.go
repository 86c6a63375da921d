package handlers

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Guests of live rooms: a client contact in a restricted room's audience
// opens the room with a personal link, /guest/{token}, and no account.
// The token names the meeting and the address and is signed with
// HMAC-SHA256; everything a guest does goes through the routes below,
// which carry the token in their path, so no cookie is set and nothing a
// guest holds is a staff session. Each request checks the token, then
// asks SQLite whether the link still holds (store.GuestRoom): the room
// is restricted and has not ended, and the address is in its audience and
// is a contact of the client. Any failure is 404, like a page that does
// not exist.

// GuestKey derives the key that signs invite links from the session keys
// in dataDir, which NewSessionStore makes: no second secret to keep, and
// replacing session.key voids every link with every session.
func GuestKey(dataDir string) ([]byte, error) {
	secret, err := os.ReadFile(filepath.Join(dataDir, "session.key"))
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, secret, nil, "rolodex guest invite links", 32)
}

var b64 = base64.RawURLEncoding

// inviteToken is "<meeting id>.<address, base64url>.<HMAC, base64url>".
func (h *Handler) inviteToken(meetingID int64, email string) string {
	payload := strconv.FormatInt(meetingID, 10) + "." + b64.EncodeToString([]byte(email))
	return payload + "." + b64.EncodeToString(h.inviteMAC(payload))
}

func (h *Handler) inviteMAC(payload string) []byte {
	mac := hmac.New(sha256.New, h.GuestKey)
	mac.Write([]byte(payload))
	return mac.Sum(nil)
}

// readInvite returns the meeting and address a token names when this
// server signed it.
func (h *Handler) readInvite(token string) (meetingID int64, email string, ok bool) {
	if len(h.GuestKey) == 0 {
		return 0, "", false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return 0, "", false
	}
	sig, err := b64.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(sig, h.inviteMAC(token[:i])) {
		return 0, "", false
	}
	idPart, emailPart, _ := strings.Cut(token[:i], ".")
	meetingID, err1 := strconv.ParseInt(idPart, 10, 64)
	addr, err2 := b64.DecodeString(emailPart)
	if err1 != nil || err2 != nil {
		return 0, "", false
	}
	return meetingID, string(addr), true
}

// inviteURLs fills in the links of a room's guests, for its organiser.
func (h *Handler) inviteURLs(r *http.Request, room *store.Room) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	for i, g := range room.Guests {
		room.Guests[i].URL = scheme + "://" + r.Host + "/guest/" + h.inviteToken(room.MeetingID, g.Email)
	}
}

// guest checks the {token} of a guest route and answers 404 itself when
// the link does not hold. The context it returns renders the room's
// page for the guest (views.WithGuest).
func (h *Handler) guest(w http.ResponseWriter, r *http.Request) (*http.Request, *store.Room, *store.Guest, bool) {
	// The token is in the path: pages must not pass it on to other sites.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	token := r.PathValue("token")
	id, email, ok := h.readInvite(token)
	if !ok {
		h.fail(w, r, store.Errorf(store.ENotFound, "This invitation link is not valid."))
		return r, nil, nil, false
	}
	room, g, err := h.Store.GuestRoom(r.Context(), id, email)
	if err != nil {
		h.fail(w, r, err)
		return r, nil, nil, false
	}
	return r.WithContext(views.WithGuest(r.Context(), "/guest/"+token)), room, g, true
}

// guestPage is the room as a guest sees it: who is here, the chat and
// the video link, nothing else of Rolodex.
func (h *Handler) guestPage(w http.ResponseWriter, r *http.Request) {
	r, room, g, ok := h.guest(w, r)
	if !ok {
		return
	}
	q, err := messageQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	msg, ev, err := h.Store.RoomLastIDs(r.Context(), room.MeetingID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q.UpTo = msg
	v := views.RoomView{Room: room, Filter: q.UserID, After: rooms.Position{Message: msg, Event: ev}.String()}
	if v.Messages, err = h.Store.GuestMessages(r.Context(), g, q); err != nil {
		h.fail(w, r, err)
		return
	}
	if q.UserID != 0 {
		v.FilterName = filterName(room.Participants, v.Messages, q.UserID)
	}
	h.render(w, r, http.StatusOK, views.RoomPage(views.Page{Title: room.Subject, Live: true}, v), nil)
}

// filterName names the person whose messages a page shows, from who is
// here or their messages: a guest may not look up users.
func filterName(people []store.Participant, page *store.MessagePage, id int64) string {
	for _, p := range people {
		if p.UserID == id {
			return p.Name
		}
	}
	for _, m := range page.Items {
		if m.UserID == id {
			return m.Name
		}
	}
	return "one person"
}

func (h *Handler) guestStream(w http.ResponseWriter, r *http.Request) {
	r, room, g, ok := h.guest(w, r)
	if !ok {
		return
	}
	view := func(ctx context.Context) (*store.Room, error) { return h.Store.GuestView(ctx, g) }
	h.stream(w, r, room, streamViewer{member: g.ID, zone: time.UTC, load: view,
		check: func(ctx context.Context) error { _, err := view(ctx); return err }, eachBatch: true})
}

func (h *Handler) guestJoin(w http.ResponseWriter, r *http.Request) {
	r, room, g, ok := h.guest(w, r)
	if !ok {
		return
	}
	joined, err := h.Store.GuestJoin(r.Context(), g)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Rooms.Visit(r.Context(), room.WorkspaceID, room.MeetingID, g.ID)
	if joined {
		h.Rooms.Changed(r.Context(), room.WorkspaceID, room.MeetingID)
	}
	if isHTMX(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	redirect(w, r, "/guest/"+r.PathValue("token"))
}

// guestMessages is the "load earlier" fragment of a guest's page.
func (h *Handler) guestMessages(w http.ResponseWriter, r *http.Request) {
	r, room, g, ok := h.guest(w, r)
	if !ok {
		return
	}
	q, err := messageQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.GuestMessages(r.Context(), g, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.RoomMessages(room.MeetingID, page, q.UserID), nil)
}

// guestPost is the chat form of a guest's page, answered like postMessage.
func (h *Handler) guestPost(w http.ResponseWriter, r *http.Request) {
	r, room, g, ok := h.guest(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.Store.GuestPost(r.Context(), g, r.PostFormValue("body")); err != nil {
		code := store.ErrorCode(err)
		if code == store.EInvalid || code == store.EThrottled {
			h.render(w, r, status(code), views.ChatForm(room.MeetingID, views.FailedForm(r.PostForm, err)), nil)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.Rooms.Changed(r.Context(), room.WorkspaceID, room.MeetingID)
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.ChatForm(room.MeetingID, views.Form{}), nil)
		return
	}
	redirect(w, r, "/guest/"+r.PathValue("token"))
}
