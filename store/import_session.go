package store

// The deciding side of a bulk import: ImportSession decides in memory what
// becomes of each row (create, update, skip, fail) and builds each batch's
// statements' arguments; import_write.go writes the batches.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Checkpoint is where an import resumes: the byte offset and line number of
// the first row not yet committed.
type Checkpoint struct {
	Offset int64
	Line   int64
}

// ImportCounts are the outcomes of a batch's rows.
type ImportCounts struct {
	Processed, Created, Updated, Skipped, Failed int64
}

// ImportSession writes one import's rows for the worker that holds the
// action, in two stages that run side by side on two goroutines:
//
//   - Prepare decides each row in memory (create, skip, fail; or "the
//     workspace has this address", which the writer re-checks) and builds
//     the batch's statements' arguments, sorted by company and name;
//   - Write does only SQL: one transaction per batch, with the checkpoint.
//
// so that the writer, which is what bounds an import's speed, starts on
// the next batch the moment it commits one. To decide a row without a
// query, the session holds the workspace's contacts by e-mail address (a
// 64-bit hash, and the id, which the writer re-checks before it trusts
// it), its companies by name and by web domain, and the lines of this file
// already seen, which a resumed import rebuilds with Replay.
//
// Prepare names a company the workspace lacks by a provisional reference
// (a negative number); Write creates it with the first batch that links a
// contact to it. If a company that a prepared batch links to is deleted
// meanwhile, Write refuses the batch with ErrImportRewind: the caller
// rewinds the session to the last checkpoint (Rewind) and prepares the
// rows again.
//
// Prepare and Replay belong to one goroutine and Write to another; Rewind
// runs while neither does. After a batch fails the session is spent: start
// a new one (the worker resumes from the last checkpoint).
type ImportSession struct {
	s      *Store
	id, ws int64
	kind   string
	mode   string
	worker string

	// The preparing side's. For kind contacts, by hashed lower-case
	// address: the workspace's contacts, and the first line of the file
	// with each address. Two maps, so that the one a big file fills holds
	// 12 bytes an entry.
	known map[uint64]int64
	lines map[uint64]uint32
	// names maps an ASCII-lower-cased company name (SQLite's NOCASE) to
	// the company with the lowest id of that name, or to a provisional
	// reference; domains maps a web host without www. the same way. For
	// kind companies they are the writing side's.
	names   map[string]int64
	domains map[string]int64
	// nameLines is the first line of each company name in a companies file
	// (the writing side's).
	nameLines map[string]int64
	lastRef   int64 // the last provisional company reference handed out
	// pendingCap sizes a batch's new contacts like the last batch's, so
	// that the slice is not regrown (and copied) as rows come in.
	pendingCap int
	enc        rowEncoder

	// The writing side's: provisional companies not yet written and those
	// written, by reference.
	unmade map[int64]CompanyInput
	made   refIDs
	// The workspace's companies when the maps were filled, plus those the
	// session created: a batch that finds other numbers checks that the
	// companies it links to still exist.
	companyCount, companyMax int64
	closed                   bool
}

// ErrImportRewind is Write's answer when a company that the batch links
// contacts to was deleted after the batch was prepared: rewind the session
// to the last checkpoint and prepare the rows again.
var ErrImportRewind = errors.New("import: a company the batch links to is gone; rewind")

// seenLine is how lines maps a line number; beyond 4G lines (files of
// many gigabytes) they all read as the last one.
func seenLine(line int64) uint32 { return uint32(min(line, 1<<32-1)) }

