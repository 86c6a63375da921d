package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Company is a client of the sales team.
type Company struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Name        string `json:"name"`
	Street      string `json:"street"`
	Town        string `json:"town"`
	State       string `json:"state"`
	Zip         string `json:"zip"`
	Website     string `json:"website"`
	Description string `json:"description"`
	CreatedAt   int64  `json:"created_at"`
	UpdatedAt   int64  `json:"updated_at"`
	// OwnerID is the user who looks after the client (nil: nobody);
	// OwnerName their name.
	OwnerID   *int64  `json:"owner_id"`
	OwnerName *string `json:"owner_name"`
}

// CompanyInput is what creating or editing a company takes.
type CompanyInput struct {
	Name        string `json:"name"`
	Street      string `json:"street"`
	Town        string `json:"town"`
	State       string `json:"state"`
	Zip         string `json:"zip"`
	Website     string `json:"website"`
	Description string `json:"description"`
	// OwnerID nil leaves the owner as it is (a new company's is its
	// creator); 0 means nobody. Only admins and the owner change it.
	OwnerID *int64 `json:"owner_id"`
}

func (in *CompanyInput) normalize() error {
	for _, f := range []*string{&in.Name, &in.Street, &in.Town, &in.State, &in.Zip, &in.Website} {
		*f = strings.TrimSpace(*f)
	}
	p := Problems{}
	checkLen(p, "name", in.Name, 1, 200)
	checkLen(p, "street", in.Street, 0, 200)
	checkLen(p, "town", in.Town, 0, 100)
	checkLen(p, "state", in.State, 0, 100)
	checkLen(p, "zip", in.Zip, 0, 20)
	checkLen(p, "description", in.Description, 0, 20000)
	if in.Website != "" {
		if !strings.Contains(in.Website, "://") {
			in.Website = "https://" + in.Website
		}
		if !validWebURL(in.Website) {
			p.Add("website", "Enter a web address such as https://example.com.")
		}
	}
	return p.Err()
}

// validWebURL accepts absolute http and https URLs only, so that a stored
// link can never be javascript: or data:.
func validWebURL(s string) bool {
	if len(s) > 2000 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(u.Host, " <>\"")
}

// visible returns the SQL condition that limits company alias c to what u
// may see, with its arguments. Every read of companies and of what hangs
// off them goes through it: it is client security's one home in SQL.
func visible(u *User, c string) (string, []any) {
	if u.IsAdmin() {
		return c + `.workspace_id = ?`, []any{u.WorkspaceID}
	}
	return c + `.workspace_id = ? AND EXISTS (SELECT 1 FROM user_clients uc WHERE uc.user_id = ? AND uc.company_id = ` + c + `.id)`,
		[]any{u.WorkspaceID, u.ID}
}

// staffClients is visible in join form, for a staff user's reads that
// start from their assignments rather than filter companies: the FROM
// clause (assignments uc, then companies c: CROSS JOIN fixes that loop
// order for SQLite's planner) and its condition, whose arguments
// staffClientsArgs gives.
const (
	staffClientsFrom = `user_clients uc CROSS JOIN companies c ON c.id = uc.company_id`
	staffClientsCond = `uc.user_id = ? AND c.workspace_id = ?`
)

func staffClientsArgs(u *User) []any { return []any{u.ID, u.WorkspaceID} }

// myClients returns "My clients" as SQL: the ids of the companies u owns
// or is assigned (column company_id), a set of a few hundred at most. It is the one home of
// "My clients" wherever a list offers it. A list should start from the
// set (FROM (set) mine CROSS JOIN companies c ON c.id = mine.company_id, then
// sort): as a condition on companies, SQLite walks the workspace's whole
// name index in search of them (365 ms against 0.1 ms for a page of an
// admin owning 15 of 300,000 companies). It does not replace visible().
func myClients(u *User) (string, []any) {
	return `SELECT id AS company_id FROM companies WHERE owner_id = ? UNION SELECT company_id FROM user_clients WHERE user_id = ?`, []any{u.ID, u.ID}
}

