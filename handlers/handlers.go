// Package handlers is Rolodex's HTTP layer: the HTML pages (templ + htmx)
// and the JSON API, over the same store and the same session.
package handlers

import (
	"log/slog"
	"net/netip"

	"github.com/gorilla/sessions"

	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/rooms"
	"github.com/rolodex/rolodex/search"
	"github.com/rolodex/rolodex/store"
)

// Handler holds what every route needs.
type Handler struct {
	Store    *store.Store
	Index    *search.Index
	Sessions sessions.Store
	Log      *slog.Logger
	Imports  Imports    // bulk CSV uploads (imports.go)
	Rooms    *rooms.Hub // live meeting rooms (rooms.go)
	// GuestKey signs guest invite links (guests.go, GuestKey); without
	// one no link works.
	GuestKey []byte
	Notify   *notify.Pipeline // notifications and digests (notifications.go)

	// Proxies are the reverse proxies whose X-Forwarded-For is believed
	// (clientAddress).
	Proxies []netip.Prefix

	patterns []string // filled by Routes
}

// New returns a Handler.
func New(st *store.Store, idx *search.Index, sess sessions.Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{Store: st, Index: idx, Sessions: sess, Log: log}
}

// Patterns lists every route pattern, once Routes has run.
func (h *Handler) Patterns() []string { return h.patterns }
