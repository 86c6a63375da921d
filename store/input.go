package store

import (
	"fmt"
	"strings"
)

// isControl reports whether r is a C0 control character other than tab and
// the line breaks: NUL, bell, escape and the like are never text a person
// meant to store, and they break the terminals, files and parsers the
// records travel on to.
func isControl(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r'
}

// checkText adds a problem when value holds a control character.
func checkText(p Problems, field, value string) {
	if strings.IndexFunc(value, isControl) >= 0 {
		p.Add(field, "Remove the control characters (such as NUL) from this field.")
	}
}

// checkLimit checks a list's page size: 0 asks for def, anything else must
// be from 1 to max. The handlers pass -1 for a limit that is not a number.
func checkLimit(p Problems, limit *int, def, max int) {
	switch {
	case *limit == 0:
		*limit = def
	case *limit < 1 || *limit > max:
		p.Add("limit", fmt.Sprintf("Use a number from 1 to %d.", max))
	}
}
