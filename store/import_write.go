package store

// The writing side of a bulk import: one transaction per prepared batch,
// with its checkpoint and counters. Only SQL runs here, so that the
// writer, which bounds an import's speed, starts the next batch the moment
// it commits one.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// importWAL counts the import sessions open on each store. While any is,
// the writer checkpoints the WAL every importCheckpointPages pages instead
// of SQLite's default 1000: a batch rewrites most pages of the contact
// indexes, and each checkpoint copies every page written since the last
// one back into the database, so checkpointing after every batch copies
// the same pages over and over (measured: a million rows import in about
// half the time). The WAL grows to a few hundred MB meanwhile.
var importWAL = struct {
	sync.Mutex
	open map[*Store]int
}{open: map[*Store]int{}}

const importCheckpointPages = 50_000

func (s *Store) importStarted(ctx context.Context) {
	importWAL.Lock()
	defer importWAL.Unlock()
	importWAL.open[s]++
	if importWAL.open[s] == 1 {
		if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", importCheckpointPages)); err != nil {
			s.log.Warn("import: set wal_autocheckpoint", "err", err)
		}
	}
}

func (s *Store) importEnded() {
	importWAL.Lock()
	defer importWAL.Unlock()
	if importWAL.open[s]--; importWAL.open[s] > 0 {
		return
	}
	delete(importWAL.open, s)
	if _, err := s.w.Exec("PRAGMA wal_autocheckpoint = 1000"); err != nil {
		s.log.Warn("import: reset wal_autocheckpoint", "err", err)
	}
	// Checkpoint now, so that the next small write does not pay for it.
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		s.log.Warn("import: checkpoint", "err", err)
	}
	// The batches filled the writer's page cache with index pages no
	// other write needs: give the memory back.
	if _, err := s.w.Exec("PRAGMA shrink_memory"); err != nil {
		s.log.Warn("import: shrink memory", "err", err)
	}
}

// ImportBatch is the transaction of one batch, Write's.
type ImportBatch struct {
	im        *ImportSession
	ctx       context.Context
	conn      *sql.Conn
	tx        *sql.Tx
	t         int64
	counts    ImportCounts
	contacts  []int64 // ids the search index must catch up on
	companies []int64
	moved     []int64 // updated contacts the row put under a company
	stmts     map[string]*sql.Stmt
	enc       rowEncoder
}

// Write writes a sealed batch in one transaction with its checkpoint and
// its counters, so that an import killed at any moment resumes after the
// last committed batch with no row lost or written twice. It returns
// ErrImportStopped when the action was cancelled or taken over by another
// worker, and ErrImportRewind (having written nothing) when the batch
// links to a company that is gone.
//
// The batch's connection checks no foreign keys: SQLite would look up the
// company of every contact written (measured: a sixth of the time of an
// insert), and the session has already made sure of them. It links rows
// only to companies in its maps or of its own making, and Write, inside
// the transaction, checks that they all still exist if the workspace's
// companies changed since the session counted them. The connection gets
// its foreign keys back before anyone else can use it.
func (im *ImportSession) Write(ctx context.Context, pb *PreparedBatch) (ImportCounts, error) {
	if !pb.sealed {
		panic("store: Write of a batch not sealed")
	}
	b, err := im.begin(ctx)
	if err != nil {
		return ImportCounts{}, err
	}
	if err := b.write(pb); err != nil {
		b.rollback()
		return ImportCounts{}, err
	}
	err = b.tx.Commit()
	b.release()
	if err != nil {
		return ImportCounts{}, err
	}
	return b.counts, nil
}

