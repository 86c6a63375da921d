package handlers

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// openAPIDoc describes every /api/v1 route (and the seed's /bulk-actions
// routes): written by hand, one $ref'd schema per resource. The tests hold
// it to the routes and to the answers the handlers really give
// (openapi_test.go).
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPIETag names this build's document: it changes only with the binary.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// openAPI serves the document. It holds no workspace's data, so anyone may
// read it; a client revalidates with If-None-Match and gets 304 until the
// server is upgraded.
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("ETag", openAPIETag)
	w.Header().Set("Cache-Control", "public, no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(openAPIDoc))
}
