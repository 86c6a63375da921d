package meetindex

import (
	"context"

	"github.com/rolodex/rolodex/store"
)

// PutRow applies m to the index as if SQLite held it: a late apply that
// read an older row.
func (x *Index) PutRow(ctx context.Context, ws int64, m *store.Meeting) error {
	args := append([]any{mtgPrefix(ws), m.ID, "", mtgTouchedKey(ws), "put", m.CompanyID, m.Type, m.Status,
		lexMember(m.StartsAt, m.ID), lexMember(m.UpdatedAt, m.ID), m.UpdatedAt}, meetingHash(m)...)
	return x.runScript(ctx, putMeetingScript, []scriptCall{{[]string{mtgHashKey(ws, m.ID)}, args}})
}