func (im *ImportSession) begin(ctx context.Context) (*ImportBatch, error) {
	conn, err := im.s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The batch runs to its end once begun: a cancelled context would
	// only waste it (and make the driver run each statement on a
	// goroutine of its own, to watch the context).
	ctx = context.WithoutCancel(ctx)
	b := &ImportBatch{im: im, ctx: ctx, conn: conn, stmts: map[string]*sql.Stmt{}}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		b.release()
		return nil, err
	}
	if b.tx, err = conn.BeginTx(ctx, nil); err != nil {
		b.release()
		return nil, err
	}
	b.t = now()
	var status, holder string
	err = b.tx.QueryRowContext(ctx, `SELECT status, worker FROM bulk_actions WHERE id = ?`, im.id).Scan(&status, &holder)
	if err == nil && (status != StatusRunning || holder != im.worker) {
		err = ErrImportStopped
	}
	if err != nil {
		b.rollback()
		return nil, err
	}
	return b, nil
}

// release gives the connection back to the pool with its foreign keys on,
// or closes it if they cannot be turned on again.
func (b *ImportBatch) release() {
	if _, err := b.conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`); err != nil {
		b.im.s.log.Error("import: foreign keys stay off; closing the connection", "err", err)
		b.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	b.conn.Close()
}

func (b *ImportBatch) rollback() {
	if b.tx != nil {
		b.tx.Rollback()
	}
	b.release()
}

// stmt prepares query once per batch.
func (b *ImportBatch) stmt(query string) (*sql.Stmt, error) {
	if st := b.stmts[query]; st != nil {
		return st, nil
	}
	st, err := b.tx.PrepareContext(b.ctx, query)
	if err == nil {
		b.stmts[query] = st
	}
	return st, err
}

func (b *ImportBatch) write(pb *PreparedBatch) error {
	im := b.im
	var n, last int64
	if err := b.tx.QueryRowContext(b.ctx, `SELECT count(*), coalesce(max(id), 0) FROM companies WHERE workspace_id = ?`, im.ws).Scan(&n, &last); err != nil {
		return err
	}
	changed := n != im.companyCount || last != im.companyMax
	b.counts = pb.counts
	if im.kind == ImportCompanies {
		if changed {
			if err := im.loadCompanies(b.ctx, b.tx); err != nil {
				return err
			}
		}
		if err := b.addCompanies(pb.rows); err != nil {
			return err
		}
	} else {
		for _, p := range pb.made {
			im.unmade[p.ref] = p.in
		}
		if changed {
			if err := b.companiesExist(pb); err != nil {
				return err
			}
		}
		if err := b.createCompanies(pb); err != nil {
			return err
		}
		if err := b.checkHits(pb); err != nil {
			return err
		}
		if err := b.insertContacts(pb.inserts); err != nil {
			return err
		}
	}
	if err := b.reject(pb.rejected); err != nil {
		return err
	}
	if err := b.queueIndex(); err != nil {
		return err
	}
	c, next := b.counts, pb.next
	_, err := b.tx.ExecContext(b.ctx, `UPDATE bulk_actions SET next_offset = ?, next_line = ?, processed = processed + ?, created = created + ?,
		updated = updated + ?, skipped = skipped + ?, failed = failed + ?, heartbeat_at = ? WHERE id = ?`,
		next.Offset, next.Line, c.Processed, c.Created, c.Updated, c.Skipped, c.Failed, b.t, im.id)
	return err
}

// companiesExist returns ErrImportRewind unless every company the batch
// links to, other than those it creates, still exists.
func (b *ImportBatch) companiesExist(pb *PreparedBatch) error {
	im := b.im
	ids := map[int64]bool{}
	add := func(ref int64) {
		if ref < 0 {
			ref = im.made.get(ref) // 0: created by this batch
		}
		if ref > 0 {
			ids[ref] = true
		}
	}
	for i := range pb.creates {
		add(pb.creates[i].company)
	}
	for i := range pb.hits {
		add(pb.hits[i].row.company)
	}
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	found := 0
	err := eachChunk(list, 500, func(chunk []any) error {
		var n int
		err := b.tx.QueryRowContext(b.ctx, `SELECT count(*) FROM companies WHERE workspace_id = ? AND id IN (`+placeholders(len(chunk))+`)`,
			append([]any{im.ws}, chunk...)...).Scan(&n)
		found += n
		return err
	})
	if err == nil && found != len(list) {
		err = ErrImportRewind
	}
	return err
}

// companyInsertsPer companies go in one INSERT statement.
const companiesPerInsert = 50

// createCompanies creates the provisional companies the batch's new
// contacts link to, in the order they were first named.
func (b *ImportBatch) createCompanies(pb *PreparedBatch) error {
	im := b.im
	var todo []int64
	seen := map[int64]bool{}
	for i := range pb.creates {
		if ref := pb.creates[i].company; ref < 0 && im.made.get(ref) == 0 && !seen[ref] {
			seen[ref] = true
			todo = append(todo, ref)
		}
	}
	slices.Sort(todo)
	slices.Reverse(todo) // -1, -2, ...: the order they were named in
	args := make([]any, 0, 10*companiesPerInsert)
	for start := 0; start < len(todo); start += companiesPerInsert {
		part := todo[start:min(start+companiesPerInsert, len(todo))]
		args = args[:0]
		for _, ref := range part {
			c := im.unmade[ref]
			args = append(args, im.ws, c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description, b.t, b.t)
		}
		st, err := b.stmt(`INSERT INTO companies (workspace_id, name, street, town, state, zip, website, description, created_at, updated_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(part)), ","))
		if err != nil {
			return err
		}
		res, err := st.ExecContext(b.ctx, args...)
		if err != nil {
			return err
		}
		// The writer is alone in its transaction and the statement has no
		// conflict clause: the rows have the ids up to the last one, in
		// order.
		lastID, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i, ref := range part {
			b.made(ref, lastID-int64(len(part)-1-i))
		}
	}
	return nil
}

