package store

import (
	"context"
)

// SetUserClients replaces the companies staff user userID may see. Only
// companies of the admin's workspace count; unknown ids are refused.
func (s *Store) SetUserClients(ctx context.Context, admin *User, userID int64, companyIDs []int64) error {
	if !admin.IsAdmin() {
		return Errorf(EForbidden, "Only an admin can assign clients.")
	}
	return s.tx(ctx, func(tx *Tx) error {
		if err := s.checkStaff(ctx, tx, admin.WorkspaceID, userID); err != nil {
			return err
		}
		seen := map[int64]bool{}
		ids := make([]int64, 0, len(companyIDs))
		for _, id := range companyIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := []any{admin.WorkspaceID}
			for _, id := range chunk {
				args = append(args, id)
			}
			var n int
			if err := tx.QueryRow(`SELECT count(*) FROM companies NOT INDEXED WHERE workspace_id = ? AND id IN (`+placeholders(len(chunk))+`)`, args...).Scan(&n); err != nil {
				return err
			}
			if n != len(chunk) {
				return &Error{Code: EInvalid, Message: "Some companies do not exist.", Fields: map[string]string{"company_ids": "Every id must name a company of this workspace."}}
			}
		}
		had, err := queryColumn[int64](ctx, tx, `SELECT company_id FROM user_clients WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM user_clients WHERE user_id = ?`, userID); err != nil {
			return err
		}
		stmt, err := tx.Prepare(`INSERT INTO user_clients (workspace_id, user_id, company_id) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.Exec(admin.WorkspaceID, userID, id); err != nil {
				return err
			}
		}
		// Each client given or taken away is an activity; one kept is not.
		kept := map[int64]bool{}
		for _, id := range had {
			kept[id] = seen[id]
		}
		for _, id := range ids {
			if _, ok := kept[id]; !ok {
				if err := tx.recordAssignment(admin, userID, id, true); err != nil {
					return err
				}
			}
		}
		for id, k := range kept {
			if !k {
				if err := tx.removedClient(admin, userID, id); err != nil {
					return err
				}
			}
		}
		return tx.queue(admin.WorkspaceID, OutboxUserClients, userID)
	})
}

// AssignClient gives staff user userID the company companyID (or takes it
// away when assign is false). Assigning a company the user already has is
// an EConflict, so the admin is told rather than shown a success.
func (s *Store) AssignClient(ctx context.Context, admin *User, userID, companyID int64, assign bool) error {
	if !admin.IsAdmin() {
		return Errorf(EForbidden, "Only an admin can assign clients.")
	}
	return s.tx(ctx, func(tx *Tx) error {
		if err := s.checkStaff(ctx, tx, admin.WorkspaceID, userID); err != nil {
			return err
		}
		c, err := s.company(ctx, tx, admin, companyID)
		if err != nil {
			return err
		}
		if assign {
			added, err := tx.addClient(admin, userID, companyID)
			if err != nil {
				return err
			}
			if !added {
				msg := c.Name + " is already one of this user's clients."
				return &Error{Code: EConflict, Message: msg, Fields: map[string]string{"company_id": msg}}
			}
		} else {
			res, err := tx.Exec(`DELETE FROM user_clients WHERE user_id = ? AND company_id = ?`, userID, companyID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				if err := tx.removedClient(admin, userID, companyID); err != nil {
					return err
				}
			}
		}
		return tx.queue(admin.WorkspaceID, OutboxUserClients, userID)
	})
}

// addClient gives staff user userID the company companyID on behalf of
// actor and records it, unless they have it already (added is then
// false). The caller queues the user's client set (OutboxUserClients).
func (t *Tx) addClient(actor *User, userID, companyID int64) (added bool, err error) {
	res, err := t.Exec(`INSERT OR IGNORE INTO user_clients (workspace_id, user_id, company_id) VALUES (?, ?, ?)`, actor.WorkspaceID, userID, companyID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	return true, t.recordAssignment(actor, userID, companyID, true)
}

// removedClient follows taking the client companyID away from staff user
// userID on behalf of actor (an admin): it records that, and clears the
// owner if userID owned it, recording that too, since an owner who may
// not see their company could neither find it nor hand it over.
func (t *Tx) removedClient(actor *User, userID, companyID int64) error {
	if err := t.recordAssignment(actor, userID, companyID, false); err != nil {
		return err
	}
	var company string
	err := t.QueryRow(`UPDATE companies SET owner_id = NULL WHERE id = ? AND owner_id = ? RETURNING name`, companyID, userID).Scan(&company)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.record(actor, actor.WorkspaceID, companyID, ActivityCompanyOwnerChanged, 0, said(actor, "cleared the owner of", company))
}

// recordAssignment records that actor (an admin, or an owner handing a
// client over) gave staff user userID the client companyID (or took it
// away).
func (t *Tx) recordAssignment(actor *User, userID, companyID int64, assigned bool) error {
	var user, company string
	if err := t.QueryRow(`SELECT u.name, c.name FROM users u, companies c WHERE u.id = ? AND c.id = ?`, userID, companyID).Scan(&user, &company); err != nil {
		return err
	}
	if assigned {
		return t.record(actor, actor.WorkspaceID, companyID, ActivityClientAssigned, userID, said(actor, "assigned", company)+" to "+user)
	}
	return t.record(actor, actor.WorkspaceID, companyID, ActivityClientUnassigned, userID, said(actor, "took", company)+" from "+user)
}

func (s *Store) checkStaff(ctx context.Context, q querier, ws, userID int64) error {
	var role string
	err := q.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ? AND workspace_id = ?`, userID, ws).Scan(&role)
	if isNoRows(err) {
		return Errorf(ENotFound, "User not found.")
	}
	if err != nil {
		return err
	}
	if role != RoleStaff {
		return Errorf(EInvalid, "Admins see every company; only staff users have clients.")
	}
	return nil
}

// UserClients returns the companies assigned to a user of the admin's
// workspace, by name.
func (s *Store) UserClients(ctx context.Context, admin *User, userID int64) ([]Company, error) {
	if !admin.IsAdmin() {
		return nil, errNotAdminUsers
	}
	ws := admin.WorkspaceID
	rows, err := s.r.QueryContext(ctx, `SELECT `+companyCols+` FROM user_clients uc JOIN companies c ON c.id = uc.company_id
		WHERE uc.user_id = ? AND c.workspace_id = ? ORDER BY c.name COLLATE NOCASE, c.id`, userID, ws)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Company{}
	for rows.Next() {
		var c Company
		if err := scanCompany(rows, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
