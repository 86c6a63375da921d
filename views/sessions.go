package views

import "strings"

// sessionDevice names a session's browser by its user agent, briefly.
func sessionDevice(userAgent string) string {
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(userAgent, b.token) {
			return b.name
		}
	}
	if userAgent == "" {
		return "Unknown browser"
	}
	if r := []rune(userAgent); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return userAgent
}
