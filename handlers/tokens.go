package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/views"
)

// Personal API tokens: managed from a signed-in browser (/me/tokens) or
// the API with the session cookie; a request with a token acts as its user
// on the API routes (route), no more, and a read-only one only reads.

type tokenKey struct{}

// currentToken is the token r came with, if any.
func currentToken(ctx context.Context) *store.Token {
	t, _ := ctx.Value(tokenKey{}).(*store.Token)
	return t
}

// bearer returns the token of an Authorization: Bearer header (the scheme
// is case-insensitive, RFC 9110); ok is false when there is none. Another
// scheme is not a token: it may be a reverse proxy's Basic auth, which a
// browser sends by itself, so such a request is the cookie's (route).
func bearer(r *http.Request) (secret string, ok bool) {
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(secret), true
}

// withToken signs r in by its bearer token: next gets the token's user, or
// the client a 401 for a missing, malformed, expired or revoked token (or
// one of a deactivated user) and a 403 when a read-only token writes.
func (h *Handler) withToken(w http.ResponseWriter, r *http.Request, secret string, next http.Handler) {
	tok, u, err := h.Store.TokenUser(r.Context(), secret)
	if store.ErrorCode(err) == store.ENotFound {
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "The token is missing, malformed, expired or revoked."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if tok.Scope != store.ScopeWrite && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusForbidden, apiError{Error: "This token is read-only."})
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), userKey, u), tokenKey{}, tok)
	if info, ok := ctx.Value(infoKey).(*reqInfo); ok {
		info.user = u.ID
	}
	next.ServeHTTP(w, r.WithContext(ctx))
}

// cookieOnly refuses token management to a request made with a token: a
// token must not be able to make itself longer-lived siblings.
func cookieOnly(w http.ResponseWriter, r *http.Request) bool {
	if currentToken(r.Context()) != nil {
		writeJSON(w, http.StatusForbidden, apiError{Error: "Manage tokens from a signed-in session, not with a token."})
		return false
	}
	return true
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, st int, f views.Form, secret string) {
	list, err := h.Store.Tokens(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, st, views.TokensPage(h.page(r, "API tokens"), list, f, secret), nil)
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	h.tokensPage(w, r, http.StatusOK, views.Form{Values: map[string]string{"scope": store.ScopeRead, "expires_in": "90"}}, "")
}

// createToken answers the page with the new token's secret, shown once
// (not a redirect: the secret must not be in a URL or a cookie).
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	f := formOf(r, "name", "scope", "expires_in")
	in := store.TokenInput{Name: f.Values["name"], Scope: f.Values["scope"]}
	days, err := strconv.Atoi(f.Values["expires_in"])
	if err != nil || days < 1 || days > 365 {
		h.tokensPage(w, r, http.StatusUnprocessableEntity, withErr(f, &store.Error{Code: store.EInvalid, Message: "Check the form.",
			Fields: map[string]string{"expires_in": "Choose how long the token lasts."}}), "")
		return
	}
	in.ExpiresAt = time.Now().Add(time.Duration(days) * 24 * time.Hour).UnixMilli()
	tok, secret, err := h.Store.CreateToken(r.Context(), userFrom(r.Context()), in)
	if invalid(err) {
		h.tokensPage(w, r, http.StatusUnprocessableEntity, withErr(f, err), "")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Log.Info("api token created", "user", tok.UserID, "token", tok.ID, "scope", tok.Scope)
	w.Header().Set("Cache-Control", "no-store")
	h.tokensPage(w, r, http.StatusOK, views.Form{Values: map[string]string{"scope": store.ScopeRead, "expires_in": "90"}}, secret)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	if !cookieOnly(w, r) {
		return
	}
	id, err := pathID(r, "id")
	if err == nil {
		err = h.Store.RevokeToken(r.Context(), userFrom(r.Context()), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.flash(w, r, "Token revoked.")
	redirect(w, r, "/me/tokens")
}

func (h *Handler) apiListTokens(w http.ResponseWriter, r *http.Request) {
	if !cookieOnly(w, r) {
		return
	}
	list, err := h.Store.Tokens(r.Context(), userFrom(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

// apiCreateToken takes {"name", "scope", "expires_at"} (unix ms or RFC
// 3339) and answers the token once, with its secret in "token".
func (h *Handler) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	if !cookieOnly(w, r) {
		return
	}
	var body struct {
		Name      string          `json:"name"`
		Scope     string          `json:"scope"`
		ExpiresAt json.RawMessage `json:"expires_at"`
	}
	if err := decodeJSON(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	p := store.Problems{}
	in := store.TokenInput{Name: body.Name, Scope: body.Scope}
	if t := jsonTime(p, "expires_at", body.ExpiresAt); t != nil {
		in.ExpiresAt = *t
	} else if len(p) == 0 {
		p.Add("expires_at", "Give the expiry, as unix milliseconds or RFC 3339.")
	}
	if err := p.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	tok, secret, err := h.Store.CreateToken(r.Context(), userFrom(r.Context()), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, struct {
		*store.Token
		Secret string `json:"token"`
	}{tok, secret})
}