// OpenImport starts a session for action a, held by worker. Close it when
// done.
func (s *Store) OpenImport(ctx context.Context, a *BulkAction, worker string) (*ImportSession, error) {
	im := &ImportSession{s: s, id: a.ID, ws: a.WorkspaceID, kind: a.Kind, mode: a.Mode, worker: worker}
	if err := im.loadCompanies(ctx, s.r); err != nil {
		return nil, err
	}
	s.importStarted(ctx)
	if a.Kind == ImportCompanies {
		im.nameLines = map[string]int64{}
		return im, nil
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE workspace_id = ? AND email <> ''`, a.WorkspaceID).Scan(&n); err != nil {
		im.Close()
		return nil, err
	}
	im.known = make(map[uint64]int64, n)
	im.lines = map[uint64]uint32{}
	rows, err := s.r.QueryContext(ctx, `SELECT id, email FROM contacts WHERE workspace_id = ? AND email <> ''`, a.WorkspaceID)
	if err != nil {
		im.Close()
		return nil, err
	}
	defer rows.Close()
	var email string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &email); err != nil {
			im.Close()
			return nil, err
		}
		im.known[hashKey(asciiLower(email))] = id
	}
	if err := rows.Err(); err != nil {
		im.Close()
		return nil, err
	}
	return im, nil
}

// loadCompanies fills the maps of the workspace's companies by name and by
// web domain, and forgets the provisional ones.
func (im *ImportSession) loadCompanies(ctx context.Context, q querier) error {
	im.names, im.domains = map[string]int64{}, map[string]int64{}
	im.unmade, im.made, im.lastRef = map[int64]CompanyInput{}, nil, 0
	im.companyCount, im.companyMax = 0, 0
	rows, err := q.QueryContext(ctx, `SELECT id, name, website FROM companies WHERE workspace_id = ? ORDER BY id`, im.ws)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, website string
		if err := rows.Scan(&id, &name, &website); err != nil {
			return err
		}
		if key := asciiLower(name); im.names[key] == 0 {
			im.names[key] = id
		}
		if d := webDomain(website); d != "" && im.domains[d] == 0 {
			im.domains[d] = id
		}
		im.companyCount++
		im.companyMax = max(im.companyMax, id)
	}
	return rows.Err()
}

// Rewind forgets what the session prepared after checkpoint cp (the last
// one committed), so that the rows from cp on can be prepared again, and
// reloads the workspace's companies. Neither Prepare nor Write may run
// meanwhile.
func (im *ImportSession) Rewind(ctx context.Context, cp Checkpoint) error {
	from := seenLine(cp.Line)
	for k, line := range im.lines {
		if line >= from {
			delete(im.lines, k)
		}
	}
	for k, line := range im.nameLines {
		if line >= cp.Line {
			delete(im.nameLines, k)
		}
	}
	return im.loadCompanies(ctx, im.s.r)
}

// Close ends the session.
func (im *ImportSession) Close() {
	if !im.closed {
		im.closed = true
		im.s.importEnded()
	}
}

// Replay marks a row of the file before the checkpoint as seen, exactly
// as Prepare did when it took the row, so that a resumed import treats a
// later duplicate as the uninterrupted one would.
func (im *ImportSession) Replay(r *ImportRow) {
	r.Check(im.kind)
	if r.Reason != "" {
		return
	}
	if im.kind == ImportCompanies {
		if im.nameLines[r.companyKey] == 0 {
			im.nameLines[r.companyKey] = r.Line
		}
		return
	}
	if r.emailKey != "" && im.lines[r.emailHash] == 0 {
		im.lines[r.emailHash] = seenLine(r.Line)
	}
}

// PreparedBatch is one batch's rows, decided by Prepare and waiting for
// Write. Rows go in with as many Prepare calls as suit the caller (a
// reader need not hold a whole batch's records in memory).
type PreparedBatch struct {
	counts ImportCounts
	next   Checkpoint
	sealed bool
	// kind contacts
	creates  []pendingContact // new contacts, in file order
	inserts  []contactInsert  // built by Seal, in address order
	hits     []pendingHit
	rejected []rejection
	made     []provisional // companies first named in this batch
	// kind companies: decided by Write, which owns the company maps then
	rows []ImportRow
}

// Rows is the number of rows in the batch.
func (pb *PreparedBatch) Rows() int64 { return pb.counts.Processed }

// Next is where the row after the batch's last one starts (set by Seal).
func (pb *PreparedBatch) Next() Checkpoint { return pb.next }

// pendingContact is a contact to create.
type pendingContact struct {
	key     string // ASCII-lower-cased address; "" for none
	line    int64
	company int64 // an id, or a provisional reference (negative)
	named   bool  // the row named its company (an update may move it there)
	contact ContactInput
	fields  []string // for the rejected-rows file, should the address be taken
}

// pendingHit is a row whose address the workspace had when the session
// started: the writer re-checks the contact before it updates or skips it.
type pendingHit struct {
	id  int64 // the contact remembered
	row pendingContact
	raw string // with company 0: why the row has no company, should it be created
}

// refIDs maps the provisional references -1, -2, ... to the companies
// created for them (0: not yet): a slice, since every new contact of a
// batch looks its company up.
type refIDs []int64

func (m refIDs) get(ref int64) int64 {
	if i := -ref - 1; i >= 0 && i < int64(len(m)) {
		return m[i]
	}
	return 0
}

func (m *refIDs) set(ref, id int64) {
	i := int(-ref - 1)
	if i >= len(*m) {
		*m = append(*m, make([]int64, i+1-len(*m))...)
	}
	(*m)[i] = id
}

// provisional is a company a prepared row links to that the workspace
// lacks.
type provisional struct {
	ref int64
	in  CompanyInput
}

// contactInsert is one INSERT of up to contactsPerInsert new contacts:
// its arguments (see contactInsertSQL) and its rows.
type contactInsert struct {
	args []any
	rows []*pendingContact
}

// contactInserts groups rows, in their order, into INSERTs of up to
// contactsPerInsert. ?1 and ?2 (workspace, time) are set by the writer.
func contactInserts(rows []*pendingContact) []contactInsert {
	ins := make([]contactInsert, 0, (len(rows)+contactsPerInsert-1)/contactsPerInsert)
	for start := 0; start < len(rows); start += contactsPerInsert {
		part := rows[start:min(start+contactsPerInsert, len(rows))]
		in := contactInsert{args: make([]any, 2, 2+5*len(part)), rows: part}
		for _, p := range part {
			in.args = append(in.args, p.company, p.contact.Name, p.contact.Email, p.contact.Phone, p.contact.Title)
		}
		ins = append(ins, in)
	}
	return ins
}

func (im *ImportSession) reject(pb *PreparedBatch, r *ImportRow, why string) {
	pb.rejected = append(pb.rejected, rejection{line: r.Line, reason: why, raw: im.enc.encode(r.Fields, r.Raw)})
}

// Prepare decides rows of the batch pb (a new batch is the zero
// PreparedBatch). The rows are not kept.
func (im *ImportSession) Prepare(pb *PreparedBatch, rows []ImportRow) {
	if pb.sealed {
		panic("store: Prepare on a sealed batch")
	}
	for i := range rows {
		rows[i].Check(im.kind)
	}
	if im.kind == ImportCompanies {
		pb.counts.Processed += int64(len(rows))
		pb.rows = append(pb.rows, rows...)
		return
	}
	if pb.creates == nil {
		pb.creates = make([]pendingContact, 0, im.pendingCap)
	}
	pb.counts.Processed += int64(len(rows))
	skip := func(r *ImportRow, why string) {
		pb.counts.Skipped++
		im.reject(pb, r, why)
	}
	for i := range rows {
		r := &rows[i]
		if r.Reason != "" {
			pb.counts.Failed++
			im.reject(pb, r, r.Reason)
			continue
		}
		if r.Contact.Email != "" {
			k := r.emailHash
			if line := im.lines[k]; line != 0 {
				skip(r, fmt.Sprintf("Duplicate of line %d.", line))
				continue
			}
			im.lines[k] = seenLine(r.Line)
			if id := im.known[k]; id != 0 {
				// An update moves a contact only to a company the row
				// names; the company found otherwise is for the case
				// where the contact turns out to be gone.
				company, why := im.company(pb, r)
				pb.hits = append(pb.hits, pendingHit{id: id, raw: why, row: im.pending(r, company)})
				continue
			}
		}
		if im.mode == ModeUpdate {
			if r.Contact.Email == "" {
				skip(r, "No e-mail address to find the contact by.")
			} else {
				skip(r, "No contact with this e-mail address.")
			}
			continue
		}
		company, why := im.company(pb, r)
		if company == 0 {
			pb.counts.Failed++
			im.reject(pb, r, why)
			continue
		}
		pb.creates = append(pb.creates, im.pending(r, company))
	}
}

func (im *ImportSession) pending(r *ImportRow, company int64) pendingContact {
	return pendingContact{key: r.emailKey, line: r.Line, company: company, named: r.Company.Name != "", contact: r.Contact, fields: r.Fields}
}

// company finds the company of a contact row: by the name the row gives,
// otherwise by the domain of its e-mail address; a company the workspace
// lacks gets a provisional reference. It returns 0 and the reason when the
// row names no company and its address is at a public mail provider (or
// missing).
func (im *ImportSession) company(pb *PreparedBatch, r *ImportRow) (int64, string) {
	if r.Company.Name != "" {
		if id := im.names[r.companyKey]; id != 0 {
			return id, ""
		}
		return im.provide(pb, r.Company), ""
	}
	at := strings.LastIndexByte(r.Contact.Email, '@')
	if at < 0 {
		return 0, "No company: add a company column, or an e-mail address at the company's domain."
	}
	domain := asciiLower(r.Contact.Email[at+1:])
	if id := im.domains[domain]; id != 0 {
		return id, ""
	}
	if parent, ok := parentDomain(domain); ok {
		if id := im.domains[parent]; id != 0 {
			return id, ""
		}
	}
	if freeMail[domain] {
		return 0, "No company: " + domain + " is a public mail provider; add a company column."
	}
	if id := im.names[domain]; id != 0 {
		return id, ""
	}
	in := CompanyInput{Name: domain, Website: "https://" + domain}
	if err := in.normalize(); err != nil {
		return 0, "No company: " + reason(err, "Company ")
	}
	return im.provide(pb, in), ""
}

// provide hands out a provisional reference for a company to create.
func (im *ImportSession) provide(pb *PreparedBatch, c CompanyInput) int64 {
	im.lastRef--
	ref := im.lastRef
	im.names[asciiLower(c.Name)] = ref
	if d := webDomain(c.Website); d != "" && im.domains[d] == 0 {
		im.domains[d] = ref
	}
	pb.made = append(pb.made, provisional{ref, c})
	return ref
}

// Seal ends the batch at checkpoint next (where the row after its last
// one starts) and builds its inserts, sorted by company and then name (as
// NOCASE orders it): the rows' ids rise in that order, so the batch writes
// both contacts_company (company, time, id) and contacts_company_name
// (company, name, id) in index order, on neighbouring pages, where their
// entries would otherwise land at random (contacts_updated is appended to
// in any order). A batch has one order: address order helped
// contacts_email alone, this one helps two indexes.
// Measured at a million rows, SQLite's CPU time: 7.6 s in address order,
// 6.0 s in this one, 4.7 s in address order without migration 013's
// three indexes (docs/ARCHITECTURE.md, "Contacts and attendees").
func (im *ImportSession) Seal(pb *PreparedBatch, next Checkpoint) {
	pb.sealed, pb.next = true, next
	if len(pb.creates) == 0 {
		return
	}
	im.pendingCap = max(im.pendingCap, len(pb.creates))
	order := make([]*pendingContact, len(pb.creates))
	for i := range order {
		order[i] = &pb.creates[i]
	}
	slices.SortFunc(order, func(x, y *pendingContact) int {
		if c := companyOrder(x.company, y.company); c != 0 {
			return c
		}
		if c := compareNoCase(x.contact.Name, y.contact.Name); c != 0 {
			return c
		}
		return cmp.Compare(x.line, y.line)
	})
	pb.inserts = contactInserts(order)
}

// companyOrder orders company references as the ids they have or will
// have: the workspace's companies by id, then the provisional ones in the
// order Write creates them (-1, -2, ...), after every company that exists.
func companyOrder(a, b int64) int {
	if (a < 0) != (b < 0) {
		if a < 0 {
			return 1
		}
		return -1
	}
	if a < 0 {
		return cmp.Compare(b, a)
	}
	return cmp.Compare(a, b)
}

// compareNoCase orders two strings as SQLite's NOCASE collation does:
// bytewise, with ASCII letters folded to lower case.
func compareNoCase(a, b string) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}
