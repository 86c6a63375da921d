package store_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/rolodex/rolodex/store/storetest"
)

// TestPlannerStable checks that the Makefile's CGO_CFLAGS reach SQLite's
// build: without SQLITE_ENABLE_QPSG every read re-plans its statement.
// Plain `go test` (no make) builds without it, so the test only runs
// when the flag is in the environment.
func TestPlannerStable(t *testing.T) {
	if !strings.Contains(os.Getenv("CGO_CFLAGS"), "SQLITE_ENABLE_QPSG") {
		t.Skip("CGO_CFLAGS lacks -DSQLITE_ENABLE_QPSG (run through make)")
	}
	env := storetest.Open(t)
	ok, err := env.Store.PlannerStable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("SQLite was built without SQLITE_ENABLE_QPSG although CGO_CFLAGS asks for it")
	}
}