const companyCols = `c.id, c.workspace_id, c.name, c.street, c.town, c.state, c.zip, c.website, c.description, c.created_at, c.updated_at,
	c.owner_id, (SELECT name FROM users WHERE id = c.owner_id)`

func scanCompany(row interface{ Scan(...any) error }, c *Company) error {
	return row.Scan(&c.ID, &c.WorkspaceID, &c.Name, &c.Street, &c.Town, &c.State, &c.Zip, &c.Website, &c.Description, &c.CreatedAt, &c.UpdatedAt,
		&c.OwnerID, &c.OwnerName)
}

var errCompanyNotFound = Errorf(ENotFound, "Company not found.")

// Company returns company id if u may see it; otherwise ENotFound, the same
// answer as for an id that does not exist.
func (s *Store) Company(ctx context.Context, u *User, id int64) (*Company, error) {
	return s.company(ctx, s.r, u, id)
}

// companyQueries is company's query for admins (true) and staff, built
// once: every company-scoped request runs it.
var companyQueries = func() map[bool]string {
	q := map[bool]string{}
	for _, u := range []*User{{Role: RoleAdmin}, {Role: RoleStaff}} {
		cond, _ := visible(u, "c")
		q[u.IsAdmin()] = `SELECT ` + companyCols + ` FROM companies c WHERE c.id = ? AND ` + cond
	}
	return q
}()

func (s *Store) company(ctx context.Context, q querier, u *User, id int64) (*Company, error) {
	_, args := visible(u, "c")
	c := &Company{}
	err := scanCompany(q.QueryRowContext(ctx, companyQueries[u.IsAdmin()], append([]any{id}, args...)...), c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errCompanyNotFound
	}
	return c, err
}

