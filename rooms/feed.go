package rooms

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/rolodex/rolodex/store"
)

// Position is how far a stream has read a room: its last message id and
// last event id. It is every SSE event's id, "<message>-<event>", so a
// reconnect with Last-Event-ID (or ?after=) resumes exactly after it.
type Position struct{ Message, Event int64 }

func (p Position) String() string { return fmt.Sprintf("%d-%d", p.Message, p.Event) }

// ParsePosition reads a Position from its String form.
func ParsePosition(s string) (Position, bool) {
	a, b, ok := strings.Cut(s, "-")
	m, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || m < 0 || e < 0 {
		return Position{}, false
	}
	return Position{m, e}, true
}

// Item is one thing that happened in a room: a message or an event, with
// the position a stream is at once it has sent it.
type Item struct {
	Message *store.RoomMessage
	Event   *store.RoomEvent
	After   Position
	// Participants, on an event read by a feed, is who was in the room
	// once the read's events had happened: read once for every stream of
	// the room rather than by each. Nil when the stream read SQLite itself.
	Participants []store.Participant
}

// ringSize is how many recent items a feed keeps for its streams; a stream
// further behind reads SQLite.
const ringSize = 512

// feedBatch is how many messages and events one SQLite read takes.
const feedBatch = 500

// feed is a room's items as this process has read them: one SQLite read
// per wake-up, shared by every local stream of the room.
type feed struct {
	h    *Hub
	ws   int64
	room int64

	poller sync.Mutex    // one SQLite read at a time
	ready  chan struct{} // closed once start is known

	mu    sync.Mutex
	start Position // the position before ring[0]
	last  Position
	ring  []Item
	subs  map[*Sub]struct{}
}

// Sub is a stream's subscription to a room.
type Sub struct {
	f    *feed
	pos  Position
	wake chan struct{}
}

// Subscribe follows a room from position after.
func (h *Hub) Subscribe(ctx context.Context, ws, meetingID int64, after Position) (*Sub, error) {
	h.mu.Lock()
	f := h.feeds[meetingID]
	isNew := f == nil
	if isNew {
		f = &feed{h: h, ws: ws, room: meetingID, subs: map[*Sub]struct{}{}, ready: make(chan struct{})}
		h.feeds[meetingID] = f
		// No read until the feed knows where it starts.
		f.poller.Lock()
	}
	s := &Sub{f: f, pos: after, wake: make(chan struct{}, 1)}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	h.mu.Unlock()
	if isNew {
		// Start from now: nothing before it is in the ring, so a stream
		// behind reads SQLite.
		m, e, err := h.st.RoomLastIDs(ctx, meetingID)
		if err == nil {
			f.mu.Lock()
			f.start, f.last = Position{m, e}, Position{m, e}
			f.mu.Unlock()
		}
		// A stream that subscribed meanwhile may now read (an empty ring
		// before start is known would look like nothing new).
		close(f.ready)
		f.poller.Unlock()
		if err != nil {
			s.Close()
			return nil, err
		}
		h.psMu.Lock()
		err = h.ps.Subscribe(ctx, channel(ws, meetingID))
		h.psMu.Unlock()
		if err != nil {
			h.log.Warn("rooms: subscribe failed; the stream catches up at each refresh", "room", meetingID, "err", err)
		}
	}
	s.wake <- struct{}{} // a stream behind starts by catching up
	return s, nil
}

// Close ends the subscription; the last one of a room stops its feed. The
// channel is left outside mu, so that a slow Redis holds up no other
// stream; psMu keeps it from undoing the SUBSCRIBE of a feed that started
// for the room meanwhile.
func (s *Sub) Close() {
	h, f := s.f.h, s.f
	h.mu.Lock()
	f.mu.Lock()
	delete(f.subs, s)
	empty := len(f.subs) == 0
	f.mu.Unlock()
	last := empty && h.feeds[f.room] == f
	if last {
		delete(h.feeds, f.room)
	}
	h.mu.Unlock()
	if !last {
		return
	}
	h.psMu.Lock()
	defer h.psMu.Unlock()
	h.mu.Lock()
	_, again := h.feeds[f.room]
	h.mu.Unlock()
	if !again {
		h.ps.Unsubscribe(context.Background(), channel(f.ws, f.room))
	}
}

