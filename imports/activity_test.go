package imports

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolodex/rolodex/store"
	"github.com/rolodex/rolodex/store/storetest"
)

// TestImportOneActivity imports 1,000 rows (creating contacts and their
// companies) and checks that the whole import is one activity, not one a
// row.
func TestImportOneActivity(t *testing.T) {
	env := storetest.Open(t)
	path := filepath.Join(t.TempDir(), "contacts.csv")
	genContacts(t, path, 1000, 7)
	a := runImport(t, env.Store, store.ImportContacts, store.ModeCreate, path)
	if a.Status != store.StatusDone || a.Created < 500 {
		t.Fatalf("import: %+v", a)
	}
	page, err := env.Store.Activities(context.Background(), testAdmin(), store.ActivityQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Kind != store.ActivityImportFinished || page.Items[0].RefID != a.ID || page.Items[0].CompanyID != nil {
		t.Fatalf("activities after an import of %d rows: %+v", a.Total, page.Items)
	}
	t.Log(page.Items[0].Summary)
}
