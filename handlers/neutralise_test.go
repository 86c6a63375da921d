package handlers

import "testing"

// TestNeutralise: cells a spreadsheet would run as a formula get a quote in
// the rejected-rows download; phone and negative numbers stay as they are.
func TestNeutralise(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Ann", "Ann"},
		{"ann@example.com", "ann@example.com"},
		{"+44 20 7946 0958", "+44 20 7946 0958"},
		{"+1 (555) 010-9999", "+1 (555) 010-9999"},
		{"+1.555.010.9999", "+1.555.010.9999"},
		{"+4915123456789", "+4915123456789"},
		{"-42", "-42"},
		{"-2.5", "-2.5"},
		{"=SUM(A1)", "'=SUM(A1)"},
		{"=1+2", "'=1+2"},
		{"+A1*2", "'+A1*2"},
		{"+1 ceo", "'+1 ceo"},
		{"+1 555 0100 x23", "'+1 555 0100 x23"},
		{"+", "'+"},
		{"+()", "'+()"},
		{"-2+3", "'-2+3"},
		{"-x", "'-x"},
		{"-", "'-"},
		{"@foo", "'@foo"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
	} {
		if got := neutralise([]string{tc.in})[0]; got != tc.want {
			t.Errorf("neutralise(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
