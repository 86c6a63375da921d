package imports

import (
	"regexp"
	"strings"
)

// Spreadsheets run a cell that starts with = + - @ (or a tab or carriage
// return) as a formula: a CSV file Rolodex writes (the rejected rows of an
// import, an export) must not hand one over (CSV injection). The usual
// defence is a leading quote, which spreadsheets show as text; Neutralise
// adds it and the importer takes it off again (Restore) in a file Rolodex
// exported, so that an export imports back unchanged.

var (
	phoneNumber    = regexp.MustCompile(`^\+[0-9 ().-]*[0-9][0-9 ().-]*$`)
	negativeNumber = regexp.MustCompile(`^-[0-9]+(\.[0-9]+)?$`)
)

// FormulaLike reports whether a spreadsheet could run cell c as a formula.
// Phone numbers (+44 20 7946 0958) and negative numbers (-42) are not:
// without letters a cell can name no function and no other cell, and a
// quote would spoil them for whoever reads the file.
func FormulaLike(c string) bool {
	switch {
	case c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])):
		return false
	case c[0] == '+':
		return !phoneNumber.MatchString(c)
	case c[0] == '-':
		return !negativeNumber.MatchString(c)
	}
	return true
}

// quoted reports whether c needs the leading quote: it is formula-like
// after any quotes it starts with. Quoting a cell that is quotes before a
// formula as well (a quote before =1 gets a second one) makes Restore
// exactly undo Neutralise: a cell Restore would strip is always one that
// Neutralise quoted.
func quoted(c string) bool {
	return FormulaLike(strings.TrimLeft(c, "'"))
}

// Neutralise prefixes with a quote each cell of row that a spreadsheet
// would run as a formula (and each that is quotes before such a text), in
// place, and returns row.
func Neutralise(row []string) []string {
	for i, c := range row {
		if quoted(c) {
			row[i] = "'" + c
		}
	}
	return row
}

// Restore undoes Neutralise for one cell: it takes off a leading quote
// when what follows would have been quoted.
func Restore(c string) string {
	if len(c) > 1 && c[0] == '\'' && quoted(c[1:]) {
		return c[1:]
	}
	return c
}