// made records that provisional company ref was created as id.
func (b *ImportBatch) made(ref, id int64) {
	im := b.im
	im.made.set(ref, id)
	delete(im.unmade, ref)
	im.companyCount++
	im.companyMax = max(im.companyMax, id)
	b.companies = append(b.companies, id)
}

// resolve turns a company reference into an id, creating a provisional
// company not yet written.
func (b *ImportBatch) resolve(ref int64) (int64, error) {
	if ref >= 0 {
		return ref, nil
	}
	if id := b.im.made.get(ref); id != 0 {
		return id, nil
	}
	id, err := b.insertCompany(b.im.unmade[ref])
	if err != nil {
		return 0, err
	}
	b.made(ref, id)
	return id, nil
}

// checkHits handles the rows whose address the workspace had when the
// session started. A remembered contact may have been deleted, or changed
// its address, since (or share a hash): it is trusted only if it still
// has the row's address.
func (b *ImportBatch) checkHits(pb *PreparedBatch) error {
	if len(pb.hits) == 0 {
		return nil
	}
	im := b.im
	ids := make([]int64, len(pb.hits))
	for j := range pb.hits {
		ids[j] = pb.hits[j].id
	}
	current := map[int64]string{}
	err := eachChunk(ids, 500, func(chunk []any) error {
		rs, err := b.tx.QueryContext(b.ctx, `SELECT id, email FROM contacts WHERE id IN (`+placeholders(len(chunk))+`)`, chunk...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var id int64
			var email string
			if err := rs.Scan(&id, &email); err != nil {
				return err
			}
			current[id] = email
		}
		return rs.Err()
	})
	if err != nil {
		return err
	}
	var rejected []rejection
	skip := func(p *pendingContact, why string) {
		b.counts.Skipped++
		rejected = append(rejected, rejection{line: p.line, reason: why, fields: p.fields})
	}
	var creates []*pendingContact
	for i := range pb.hits {
		h := &pb.hits[i]
		p := &h.row
		email, ok := current[h.id]
		switch {
		case ok && asciiLower(email) == p.key && im.mode == ModeCreate:
			skip(p, "A contact with this e-mail address exists.")
		case ok && asciiLower(email) == p.key:
			var company int64
			if p.named {
				var err error
				if company, err = b.resolve(p.company); err != nil {
					return err
				}
			}
			if err := b.update(h.id, &p.contact, company); err != nil {
				return err
			}
		case im.mode == ModeUpdate:
			skip(p, "No contact with this e-mail address.")
		case p.company == 0:
			b.counts.Failed++
			rejected = append(rejected, rejection{line: p.line, reason: h.raw, fields: p.fields})
		default:
			creates = append(creates, p)
		}
	}
	if err := b.detachMoved(); err != nil {
		return err
	}
	if len(creates) > 0 {
		// Contacts gone since the session started: create them again.
		if err := b.insertContacts(contactInserts(creates)); err != nil {
			return err
		}
	}
	return b.reject(rejected)
}

