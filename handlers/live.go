package handlers

import (
	"net/http"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// "Live now" and what is left of a room after it: the list of open rooms
// a user may see, the navigation's count of them, and a room's transcript.

// liveRooms lists the open rooms of the clients the user may see, with
// who is in each and since when.
func (h *Handler) liveRooms(w http.ResponseWriter, r *http.Request) {
	live, err := h.Store.LiveRooms(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.LiveRoomsPage(h.page(r, "Live now"), live), nil)
}

// liveCount is the navigation's count, polled by every page. Signed out it
// answers 204 (htmx swaps nothing) rather than sending the tab to the
// sign-in page: a poll in the background must not take away a form being
// filled in; the user's next own request does that.
func (h *Handler) liveCount(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	if u == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	n, err := h.Store.LiveRoomCount(r.Context(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.LiveCount(n), nil)
}

// transcript is a room's chat, read-only, for those who could join it
// (client security, then the audience: 404, then 403 as on the room
// page), with the room's summary once it has ended.
func (h *Handler) transcript(w http.ResponseWriter, r *http.Request) {
	u, id, err := roomID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	room, err := h.Store.EnterRoom(ctx, u, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.Store.RoomMessages(ctx, u, id, store.MessageQuery{Limit: 200})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	held, err := h.Store.HeldRoom(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Store.Company(ctx, u, room.CompanyID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, views.TranscriptPage(h.page(r, room.Subject+": transcript"), room, c.Name, held, page), nil)
}
