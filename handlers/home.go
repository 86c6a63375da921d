package handlers

import (
	"net/http"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// homeMeetings is how many of the coming week's meetings the home page
// lists; the rest are a link to the meetings list.
const homeMeetings = 50

// homeNotifications is how many unread notifications the home page shows.
const homeNotifications = 5

// home is "my day" (views.HomePage): the meetings, recent changes,
// unread notifications and live rooms (Store.Home, which keeps them until
// something changes), under the viewer's client security.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	now := time.Now().In(u.Location())
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	tomorrow := day.AddDate(0, 0, 1).UnixMilli()
	v := views.Home{Admin: u.IsAdmin(), Clients: true, Now: now.UnixMilli(), Day: day}

	home, err := h.Store.Home(ctx, u, store.HomeQuery{From: day.UnixMilli(), To: day.AddDate(0, 0, 8).UnixMilli(), Meetings: homeMeetings, Activity: 10, Unread: homeNotifications})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	week := home.Meetings
	for _, m := range week.Items {
		if m.StartsAt < tomorrow {
			v.Today = append(v.Today, m)
		} else {
			v.Week = append(v.Week, m)
		}
	}
	if week.Next != "" {
		v.MoreMeetings = -1 // more than the SQLite fallback counts
		if week.Count > 0 {
			v.MoreMeetings = week.Count - int64(len(week.Items))
		}
	}
	v.Activity, v.Unread, v.Companies, v.Rooms, v.Version, v.RoomsVersion = home.Activity, home.Unread, home.Companies, home.Rooms, home.Version, home.RoomsVersion
	// A staff user with nothing at all on the page may have no clients:
	// then every section says how to get some.
	if !v.Admin && len(week.Items) == 0 && len(v.Rooms) == 0 && len(v.Activity) == 0 {
		clients, err := h.Store.ClientIDs(ctx, u)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		v.Clients = len(clients) > 0
	}
	h.render(w, r, http.StatusOK, views.HomePage(h.page(r, "Home"), v), nil)
}

// apiActivity is GET /api/v1/activity: the activity the viewer may see,
// newest first, on one company (company_id) or on all their clients.
func (h *Handler) apiActivity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := store.ActivityQuery{Cursor: q.Get("cursor"), Limit: limitParam(q)}
	companyID, err := companyIDParam(q)
	var page *store.ActivityPage
	if err == nil {
		aq.CompanyID = companyID
		page, err = h.Store.Activities(r.Context(), userFrom(r.Context()), aq)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}