// update writes the non-empty fields of c over contact id and, when
// company is set, moves it there.
func (b *ImportBatch) update(id int64, c *ContactInput, company int64) error {
	st, err := b.stmt(`UPDATE contacts SET
		name = CASE WHEN ?1 <> '' THEN ?1 ELSE name END,
		phone = CASE WHEN ?2 <> '' THEN ?2 ELSE phone END,
		title = CASE WHEN ?3 <> '' THEN ?3 ELSE title END,
		company_id = CASE WHEN ?4 > 0 THEN ?4 ELSE company_id END,
		updated_at = ?5
		WHERE id = ?6`)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(b.ctx, c.Name, c.Phone, c.Title, company, b.t, id); err != nil {
		return err
	}
	b.counts.Updated++
	b.contacts = append(b.contacts, id)
	if company > 0 {
		b.moved = append(b.moved, id)
	}
	return nil
}

// detachMoved takes the contacts the batch moved to another company off
// the meetings of their former one: an attendee is a contact of the
// meeting's company (setAttendees), and the meeting's client check is
// the only one their contact page makes.
func (b *ImportBatch) detachMoved() error {
	return eachChunk(b.moved, 500, func(chunk []any) error {
		_, err := b.tx.ExecContext(b.ctx, `DELETE FROM meeting_attendees WHERE contact_id IN (`+placeholders(len(chunk))+`)
			AND (SELECT company_id FROM meetings WHERE id = meeting_id) <> (SELECT company_id FROM contacts WHERE id = contact_id)`, chunk...)
		return err
	})
}

