package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rolodex/rolodex/store"
)

// waitNotified waits for u to have n unread notifications: the app's
// pipeline runs in the background.
func waitNotified(t *testing.T, a *testApp, u *store.User, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := a.Store.UnreadNotifications(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d unread notifications, want %d", u.Email, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// drain waits until the pipeline has delivered everything u had pending,
// then marks u's notifications read.
func drain(t *testing.T, a *testApp, u *store.User) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending, err := a.Store.PendingFor(ctx, u.WorkspaceID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		outbox, _ := a.Store.CountOutbox(ctx)
		stream, _ := a.Redis.XLen(ctx, store.Key(u.WorkspaceID, "notify", "stream")).Result()
		if len(pending) == 0 && outbox == 0 && stream == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %d pending", u.Email, len(pending))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := a.Store.MarkNotificationsRead(ctx, u, nil, true); err != nil {
		t.Fatal(err)
	}
}

func setImmediate(t *testing.T, a *testApp, u *store.User) {
	t.Helper()
	if err := a.Store.SetNotificationSettings(context.Background(), u, store.NotificationSettings{Mode: store.NotifyImmediate, Email: true}, a.Handler.Notify.OfferedMS()); err != nil {
		t.Fatal(err)
	}
}

func TestNotificationSettingsAPI(t *testing.T) {
	a := newTestApp(t)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	c := a.client(t, bob)
	path := a.Server.URL + "/api/v1/me/notification-settings"
	_, body := do(t, c, "GET", path, "", "")
	if want := `{"mode":"digest","quiet_seconds":3600,"email":true,"offered_seconds":[900,3600,14400]}`; strings.TrimSpace(body) != want {
		t.Fatalf("a new user's settings: %s, want %s", body, want)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"mode":"sometimes","quiet_seconds":900,"email":true}`, "mode"},
		{`{"mode":"digest","quiet_seconds":1234,"email":true}`, "quiet_seconds"},
	} {
		resp, body := do(t, c, "PUT", path, jsonType, bad.body)
		var e struct{ Fields map[string]string }
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != http.StatusUnprocessableEntity || e.Fields[bad.field] == "" {
			t.Errorf("PUT %s: %d %s, want 422 on %s", bad.body, resp.StatusCode, body, bad.field)
		}
	}
	if resp, body := do(t, c, "PUT", path, jsonType, `{"mode":"digest","quiet_seconds":900,"email":false}`); resp.StatusCode != 200 || !strings.Contains(body, `"quiet_seconds":900,"email":false`) {
		t.Errorf("PUT a good choice: %d %s", resp.StatusCode, body)
	}
	// The /me form answers 422 beside the field.
	resp, body := do(t, c, "POST", a.Server.URL+"/me/notifications", formType, "mode=digest&quiet_seconds=7")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose one of the offered periods.") {
		t.Errorf("POST /me/notifications with a period not offered: %d", resp.StatusCode)
	}
}

// TestNotificationsFollowClientSecurity: a notification is shown only
// while its reader may see the client, checked as it is read.
func TestNotificationsFollowClientSecurity(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	setImmediate(t, a, bob)
	for _, u := range []*store.User{alice, bob} {
		if err := a.Store.AssignClient(ctx, admin(), u.ID, acme.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, a, bob)
	c := a.client(t, bob)
	if resp, _ := do(t, a.client(t, alice), "POST", fmt.Sprintf("%s/companies/%d/notes", a.Server.URL, acme.ID), formType, "title=Pricing+call&body=x"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice adds a note: %d", resp.StatusCode)
	}
	waitNotified(t, a, bob, 1)
	_, body := do(t, c, "GET", a.Server.URL+"/api/v1/notifications?unread=true", "", "")
	if !strings.Contains(body, "Pricing call") || !strings.Contains(body, `"company_name":"Acme"`) {
		t.Fatalf("bob's unread notifications: %s", body)
	}
	_, bell := do(t, c, "GET", a.Server.URL+"/notifications/bell", "", "")
	if !strings.Contains(bell, `data-unread="1"`) {
		t.Errorf("bell: %q", bell)
	}
	if err := a.Store.AssignClient(ctx, admin(), bob.ID, acme.ID, false); err != nil {
		t.Fatal(err)
	}
	_, body = do(t, c, "GET", a.Server.URL+"/api/v1/notifications", "", "")
	if strings.Contains(body, "Acme") || strings.Contains(body, "Pricing") {
		t.Errorf("after losing Acme, bob's notifications still mention it: %s", body)
	}
	_, page := do(t, c, "GET", a.Server.URL+"/notifications", "", "")
	if strings.Contains(page, "Pricing") {
		t.Error("the notifications page still mentions Acme")
	}
	if _, bell = do(t, c, "GET", a.Server.URL+"/notifications/bell", "", ""); strings.Contains(bell, "data-unread") {
		t.Errorf("bell after losing Acme: %q", bell)
	}
	if resp, body := do(t, c, "POST", a.Server.URL+"/api/v1/notifications/read", jsonType, `{}`); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("mark read with nothing named: %d %s", resp.StatusCode, body)
	}
}

// TestUnsubscribe: the e-mail's link asks first (GET changes nothing); the
// one-click POST of RFC 8058 turns notifications off; a forged token is
// not found.
func TestUnsubscribe(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	token := url.QueryEscape(a.Handler.Notify.Mail.UnsubscribeToken(bob.ID))
	anon := a.client(t, nil)
	mode := func() string {
		ns, err := a.Store.NotificationSettings(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		return ns.Mode
	}
	if resp, _ := do(t, anon, "GET", a.Server.URL+"/unsubscribe?token="+token, "", ""); resp.StatusCode != 200 || mode() != store.NotifyDigest {
		t.Fatalf("GET: %d, mode %s", resp.StatusCode, mode())
	}
	if resp, _ := do(t, anon, "POST", a.Server.URL+"/unsubscribe?token="+token+"x", formType, "List-Unsubscribe=One-Click"); resp.StatusCode != 404 || mode() != store.NotifyDigest {
		t.Fatalf("forged token: %d, mode %s", resp.StatusCode, mode())
	}
	if resp, _ := do(t, anon, "POST", a.Server.URL+"/unsubscribe?token="+token, formType, "List-Unsubscribe=One-Click"); resp.StatusCode != 200 || mode() != store.NotifyOff {
		t.Fatalf("one-click POST: %d, mode %s", resp.StatusCode, mode())
	}
}

// TestBrowserBellCountsLive: a colleague's change raises the bell's count
// on a page that is already open, without a reload.
func TestBrowserBellCountsLive(t *testing.T) {
	a := newTestApp(t)
	bg := context.Background()
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	setImmediate(t, a, bob)
	for _, u := range []*store.User{alice, bob} {
		if err := a.Store.AssignClient(bg, admin(), u.ID, acme.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, a, bob)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/companies"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, bob.Email),
		chromedp.SendKeys(`input[name="password"]`, "correct horse battery"),
		chromedp.Submit(`input[name="password"]`),
		chromedp.WaitVisible(`#bell`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	count := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.notReloaded ? (document.querySelector('#bell .bell-count')?.textContent ?? '') : 'reloaded'`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "" {
		t.Fatalf("bell before any change: %q", got)
	}
	for i, title := range []string{"Pricing call", "Follow-up"} {
		if _, err := a.Store.AddNote(bg, alice, acme.ID, store.NoteInput{Title: title}); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(i + 1)
		deadline := time.Now().Add(15 * time.Second)
		for count() != want {
			if time.Now().After(deadline) {
				t.Fatalf("bell shows %q, want %s", count(), want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	screenshot(t, ctx, "bell")
	// The bell leads to the list, each change linking to its client.
	err = chromedp.Do(ctx,
		chromedp.Click(`a.bell`),
		chromedp.WaitVisible(`.notifications a[href="/companies/`+fmt.Sprint(acme.ID)+`"]`),
	)
	if err != nil {
		t.Fatalf("open the notifications: %v", err)
	}
	screenshot(t, ctx, "notifications")
	// /me shows the choice: immediately, here.
	var checked bool
	err = chromedp.Do(ctx,
		chromedp.Navigate(a.Server.URL+"/me"),
		chromedp.WaitVisible(`#notification-settings`),
	)
	if err == nil {
		checked, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#notification-settings input[value="immediate"]').checked`))
	}
	if err != nil || !checked {
		t.Fatalf("/me's notification section: immediate checked %v, %v", checked, err)
	}
	screenshot(t, ctx, "me")
}

// TestMailFilesAndAdminList: with no SMTP server, a digest's e-mail is a
// .eml file in the data directory, and the admin's mail page lists it.
func TestMailFilesAndAdminList(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	alice := a.User(t, "alice@example.com", store.RoleStaff)
	bob := a.User(t, "bob@example.com", store.RoleStaff)
	acme := mustCompany(t, a, "Acme")
	setImmediate(t, a, bob)
	for _, u := range []*store.User{alice, bob} {
		if err := a.Store.AssignClient(ctx, admin(), u.ID, acme.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, a, bob)
	if _, err := a.Store.AddNote(ctx, alice, acme.ID, store.NoteInput{Title: "Pricing call"}); err != nil {
		t.Fatal(err)
	}
	waitNotified(t, a, bob, 1)
	page, err := a.Store.Notifications(ctx, bob, true, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(a.Dir, "mail", page.Items[0].Key+".eml")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			if !strings.Contains(string(b), "Subject: Rolodex: 1 update on 1 client") || !strings.Contains(string(b), "Pricing call") {
				t.Fatalf("%s:\n%s", file, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no e-mail file: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	adm := a.User(t, "admin@example.com", store.RoleAdmin)
	// The row is marked sent just after the file is written.
	for deadline := time.Now().Add(5 * time.Second); ; {
		_, body := do(t, a.client(t, adm), "GET", a.Server.URL+"/admin/mail", "", "")
		if strings.Contains(body, "bob@example.com") && strings.Contains(body, "1 update on 1 client") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/admin/mail does not list bob's digest:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