// Wait returns a channel that receives when the room may have news.
func (s *Sub) Wait() <-chan struct{} { return s.wake }

// Next returns the items after the subscription's position, at most
// feedBatch of each kind, and moves past them. None means nothing new.
func (s *Sub) Next(ctx context.Context) ([]Item, error) {
	f := s.f
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	behind := s.pos.Message < f.start.Message || s.pos.Event < f.start.Event
	var out []Item
	if !behind {
		for _, it := range f.ring {
			if it.Message != nil && it.Message.ID > s.pos.Message || it.Event != nil && it.Event.ID > s.pos.Event {
				out = append(out, it)
			}
		}
	}
	f.mu.Unlock()
	if behind {
		fd, err := f.h.st.RoomFeedSince(ctx, f.room, s.pos.Message, s.pos.Event, feedBatch)
		if err != nil {
			return nil, err
		}
		out = merge(fd, s.pos)
		if len(fd.Messages) == feedBatch || len(fd.Events) == feedBatch {
			s.notify() // more to read
		}
	}
	if n := len(out); n > 0 {
		s.pos = Position{max(s.pos.Message, out[n-1].After.Message), max(s.pos.Event, out[n-1].After.Event)}
	}
	return out, nil
}

func (s *Sub) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// poll reads what the room has after the feed's position and wakes the
// streams, a batch at a time until it has caught up.
func (f *feed) poll(ctx context.Context) {
	for f.pollOnce(ctx) {
	}
}

// pollOnce reads one batch; more says a batch was full.
func (f *feed) pollOnce(ctx context.Context) (more bool) {
	f.poller.Lock()
	defer f.poller.Unlock()
	f.mu.Lock()
	from := f.last
	f.mu.Unlock()
	fd, err := f.h.st.RoomFeedSince(ctx, f.room, from.Message, from.Event, feedBatch)
	if err != nil {
		if ctx.Err() == nil {
			f.h.log.Warn("rooms: feed read failed", "room", f.room, "err", err)
		}
		return false
	}
	items := merge(fd, from)
	if len(items) == 0 {
		return false
	}
	if len(fd.Events) > 0 {
		people, err := f.h.st.RoomParticipants(ctx, f.room)
		if err != nil {
			if ctx.Err() == nil {
				f.h.log.Warn("rooms: feed read failed", "room", f.room, "err", err)
			}
			return
		}
		for i := range items {
			if items[i].Event != nil {
				items[i].Participants = people
			}
		}
	}
	f.mu.Lock()
	f.ring = append(f.ring, items...)
	if drop := len(f.ring) - ringSize; drop > 0 {
		f.start = f.ring[drop-1].After
		f.ring = append([]Item(nil), f.ring[drop:]...)
	}
	f.last = items[len(items)-1].After
	for s := range f.subs {
		s.notify()
	}
	f.mu.Unlock()
	return len(fd.Messages) == feedBatch || len(fd.Events) == feedBatch
}

// merge puts a read's messages and events in one order, by time (events
// first on a tie), each with the position after it. When one kind filled
// its batch, the other is cut where that one stops, so no item is passed
// over for a later read to find behind the position.
func merge(fd *store.RoomFeed, from Position) []Item {
	ms, es := fd.Messages, fd.Events
	var limit int64 = 1<<63 - 1
	if len(ms) == feedBatch {
		limit = ms[len(ms)-1].CreatedAt
	}
	if len(es) == feedBatch {
		limit = min(limit, es[len(es)-1].At)
	}
	out := make([]Item, 0, len(ms)+len(es))
	pos := from
	for len(ms) > 0 || len(es) > 0 {
		var it Item
		if len(es) > 0 && (len(ms) == 0 || es[0].At <= ms[0].CreatedAt) {
			if es[0].At > limit {
				break
			}
			it.Event = &es[0]
			pos.Event = es[0].ID
			es = es[1:]
		} else {
			if ms[0].CreatedAt > limit {
				break
			}
			it.Message = &ms[0]
			pos.Message = ms[0].ID
			ms = ms[1:]
		}
		it.After = pos
		out = append(out, it)
	}
	return out
}