// insertCompany writes one company row and returns its id.
func (b *ImportBatch) insertCompany(c CompanyInput) (int64, error) {
	st, err := b.stmt(`INSERT INTO companies (workspace_id, name, street, town, state, zip, website, description, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(b.ctx, b.im.ws, c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description, b.t, b.t)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (b *ImportBatch) createCompany(c CompanyInput) (int64, error) {
	id, err := b.insertCompany(c)
	if err != nil {
		return 0, err
	}
	im := b.im
	im.names[asciiLower(c.Name)] = id
	if d := webDomain(c.Website); d != "" && im.domains[d] == 0 {
		im.domains[d] = id
	}
	im.companyCount++
	im.companyMax = max(im.companyMax, id)
	b.companies = append(b.companies, id)
	return id, nil
}

// addCompanies imports rows of a companies file; a company is known by
// its name.
func (b *ImportBatch) addCompanies(rows []ImportRow) error {
	im := b.im
	var rejected []rejection
	skip := func(r *ImportRow, why string) {
		b.counts.Skipped++
		rejected = append(rejected, rejection{line: r.Line, reason: why, raw: b.enc.encode(r.Fields, r.Raw)})
	}
	for i := range rows {
		r := &rows[i]
		if r.Reason != "" {
			b.counts.Failed++
			rejected = append(rejected, rejection{line: r.Line, reason: r.Reason, raw: b.enc.encode(r.Fields, r.Raw)})
			continue
		}
		key := r.companyKey
		if line := im.nameLines[key]; line != 0 {
			skip(r, fmt.Sprintf("Duplicate of line %d.", line))
			continue
		}
		im.nameLines[key] = r.Line
		if id := im.names[key]; id != 0 {
			if im.mode == ModeCreate {
				skip(r, "A company with this name exists.")
				continue
			}
			st, err := b.stmt(`UPDATE companies SET
				street = CASE WHEN ?1 <> '' THEN ?1 ELSE street END,
				town = CASE WHEN ?2 <> '' THEN ?2 ELSE town END,
				state = CASE WHEN ?3 <> '' THEN ?3 ELSE state END,
				zip = CASE WHEN ?4 <> '' THEN ?4 ELSE zip END,
				website = CASE WHEN ?5 <> '' THEN ?5 ELSE website END,
				description = CASE WHEN ?6 <> '' THEN ?6 ELSE description END,
				updated_at = ?7
				WHERE id = ?8 AND workspace_id = ?9`)
			if err != nil {
				return err
			}
			c := &r.Company
			res, err := st.ExecContext(b.ctx, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description, b.t, id, im.ws)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				b.counts.Updated++
				if d := webDomain(c.Website); d != "" && im.domains[d] == 0 {
					im.domains[d] = id
				}
				continue
			}
			delete(im.names, key) // deleted since the session loaded it
		}
		if im.mode == ModeUpdate {
			skip(r, "No company with this name.")
			continue
		}
		if _, err := b.createCompany(r.Company); err != nil {
			return err
		}
		b.counts.Created++
	}
	return b.reject(rejected)
}

// contactsPerInsert rows go in one INSERT statement: per-statement
// overhead, not SQLite, dominates single-row inserts.
const contactsPerInsert = 100

// contactInsertSQL inserts n contacts. ?1 is the workspace and ?2 the time,
// bound once for all rows; each row's five values follow.
//
// OR IGNORE, not ON CONFLICT DO NOTHING: the same for these rows (the only
// constraint they can break is the unique address; every value is set),
// but a statement that may abort half-way on a constraint makes SQLite
// copy each page it touches to a statement journal first, so that it can
// undo the statement alone. The contact indexes are written at random
// places, so that was most pages of every statement (measured: a quarter
// of the writer's time on a million rows).
var contactInsertSQL = func() func(n int) string {
	full := buildContactInsert(contactsPerInsert)
	return func(n int) string {
		if n == contactsPerInsert {
			return full
		}
		return buildContactInsert(n)
	}
}()

func buildContactInsert(n int) string {
	var sb strings.Builder
	sb.WriteString(`INSERT OR IGNORE INTO contacts (workspace_id, company_id, name, email, phone, title, created_at, updated_at) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		p := 3 + 5*i
		fmt.Fprintf(&sb, "(?1, ?%d, ?%d, ?%d, ?%d, ?%d, ?2, ?2)", p, p+1, p+2, p+3, p+4)
	}
	return sb.String()
}