// CreateCompany adds a company, owned by its creator unless in names
// another owner. A staff user who creates one is assigned to it, or they
// could not see what they just made.
func (s *Store) CreateCompany(ctx context.Context, u *User, in CompanyInput) (*Company, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	t := now()
	c := &Company{WorkspaceID: u.WorkspaceID, Name: in.Name, Street: in.Street, Town: in.Town, State: in.State, Zip: in.Zip,
		Website: in.Website, Description: in.Description, CreatedAt: t, UpdatedAt: t}
	if u.ID > 0 { // system writers (the demo loader) own nothing
		c.OwnerID, c.OwnerName = &u.ID, &u.Name
	}
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`INSERT INTO companies (workspace_id, name, street, town, state, zip, website, description, created_at, updated_at, owner_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.WorkspaceID, c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description, t, t, c.OwnerID)
		if err != nil {
			return err
		}
		c.ID, _ = res.LastInsertId()
		if !u.IsAdmin() {
			if _, err := tx.Exec(`INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (?, ?, ?)`, u.WorkspaceID, u.ID, c.ID); err != nil {
				return err
			}
			if err := tx.queue(u.WorkspaceID, OutboxUserClients, u.ID); err != nil {
				return err
			}
		}
		if err := tx.record(u, c.WorkspaceID, c.ID, ActivityCompanyCreated, c.ID, said(u, "created", c.Name)); err != nil {
			return err
		}
		if in.OwnerID != nil {
			if err := setOwner(tx, u, c, *in.OwnerID); err != nil {
				return err
			}
		}
		return tx.queue(c.WorkspaceID, OutboxCompany, c.ID)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateCompany replaces the fields of a company u may see.
func (s *Store) UpdateCompany(ctx context.Context, u *User, id int64, in CompanyInput) (*Company, error) {
	return s.ChangeCompany(ctx, u, id, func(*Company) (CompanyInput, error) { return in, nil })
}

// ChangeCompany edits a company u may see with what change makes of it.
// change gets the company as it is, read in the transaction that writes
// its answer, so that a partial update (PATCH) cannot undo a write made
// meanwhile.
func (s *Store) ChangeCompany(ctx context.Context, u *User, id int64, change func(cur *Company) (CompanyInput, error)) (*Company, error) {
	var c *Company
	err := s.tx(ctx, func(tx *Tx) error {
		var err error
		if c, err = s.company(ctx, tx, u, id); err != nil {
			return err
		}
		cur := *c
		in, err := change(&cur)
		if err == nil {
			err = in.normalize()
		}
		if err != nil {
			return err
		}
		// An edit that changes nothing writes and records nothing.
		fields := in
		fields.OwnerID = nil
		if fields == c.input() && (in.OwnerID == nil || c.ownedBy(*in.OwnerID)) {
			return nil
		}
		// A change of owner only is recorded as that alone (setOwner).
		if fields != c.input() {
			c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description = in.Name, in.Street, in.Town, in.State, in.Zip, in.Website, in.Description
			c.UpdatedAt = now()
			if _, err := tx.Exec(`UPDATE companies SET name = ?, street = ?, town = ?, state = ?, zip = ?, website = ?, description = ?, updated_at = ? WHERE id = ?`,
				c.Name, c.Street, c.Town, c.State, c.Zip, c.Website, c.Description, c.UpdatedAt, c.ID); err != nil {
				return err
			}
			if err := tx.record(u, c.WorkspaceID, c.ID, ActivityCompanyUpdated, c.ID, said(u, "edited", c.Name)); err != nil {
				return err
			}
		}
		if in.OwnerID != nil {
			if err := setOwner(tx, u, c, *in.OwnerID); err != nil {
				return err
			}
		}
		return tx.queue(c.WorkspaceID, OutboxCompany, c.ID)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// input is the company's fields as an edit would give them, the owner
// left as it is.
func (c *Company) input() CompanyInput {
	return CompanyInput{Name: c.Name, Street: c.Street, Town: c.Town, State: c.State, Zip: c.Zip, Website: c.Website, Description: c.Description}
}

// ownedBy reports whether user ownerID (0: nobody) owns c.
func (c *Company) ownedBy(ownerID int64) bool {
	return ownerID == 0 && c.OwnerID == nil || c.OwnerID != nil && *c.OwnerID == ownerID
}

// CanChangeOwner reports whether u may change who owns c: an admin, or
// c's owner.
func (c *Company) CanChangeOwner(u *User) bool {
	return u.IsAdmin() || c.OwnerID != nil && *c.OwnerID == u.ID
}

// OwnerChoices returns who may own company id, by name, for u who may
// change its owner (EForbidden otherwise): the active users of its
// workspace, and its current owner even if deactivated, so that saving
// the form unchanged keeps them.
func (s *Store) OwnerChoices(ctx context.Context, u *User, id int64) ([]User, error) {
	c, err := s.Company(ctx, u, id)
	if err != nil {
		return nil, err
	}
	if !c.CanChangeOwner(u) {
		return nil, Errorf(EForbidden, "Only an admin or the company's owner can change who owns it.")
	}
	out := []User{}
	err = queryEach(ctx, s.r, func(row interface{ Scan(...any) error }, o *User) error { return row.Scan(userFields(o)...) },
		func(o *User) error { out = append(out, *o); return nil },
		`SELECT `+userCols+` FROM users WHERE workspace_id = ? AND (deactivated_at = 0 OR id = ?) ORDER BY name COLLATE NOCASE, id`,
		c.WorkspaceID, c.OwnerID)
	return out, err
}

// setOwner makes user ownerID (0: nobody) the owner of c, which u may
// see, and records the change. Only an admin or c's owner may change it;
// naming the owner c has already is no change. The owner must be an
// active user of c's workspace. A staff owner is also given the client,
// and taking the client away from them clears the owner (removedClient),
// so the owner can always see what they look after.
func setOwner(tx *Tx, u *User, c *Company, ownerID int64) error {
	if c.ownedBy(ownerID) {
		return nil
	}
	if !c.CanChangeOwner(u) {
		return Errorf(EForbidden, "Only an admin or the company's owner can change who owns it.")
	}
	summary := said(u, "cleared the owner of", c.Name)
	var owner *int64
	var name *string
	if ownerID != 0 {
		var role string
		var deactivated int64
		o := &User{ID: ownerID}
		err := tx.QueryRow(`SELECT name, role, deactivated_at FROM users WHERE id = ? AND workspace_id = ?`, ownerID, c.WorkspaceID).Scan(&o.Name, &role, &deactivated)
		if isNoRows(err) {
			return &Error{Code: EInvalid, Message: "Choose a user of this workspace as the owner.", Fields: map[string]string{"owner_id": "Choose a user of this workspace."}}
		}
		if err != nil {
			return err
		}
		if deactivated != 0 {
			return &Error{Code: EInvalid, Message: o.Name + " is deactivated.", Fields: map[string]string{"owner_id": o.Name + " is deactivated; choose an active user."}}
		}
		if role == RoleStaff {
			added, err := tx.addClient(u, ownerID, c.ID)
			if err != nil {
				return err
			}
			if added {
				if err := tx.queue(c.WorkspaceID, OutboxUserClients, ownerID); err != nil {
					return err
				}
			}
		}
		owner, name = &o.ID, &o.Name
		summary = said(u, "made "+o.Name+" the owner of", c.Name)
	}
	if _, err := tx.Exec(`UPDATE companies SET owner_id = ? WHERE id = ?`, owner, c.ID); err != nil {
		return err
	}
	c.OwnerID, c.OwnerName = owner, name
	return tx.record(u, c.WorkspaceID, c.ID, ActivityCompanyOwnerChanged, ownerID, summary)
}

// DeleteCompany removes a company and everything on its timeline. Only
// admins delete companies; staff who can see it get EForbidden, staff who
// cannot get ENotFound.
func (s *Store) DeleteCompany(ctx context.Context, u *User, id int64) error {
	return s.tx(ctx, func(tx *Tx) error {
		c, err := s.company(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if !u.IsAdmin() {
			return Errorf(EForbidden, "Only an admin can delete a company.")
		}
		// Contacts leave the search index with their company.
		contacts, err := queryColumn[int64](ctx, tx, `SELECT id FROM contacts WHERE company_id = ?`, c.ID)
		if err != nil {
			return err
		}
		uids, err := queryColumn[int64](ctx, tx, `SELECT user_id FROM user_clients WHERE company_id = ?`, c.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM companies WHERE id = ?`, c.ID); err != nil {
			return err
		}
		// Written after the delete, with no company, or the cascade would
		// take it too. Its assignments went with the company, so no one is
		// notified (RecordPending finds no recipient); admins see it in the
		// workspace's activity and webhooks deliver it.
		if err := tx.record(u, c.WorkspaceID, 0, ActivityCompanyDeleted, c.ID, said(u, "deleted", c.Name)); err != nil {
			return err
		}
		for _, cid := range contacts {
			if err := tx.queue(c.WorkspaceID, OutboxContact, cid); err != nil {
				return err
			}
		}
		for _, uid := range uids {
			if err := tx.queue(c.WorkspaceID, OutboxUserClients, uid); err != nil {
				return err
			}
		}
		return tx.queue(c.WorkspaceID, OutboxCompany, c.ID)
	})
}

