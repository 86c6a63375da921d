package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Live meeting rooms: the room page and its SSE stream, and the JSON API.
// Routes that both a page and an API client use answer JSON to the API
// (wantsJSON) and a page or redirect otherwise. Client security and the
// room's rules are the store's; this file tells the hub (package rooms)
// what changed, so that streams here and in other processes catch up.

// roomID reads the meeting id of a room route.
func roomID(r *http.Request) (*store.User, int64, error) {
	id, err := pathID(r, "id")
	return userFrom(r.Context()), id, err
}

// isAPI reports whether r came over the JSON API, whose participants stay
// present by their requests (rooms.Hub.Touch) rather than by a stream.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// roomDone answers a successful room action: the room as JSON, or back to
// the room page.
func (h *Handler) roomDone(w http.ResponseWriter, r *http.Request, u *store.User, id int64) {
	if !wantsJSON(r) {
		redirect(w, r, "/meetings/"+strconv.FormatInt(id, 10)+"/room")
		return
	}
	room, err := h.Store.Room(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.inviteURLs(r, room)
	writeJSON(w, http.StatusOK, room)
}

func (h *Handler) apiLiveRooms(w http.ResponseWriter, r *http.Request) {
	live, err := h.Store.LiveRooms(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": live})
}

func (h *Handler) apiRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Who is there and the call's link are for those who may join.
	room, err := h.Store.EnterRoom(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, p := range room.Participants {
		if p.UserID == u.ID {
			h.Rooms.Touch(r.Context(), u.WorkspaceID, id, u.ID)
		}
	}
	h.inviteURLs(r, room)
	writeJSON(w, http.StatusOK, room)
}

func (h *Handler) apiSetRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in store.RoomInput
	if err := decodeJSON(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	room, err := h.Store.SetRoom(r.Context(), u, id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Guests taken out of the room by the new audience.
	h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	h.inviteURLs(r, room)
	writeJSON(w, http.StatusOK, room)
}

func (h *Handler) openRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err == nil {
		_, err = h.Store.OpenRoom(r.Context(), u, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Rooms.Rescheduled(r.Context(), u.WorkspaceID, id)
	h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	h.roomDone(w, r, u, id)
}

// extendRoom moves the closing time: JSON {"closes_at": unix ms or RFC
// 3339}, or the page's form, minutes=15 past the current closing time.
func (h *Handler) extendRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var closes int64
	if wantsJSON(r) {
		var in struct {
			ClosesAt json.RawMessage `json:"closes_at"`
		}
		if err := decodeJSON(r, &in); err != nil {
			h.fail(w, r, err)
			return
		}
		p := store.Problems{}
		if t := jsonTime(p, "closes_at", in.ClosesAt); t != nil {
			closes = *t
		} else {
			p.Add("closes_at", "Give the new closing time.")
		}
		if err := p.Err(); err != nil {
			h.fail(w, r, err)
			return
		}
	} else {
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		minutes, err := strconv.Atoi(r.PostFormValue("minutes"))
		if err != nil || minutes <= 0 || minutes > 24*60 {
			h.fail(w, r, &store.Error{Code: store.EInvalid, Message: "Extend by 1 to 1,440 minutes.", Fields: map[string]string{"minutes": "Extend by 1 to 1,440 minutes."}})
			return
		}
		room, err := h.Store.Room(r.Context(), u, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		closes = max(room.ClosesAt, time.Now().UnixMilli()) + int64(minutes)*60000
	}
	if _, err := h.Store.ExtendRoom(r.Context(), u, id, closes); err != nil {
		h.fail(w, r, err)
		return
	}
	h.Rooms.Rescheduled(r.Context(), u.WorkspaceID, id)
	h.roomDone(w, r, u, id)
}

func (h *Handler) endRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err == nil {
		_, err = h.Store.EndRoom(r.Context(), u, id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Rooms.Ended(r.Context(), u.WorkspaceID, id)
	h.roomDone(w, r, u, id)
}

// joinRoom: an API client stays present by its requests; a page by its
// stream, which it opens right after (Visit bridges the gap).
func (h *Handler) joinRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	joined, err := h.Store.JoinRoom(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if isAPI(r) {
		h.Rooms.Touch(r.Context(), u.WorkspaceID, id, u.ID)
	} else {
		h.Rooms.Visit(r.Context(), u.WorkspaceID, id, u.ID)
	}
	if joined {
		h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	}
	if isHTMX(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.roomDone(w, r, u, id)
}

func (h *Handler) leaveRoom(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	left, err := h.Store.LeaveRoom(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if left {
		h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	}
	h.roomDone(w, r, u, id)
}

func (h *Handler) removeParticipant(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A guest's id is negative (store.GuestID).
	uid, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil || uid == 0 {
		h.fail(w, r, notFound)
		return
	}
	left, err := h.Store.RemoveParticipant(r.Context(), u, id, uid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if left {
		h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	}
	h.roomDone(w, r, u, id)
}

// messageQuery reads user_id, cursor and limit.
func messageQuery(r *http.Request) (store.MessageQuery, error) {
	q := r.URL.Query()
	mq := store.MessageQuery{Cursor: q.Get("cursor")}
	p := store.Problems{}
	if s := q.Get("user_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id == 0 { // a guest's is negative (store.GuestID)
			p.Add("user_id", "Give a user id.")
		}
		mq.UserID = id
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			p.Add("limit", "Give a positive number.")
		}
		mq.Limit = n
	}
	return mq, p.Err()
}

// roomMessages is a page of chat: JSON for the API, the "load earlier"
// fragment for the page.
func (h *Handler) roomMessages(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q, err := messageQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.RoomMessages(r.Context(), u, id, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !wantsJSON(r) {
		h.render(w, r, http.StatusOK, views.RoomMessages(id, page, q.UserID), nil)
		return
	}
	if in, err := h.Store.IsParticipant(r.Context(), id, u.ID); err == nil && in {
		h.Rooms.Touch(r.Context(), u.WorkspaceID, id, u.ID)
	}
	writeJSON(w, http.StatusOK, page)
}

// postMessage: JSON {"body"} for the API; the page's chat form otherwise,
// answered with a fresh form, or the form with its error (422, 429).
func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body string
	if wantsJSON(r) {
		var in struct {
			Body string `json:"body"`
		}
		if err := decodeJSON(r, &in); err != nil {
			h.fail(w, r, err)
			return
		}
		body = in.Body
	} else {
		if err := parseForm(r); err != nil {
			h.fail(w, r, err)
			return
		}
		body = r.PostFormValue("body")
	}
	m, err := h.Store.PostMessage(r.Context(), u, id, body)
	if err != nil {
		code := store.ErrorCode(err)
		if !wantsJSON(r) && (code == store.EInvalid || code == store.EThrottled) {
			h.render(w, r, status(code), views.ChatForm(id, views.FailedForm(r.PostForm, err)), nil)
			return
		}
		h.fail(w, r, err)
		return
	}
	h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	if wantsJSON(r) {
		if isAPI(r) {
			h.Rooms.Touch(r.Context(), u.WorkspaceID, id, u.ID)
		}
		writeJSON(w, http.StatusCreated, m)
		return
	}
	if isHTMX(r) {
		h.render(w, r, http.StatusOK, views.ChatForm(id, views.Form{}), nil)
		return
	}
	redirect(w, r, "/meetings/"+strconv.FormatInt(id, 10)+"/room")
}

func (h *Handler) apiRoomEvents(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	page, err := h.Store.RoomEvents(r.Context(), u, id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// roomPage is the live room. A viewer of the client who is not in a
// restricted room's audience gets 403 naming the organiser.
func (h *Handler) roomPage(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	q, err := messageQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The page shows the room as of one stream position, and the stream
	// starts there: nothing is missed or shown twice in between. (The
	// ids say nothing to a viewer who may not see the room.)
	msg, ev, err := h.Store.RoomLastIDs(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	room, err := h.Store.EnterRoom(ctx, u, id)
	if store.ErrorCode(err) == store.EForbidden {
		err = store.Errorf(store.EForbidden, "This room is restricted to the people its organiser invited. %s", h.organiser(ctx, u, room))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q.UpTo = msg
	v := views.RoomView{Room: room, Filter: q.UserID, After: rooms.Position{Message: msg, Event: ev}.String()}
	if v.Messages, err = h.Store.RoomMessages(ctx, u, id, q); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Store.Company(ctx, u, room.CompanyID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.CompanyName = c.Name
	if q.UserID != 0 {
		v.FilterName = filterName(room.Participants, v.Messages, q.UserID)
		if other, err := h.Store.Colleague(ctx, u, q.UserID); err == nil {
			v.FilterName = other.Name
		}
	}
	if room.CanManage {
		h.inviteURLs(r, room)
		v.Settings = views.RoomSettingsValues(room)
		events, err := h.Store.RoomEvents(ctx, u, id, "", 500)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// Later events come over the stream.
		for _, e := range events.Items {
			if e.ID <= ev {
				v.Events = append(v.Events, e)
			}
		}
	}
	p := h.page(r, room.Subject)
	p.Live = true
	h.render(w, r, http.StatusOK, views.RoomPage(p, v), nil)
}

// roomSettings saves the settings form: access, the audience (one
// address a line, or separated by commas) and the video link.
func (h *Handler) roomSettings(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err == nil {
		err = parseForm(r)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "access", "audience", "video_url")
	in := store.RoomInput{Access: f.Values["access"], VideoURL: f.Values["video_url"], Audience: splitAddresses(f.Values["audience"])}
	room, err := h.Store.SetRoom(r.Context(), u, id, in)
	if err == nil {
		h.Rooms.Changed(r.Context(), u.WorkspaceID, id)
	}
	switch {
	case invalid(err):
		h.render(w, r, http.StatusUnprocessableEntity, views.RoomSettingsForm(id, nil, withErr(f, err)), nil)
	case err != nil:
		h.fail(w, r, err)
	case isHTMX(r):
		saved := views.RoomSettingsValues(room)
		saved.Values["saved"] = "1"
		h.inviteURLs(r, room)
		h.render(w, r, http.StatusOK, views.RoomSettingsForm(id, room.Guests, saved), nil)
	default:
		h.roomDone(w, r, u, id)
	}
}

// splitAddresses reads addresses typed one a line, or separated by commas
// or semicolons.
func splitAddresses(s string) []string {
	return strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' || c == ';' })
}

func (h *Handler) organiser(ctx context.Context, u *store.User, room *store.Room) string {
	if room == nil || room.OwnerID == nil {
		return ""
	}
	o, err := h.Store.Colleague(ctx, u, *room.OwnerID)
	if err != nil {
		return ""
	}
	return "Ask its organiser, " + o.Name + " (" + o.Email + "), to add you."
}

// streamHeartbeat is how often an idle stream writes a comment, so that a
// dead client is noticed and proxies keep the connection.
const streamHeartbeat = 15 * time.Second

// roomStream follows a room over SSE. Every event's id is the stream
// position after it; a client that reconnects with Last-Event-ID, or with
// ?after= (the htmx extension rebuilds its EventSource without the
// header), gets what it missed, once. The connection also keeps its user
// present in the room until it closes.
func (h *Handler) roomStream(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	room, err := h.Store.EnterRoom(r.Context(), u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A stream makes no new requests, so it asks again itself whether its
	// session is live and its user may still enter (streamRecheck).
	token, _ := h.cookieSession(r).Values["sid"].(string)
	h.stream(w, r, room, streamViewer{
		member: u.ID,
		zone:   u.Location(),
		load:   func(ctx context.Context) (*store.Room, error) { return h.Store.Room(ctx, u, id) },
		check: func(ctx context.Context) error {
			_, now, err := h.Store.SessionUser(ctx, token)
			if err == nil {
				_, err = h.Store.EnterRoom(ctx, now, id)
			}
			return err
		},
	})
}

// streamViewer is who a stream serves: a user, or a guest.
type streamViewer struct {
	member int64          // a user's id, or a guest's store.GuestID
	zone   *time.Location // times are written in it
	// load reads the room anew as the viewer sees it.
	load func(context.Context) (*store.Room, error)
	// check fails once the viewer may no longer follow the room; it runs
	// every streamRecheck, and before each batch when eachBatch is set (a
	// guest, whose check is cheap and whose removal must be felt at once).
	check     func(context.Context) error
	eachBatch bool
}

// stream follows room over SSE for v.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, room *store.Room, v streamViewer) {
	ctx, id, ws := r.Context(), room.MeetingID, room.WorkspaceID
	pos, ok := rooms.ParsePosition(r.Header.Get("Last-Event-ID"))
	if !ok {
		pos, ok = rooms.ParsePosition(r.URL.Query().Get("after"))
	}
	if !ok {
		m, e, err := h.Store.RoomLastIDs(ctx, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		pos = rooms.Position{Message: m, Event: e}
	}
	// A stream lives as long as the page: the server's WriteTimeout
	// (main.go) would cut it. It lifts its own write deadline; a dead
	// client is noticed by the heartbeat's failed write instead.
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	// Times in the viewer's zone, as on the page.
	ctx = views.WithZone(ctx, v.zone)
	if room.State == store.RoomEnded {
		// Nothing more will happen: say so, and stop the client coming
		// back (it closes on "ended").
		var buf bytes.Buffer
		if err := h.streamEnded(ctx, &buf, pos.String(), v.load); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return
	}
	sub, err := h.Rooms.Subscribe(ctx, ws, id, pos)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	conn := h.Rooms.Connect(ctx, ws, id, v.member)
	end := func() {
		conn.Close()
		sub.Close()
	}
	if r.ProtoMajor == 1 {
		// No chunking: the body runs until the connection closes (as the
		// SSE specification recommends), so the stream can go on over
		// the bare connection (detach).
		hdr.Set("Transfer-Encoding", "identity")
	}
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	if err := rc.Flush(); err != nil {
		end()
		return
	}
	out, ctx, detached := detach(ctx, w, r, rc)
	if !detached {
		defer end()
		h.follow(ctx, out, sub, room, v)
		return
	}
	go func() {
		defer out.close()
		defer end()
		h.follow(ctx, out, sub, room, v)
	}()
}

// streamWriteTimeout is how long a stream's client has to take what is
// written to it; one that stops reading is dropped.
const streamWriteTimeout = 10 * time.Second

// streamOut is where a stream writes: the ResponseWriter, or the bare
// connection once detached.
type streamOut struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	conn net.Conn // when detached
}

func (o streamOut) send(p []byte) error {
	if o.conn != nil {
		o.conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		_, err := o.conn.Write(p)
		return err
	}
	if _, err := o.w.Write(p); err != nil {
		return err
	}
	return o.rc.Flush()
}

func (o streamOut) close() {
	if o.conn != nil {
		o.conn.Close()
	}
}

// detach takes an HTTP/1 stream's connection from net/http, so that an
// idle stream holds a goroutine and a socket rather than net/http's
// serving state (its buffers, the request, a second goroutine): about
// half of what an idle connection costs (make bench). The returned
// context ends when the client goes away, which a read of the bare
// connection notices at once, so presence still follows a closed tab; it
// carries only what rendering needs (views.Carry), since the request's
// context keeps the request, and through it net/http's state, alive (and
// ends when the handler returns). Where the connection cannot be taken
// (HTTP/2), the stream stays on w.
func detach(ctx context.Context, w http.ResponseWriter, r *http.Request, rc *http.ResponseController) (streamOut, context.Context, bool) {
	if r.ProtoMajor != 1 {
		return streamOut{w: w, rc: rc}, ctx, false
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return streamOut{w: w, rc: rc}, ctx, false
	}
	conn.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(views.Carry(ctx, context.Background()))
	go func() {
		defer cancel()
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
		}
	}()
	return streamOut{conn: conn}, ctx, true
}

// follow writes a room's news to a stream until the client goes, the room
// ends, the viewer may no longer follow it, or the hub stops.
func (h *Handler) follow(ctx context.Context, out streamOut, sub *rooms.Sub, room *store.Room, v streamViewer) {
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	recheck := time.NewTicker(streamRecheck)
	defer recheck.Stop()
	var buf bytes.Buffer
	for {
		items, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.Log.Warn("room stream", "room", room.MeetingID, "err", err)
			}
			return
		}
		if v.eachBatch && len(items) > 0 && v.check(ctx) != nil {
			return
		}
		ended := false
		for _, it := range items {
			if err := h.streamItem(ctx, &buf, room, v.load, it); err != nil {
				h.Log.Warn("room stream render", "room", room.MeetingID, "err", err)
				return
			}
			ended = ended || it.Event != nil && it.Event.Kind == store.EventEnded
		}
		if buf.Len() > 0 {
			if err := out.send(buf.Bytes()); err != nil || ended {
				return
			}
			buf.Reset()
		}
		select {
		case <-ctx.Done():
			return
		case <-h.Rooms.Done():
			return
		case <-sub.Wait():
		case <-beat.C:
			if err := out.send([]byte(": ping\n\n")); err != nil {
				return
			}
		case <-recheck.C:
			if v.check(ctx) != nil {
				return
			}
		}
	}
}

// streamRecheck is how often a room stream asks again whether its viewer
// may follow the room: a stream makes no new requests, so signing out,
// deactivation, losing the client or leaving the audience would otherwise
// not reach it.
const streamRecheck = 5 * time.Second

// streamItem writes the SSE events of one item: a message; or an event,
// which updates the events log (for those who manage the room), the list
// of who is here, and the room's state and chat box when it opened or
// ended.
func (h *Handler) streamItem(ctx context.Context, buf *bytes.Buffer, room *store.Room, load func(context.Context) (*store.Room, error), it rooms.Item) error {
	id := it.After.String()
	if it.Message != nil {
		return sseEvent(ctx, buf, id, "message", views.RoomMessageItem(*it.Message))
	}
	e := it.Event
	if room.CanManage {
		if err := sseEvent(ctx, buf, id, "log", views.RoomEventItem(*e)); err != nil {
			return err
		}
	}
	switch e.Kind {
	case store.EventEnded:
		return h.streamEnded(ctx, buf, id, load)
	case store.EventOpened:
		now, err := load(ctx)
		if err != nil {
			return err
		}
		if err := sseEvent(ctx, buf, id, "state", views.RoomState(now)); err != nil {
			return err
		}
		if err := sseEvent(ctx, buf, id, "chatbox", views.ChatForm(room.MeetingID, views.Form{})); err != nil {
			return err
		}
		if err := h.streamControls(ctx, buf, id, now); err != nil {
			return err
		}
	}
	people := it.Participants
	if people == nil {
		var err error
		if people, err = h.Store.RoomParticipants(ctx, room.MeetingID); err != nil {
			return err
		}
	}
	return sseEvent(ctx, buf, id, "participants", views.RoomParticipants(room, people))
}

// streamEnded writes the events that close a room's page: its final
// state, nobody here, and the summary (the client closes on "ended").
func (h *Handler) streamEnded(ctx context.Context, buf *bytes.Buffer, id string, load func(context.Context) (*store.Room, error)) error {
	room, err := load(ctx)
	if err != nil {
		return err
	}
	held, err := h.Store.HeldRoom(ctx, room.MeetingID)
	if err != nil {
		return err
	}
	count := 0
	if held == nil {
		if count, err = h.Store.RoomMessageCount(ctx, room.MeetingID); err != nil {
			return err
		}
	}
	if err := sseEvent(ctx, buf, id, "state", views.RoomState(room)); err != nil {
		return err
	}
	if err := sseEvent(ctx, buf, id, "participants", views.RoomParticipants(room, nil)); err != nil {
		return err
	}
	if err := sseEvent(ctx, buf, id, "chatbox", templ.NopComponent); err != nil {
		return err
	}
	if err := h.streamControls(ctx, buf, id, room); err != nil {
		return err
	}
	return sseEvent(ctx, buf, id, "ended", views.RoomEnded(room, held, count))
}

// streamControls sends the organiser's buttons for the room's new state.
func (h *Handler) streamControls(ctx context.Context, buf *bytes.Buffer, id string, room *store.Room) error {
	if !room.CanManage {
		return nil
	}
	return sseEvent(ctx, buf, id, "controls", views.RoomControls(room))
}

// sseEvent renders c as one SSE event: each line of the HTML is a data
// line, so markup with newlines arrives whole.
func sseEvent(ctx context.Context, buf *bytes.Buffer, id, event string, c templ.Component) error {
	var html bytes.Buffer
	if err := c.Render(ctx, &html); err != nil {
		return err
	}
	fmt.Fprintf(buf, "id: %s\nevent: %s\n", id, event)
	for _, line := range strings.Split(html.String(), "\n") {
		buf.WriteString("data: ")
		buf.WriteString(strings.TrimSuffix(line, "\r"))
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
	return nil
}