// insertContacts runs the inserts of new contacts. An address someone
// else took meanwhile goes to the mode: skipped, or an update of that
// contact.
func (b *ImportBatch) insertContacts(inserts []contactInsert) error {
	if len(inserts) == 0 {
		return nil
	}
	// The writer is alone in its transaction, so every id above the
	// maximum before the first insert is one this batch inserted.
	var before int64
	if err := b.tx.QueryRowContext(b.ctx, `SELECT coalesce(max(id), 0) FROM contacts`).Scan(&before); err != nil {
		return err
	}
	mark := before
	for i := range inserts {
		ins := &inserts[i]
		ins.args[0], ins.args[1] = b.im.ws, b.t
		for j, p := range ins.rows {
			if p.company < 0 {
				id, err := b.resolve(p.company)
				if err != nil {
					return err
				}
				ins.args[2+5*j] = id
			}
		}
		st, err := b.stmt(contactInsertSQL(len(ins.rows)))
		if err != nil {
			return err
		}
		res, err := st.ExecContext(b.ctx, ins.args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		b.counts.Created += n
		if int(n) < len(ins.rows) {
			if err := b.taken(ins.rows, mark); err != nil {
				return err
			}
		}
		if n > 0 {
			mark, _ = res.LastInsertId()
		}
	}
	for id := before + 1; id <= mark; id++ {
		b.contacts = append(b.contacts, id)
	}
	return nil
}

// taken sorts out an insert in which some addresses were already taken:
// contacts with ids above mark are the insert's own, the others existed.
func (b *ImportBatch) taken(rows []*pendingContact, mark int64) error {
	im := b.im
	var emails []any
	for _, p := range rows {
		if e := p.contact.Email; e != "" {
			emails = append(emails, e)
		}
	}
	ids := map[string]int64{}
	rs, err := b.tx.QueryContext(b.ctx, `SELECT id, email FROM contacts WHERE workspace_id = ? AND email <> '' AND email IN (`+placeholders(len(emails))+`)`,
		append([]any{im.ws}, emails...)...)
	if err != nil {
		return err
	}
	for rs.Next() {
		var id int64
		var email string
		if err := rs.Scan(&id, &email); err != nil {
			rs.Close()
			return err
		}
		ids[asciiLower(email)] = id
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	var rejected []rejection
	for _, p := range rows {
		id := ids[p.key]
		if p.key == "" || id > mark {
			continue
		}
		if im.mode == ModeCreate {
			b.counts.Skipped++
			rejected = append(rejected, rejection{line: p.line, reason: "A contact with this e-mail address exists.", fields: p.fields})
			continue
		}
		var company int64
		if p.named {
			// Found by address, a contact stays at its company unless
			// the row names one.
			var err error
			if company, err = b.resolve(p.company); err != nil {
				return err
			}
		}
		if err := b.update(id, &p.contact, company); err != nil {
			return err
		}
	}
	return b.reject(rejected)
}

// errorsPerInsert rejected rows go in one INSERT statement.
const errorsPerInsert = 200

// reject records rows that were skipped or failed, with the reason and the
// row as a CSV record.
func (b *ImportBatch) reject(rows []rejection) error {
	args := make([]any, 0, 4*min(len(rows), errorsPerInsert))
	for start := 0; start < len(rows); start += errorsPerInsert {
		chunk := rows[start:min(start+errorsPerInsert, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			raw := r.raw
			if raw == "" {
				raw = b.enc.encode(r.fields, "")
			}
			args = append(args, b.im.id, r.line, r.reason, raw)
		}
		st, err := b.stmt(`INSERT INTO bulk_action_errors (bulk_action_id, line, reason, raw) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", len(chunk)), ","))
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(b.ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// queueIndex records what the batch wrote and queues one outbox row for
// it. The row is not applied at commit, as other writes are: indexing a
// batch takes longer than writing it, so the relay does it in the
// background while the import goes on.
func (b *ImportBatch) queueIndex() error {
	if len(b.contacts) == 0 && len(b.companies) == 0 {
		return nil
	}
	res, err := b.tx.ExecContext(b.ctx, `INSERT INTO bulk_action_batches (bulk_action_id, workspace_id, contacts, companies) VALUES (?, ?, ?, ?)`,
		b.im.id, b.im.ws, encodeIDs(b.contacts), encodeIDs(b.companies))
	if err != nil {
		return err
	}
	ref, _ := res.LastInsertId()
	_, err = b.tx.ExecContext(b.ctx, `INSERT INTO outbox (workspace_id, kind, ref_id, created_at) VALUES (?, ?, ?, ?)`, b.im.ws, OutboxImport, ref, b.t)
	return err
}