// CompanyQuery selects a page of the company list.
type CompanyQuery struct {
	Sort   string // "name" (default), "created", "updated"
	Desc   bool
	Cursor string // from a previous page's Next or Prev
	Limit  int    // default 25, at most 100
	Mine   bool   // only the viewer's clients (myClients)
}

// CompanyPage is one page of companies with cursors to its neighbours.
type CompanyPage struct {
	Items []Company `json:"items"`
	Next  string    `json:"next_cursor,omitempty"`
	Prev  string    `json:"prev_cursor,omitempty"`
}

// listCursor is the keyset position of a page boundary: the sort value and
// id of a row, and whether to read backwards from it.
type listCursor struct {
	S    string `json:"s,omitempty"`
	N    int64  `json:"n,omitempty"`
	ID   int64  `json:"id"`
	Back bool   `json:"b,omitempty"`
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func errBadCursor() error {
	return &Error{Code: EInvalid, Message: "This page link is out of date.", Fields: map[string]string{"cursor": "This page link is out of date."}}
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return errBadCursor()
	}
	return nil
}

// ListCompanies returns a page of the companies u may see, by keyset on the
// sort column so that every page costs the same however deep it is.
func (s *Store) ListCompanies(ctx context.Context, u *User, q CompanyQuery) (*CompanyPage, error) {
	p := Problems{}
	if checkLimit(p, &q.Limit, 25, 100); len(p) > 0 {
		return nil, p.Err()
	}
	var col string
	switch q.Sort {
	case "", "name":
		q.Sort, col = "name", "c.name COLLATE NOCASE"
	case "created":
		col = "c.created_at"
	case "updated":
		col = "c.updated_at"
	default:
		return nil, &Error{Code: EInvalid, Message: "Choose how to sort the list.", Fields: map[string]string{"sort": "Sort by name, created or updated."}}
	}
	var cur listCursor
	if q.Cursor != "" {
		if err := decodeCursor(q.Cursor, &cur); err != nil {
			return nil, err
		}
	}
	// For staff the query starts from their assignments: a few thousand
	// rows to sort beat walking a million-row name index in search of
	// them.
	from := `companies c`
	cond, args := visible(u, "c")
	if !u.IsAdmin() {
		from, cond, args = staffClientsFrom, staffClientsCond, staffClientsArgs(u)
	}
	if q.Mine {
		mine, mineArgs := myClients(u)
		cond, args = visible(u, "c")
		from, args = `(`+mine+`) mine CROSS JOIN companies c ON c.id = mine.company_id`, append(mineArgs, args...)
	}
	// Reading backwards flips the order; the page is reversed afterwards.
	desc := q.Desc != cur.Back
	op, dir := ">", "ASC"
	if desc {
		op, dir = "<", "DESC"
	}
	if q.Cursor != "" {
		var v any = cur.N
		if q.Sort == "name" {
			v = cur.S
		}
		cond += ` AND (` + col + `, c.id) ` + op + ` (?, ?)`
		args = append(args, v, cur.ID)
	}
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+companyCols+` FROM `+from+` WHERE `+cond+
		` ORDER BY `+col+` `+dir+`, c.id `+dir+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &CompanyPage{Items: []Company{}}
	for rows.Next() {
		var c Company
		if err := scanCompany(rows, &c); err != nil {
			return nil, err
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var more bool
	page.Items, more = pageOf(page.Items, q.Limit, cur.Back)
	if len(page.Items) == 0 {
		return page, nil
	}
	at := func(c Company, back bool) string {
		lc := listCursor{ID: c.ID, Back: back}
		switch q.Sort {
		case "name":
			lc.S = c.Name
		case "created":
			lc.N = c.CreatedAt
		case "updated":
			lc.N = c.UpdatedAt
		}
		return encodeCursor(lc)
	}
	// Forward: a next page exists if we over-read; a previous one if we
	// came from a cursor. Backward: the mirror image.
	if (!cur.Back && more) || (cur.Back && q.Cursor != "") {
		page.Next = at(page.Items[len(page.Items)-1], false)
	}
	if (!cur.Back && q.Cursor != "") || (cur.Back && more) {
		page.Prev = at(page.Items[0], true)
	}
	return page, nil
}

// CompaniesByID returns the visible companies among ids, keyed by id, in
// one query (search results and other lists name their companies with it).
func (s *Store) CompaniesByID(ctx context.Context, u *User, ids []int64) (map[int64]*Company, error) {
	out := make(map[int64]*Company, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		cond, args := visible(u, "c")
		inArgs := make([]any, len(chunk))
		for i, id := range chunk {
			inArgs[i] = id
		}
		// NOT INDEXED keeps SQLite on rowid lookups for the id list; left
		// to itself it may prefer a scan of the workspace's index.
		rows, err := s.r.QueryContext(ctx, `SELECT `+companyCols+` FROM companies c NOT INDEXED WHERE c.id IN (`+placeholders(len(chunk))+`) AND `+cond,
			append(inArgs, args...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			c := &Company{}
			if err := scanCompany(rows, c); err != nil {
				rows.Close()
				return nil, err
			}
			out[c.ID] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
