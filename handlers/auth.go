package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// The session cookie lives as long as a session can (store.SessionLifetime);
// SQLite decides whether the session it names still does.
const (
	sessionName   = "rolodex"
	sessionMaxAge = int(store.SessionLifetime / time.Second)
)

// NewSessionStore returns a cookie session store whose keys live in
// dataDir/session.key, so that a restart logs nobody out. secure marks the
// cookie Secure (behind TLS).
func NewSessionStore(dataDir string, secure bool) (*sessions.CookieStore, error) {
	path := filepath.Join(dataDir, "session.key")
	keys, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		keys = make([]byte, 64+32)
		if _, err := rand.Read(keys); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, keys, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if len(keys) != 96 {
		return nil, fmt.Errorf("%s: want 96 bytes, found %d", path, len(keys))
	}
	st := sessions.NewCookieStore(keys[:64], keys[64:])
	for _, c := range st.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(sessionSerializer{})
		}
	}
	st.Options = &sessions.Options{Path: "/", MaxAge: sessionMaxAge, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	st.MaxAge(sessionMaxAge)
	for i, c := range st.Codecs {
		st.Codecs[i] = newCachedCodec(c) // after MaxAge, which needs the *SecureCookie
	}
	return st, nil
}

// loadUser puts the signed-in user and their session, if any, and the
// pending flash message in the request context. The session is looked up
// in SQLite on every request, so one that was ended stops working at once.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := h.Sessions.Get(r, sessionName) // a bad cookie is a new session
		ctx := r.Context()
		if token, ok := sess.Values["sid"].(string); ok {
			current, u, err := h.Store.SessionUser(ctx, token)
			switch {
			case err == nil:
				ctx = context.WithValue(context.WithValue(ctx, userKey, u), sessionKey{}, current)
				if info, ok := ctx.Value(infoKey).(*reqInfo); ok {
					info.user = u.ID
				}
			case store.ErrorCode(err) != store.ENotFound:
				h.fail(w, r, err)
				return
			}
		}
		if msg, ok := sess.Values["flash"].(string); ok && r.Method == http.MethodGet && !isHTMX(r) {
			delete(sess.Values, "flash")
			if err := sess.Save(r, w); err == nil {
				ctx = context.WithValue(ctx, flashKey, msg)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

type sessionKey struct{}

// currentSession returns the session the request was signed in with.
func currentSession(ctx context.Context) *store.Session {
	x, _ := ctx.Value(sessionKey{}).(*store.Session)
	return x
}

// clientAddress is the address a request came from: the connection's
// peer, unless that is one of h.Proxies; then the last X-Forwarded-For
// address that is not one of them (proxies append the address they saw, so
// anything before it may be the client's own invention). The sign-in
// throttle counts by this address.
func (h *Handler) clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !h.proxy(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !h.proxy(a) {
			return a.Unmap().String()
		}
	}
	return host
}

func (h *Handler) proxy(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range h.Proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// requireUser lets signed-in users through; others get 401 (API) or the
// sign-in page.
func (h *Handler) requireUser(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			if wantsJSON(r) {
				writeJSON(w, http.StatusUnauthorized, apiError{Error: "Sign in first."})
				return
			}
			target := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			redirect(w, r, target)
			return
		}
		next(w, r)
	})
}

// requireAdmin lets admins through; staff get 403 and anonymous users what
// requireUser gives them.
func (h *Handler) requireAdmin(next http.HandlerFunc) http.Handler {
	return h.requireUser(func(w http.ResponseWriter, r *http.Request) {
		if !userFrom(r.Context()).IsAdmin() {
			h.fail(w, r, store.Errorf(store.EForbidden, "This page is for admins."))
			return
		}
		next(w, r)
	})
}

// flash stores a message shown once on the next page.
func (h *Handler) flash(w http.ResponseWriter, r *http.Request, msg string) {
	sess, _ := h.Sessions.Get(r, sessionName)
	sess.Values["flash"] = msg
	if err := sess.Save(r, w); err != nil {
		h.Log.Warn("save flash", "err", err)
	}
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, views.LoginPage(h.page(r, "Sign in"), views.Form{Values: map[string]string{"next": r.URL.Query().Get("next")}}), nil)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "email", "next")
	u, err := h.Store.Authenticate(r.Context(), r.PostFormValue("email"), r.PostFormValue("password"), h.clientAddress(r))
	if err != nil {
		code := store.ErrorCode(err)
		if code != store.EInvalid && code != store.EThrottled && code != store.EForbidden && code != store.EBusy {
			h.fail(w, r, err)
			return
		}
		h.Log.Info("sign-in refused", "email", f.Values["email"], "reason", code)
		if code == store.EBusy {
			w.Header().Set("Retry-After", "5")
		}
		f.Message = store.ErrorMessage(err)
		if wantsJSON(r) {
			writeJSON(w, status(code), apiError{Error: f.Message})
			return
		}
		h.render(w, r, status(code), views.LoginPage(h.page(r, "Sign in"), f), nil)
		return
	}
	// A new session at sign-in: the one the browser had, if any, ends, and
	// nothing from it carries over.
	if old, ok := h.cookieSession(r).Values["sid"].(string); ok {
		if err := h.Store.EndSessionToken(r.Context(), old); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	token, err := h.Store.CreateSession(r.Context(), u.ID, h.clientAddress(r), r.UserAgent())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.setSessionCookie(w, r, token); err != nil {
		h.fail(w, r, err)
		return
	}
	h.Log.Info("signed in", "user", u.ID)
	h.rememberZone(r, u)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, u)
		return
	}
	redirect(w, r, safeNext(f.Values["next"]))
}

// cookieSession returns the request's cookie session; a bad cookie is a
// new, empty one.
func (h *Handler) cookieSession(r *http.Request) *sessions.Session {
	sess, _ := h.Sessions.Get(r, sessionName)
	return sess
}

// setSessionCookie gives the browser a cookie carrying token alone. Sign-in
// uses it, and so does a password change after store.RotateSessions. It
// rewrites the request's own session object, so a flash message added
// after it goes into the same cookie rather than one with the old token.
func (h *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) error {
	sess := h.cookieSession(r)
	sess.Values = map[any]any{"sid": token}
	return sess.Save(r, w)
}

// signOut ends the request's session, if any, and leaves the browser a
// cookie with flash alone (none when flash is empty).
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, flash string) error {
	sess := h.cookieSession(r)
	if token, ok := sess.Values["sid"].(string); ok {
		if err := h.Store.EndSessionToken(r.Context(), token); err != nil {
			return err
		}
	}
	sess.Values = map[any]any{}
	if flash != "" {
		sess.Values["flash"] = flash
	} else {
		sess.Options.MaxAge = -1
	}
	return sess.Save(r, w)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.signOut(w, r, ""); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, "/login")
}

// logRequests writes one line per request.
func (h *Handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		info := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey, info))
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				// A handler gave up on an answer under way (export.go):
				// log it, then let the server drop the connection.
				rec.status = http.StatusInternalServerError
				defer panic(p)
				p = nil
			}
			if p != nil {
				h.Log.Error("panic", "method", r.Method, "path", loggedPath(r), "panic", p)
				if !rec.wrote {
					http.Error(w, "Internal error.", http.StatusInternalServerError)
				}
				rec.status = http.StatusInternalServerError
			}
			if !rec.wrote && abandoned(r) {
				rec.status = statusAbandoned
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			h.Log.Log(r.Context(), level, "http", "method", r.Method, "path", loggedPath(r), "status", rec.status,
				"dur", time.Since(start).Round(time.Microsecond), "user", info.user)
		}()
		next.ServeHTTP(rec, r)
	})
}

// reqInfo lets inner middleware tell the request log who asked.
type reqInfo struct{ user int64 }

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer (flush for SSE).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// loggedPath is r's path as the request log writes it: a guest's invite
// token is their only credential, so it is left out.
func loggedPath(r *http.Request) string {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/guest/"); ok {
		if _, tail, found := strings.Cut(rest, "/"); found {
			return "/guest/…/" + tail
		}
		return "/guest/…"
	}
	return r.URL.Path
}
