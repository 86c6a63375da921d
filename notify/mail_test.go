package notify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/rolodex/rolodex/notify"
	"github.com/rolodex/rolodex/store"
)

// inbox is an in-process SMTP server's mailbox.
type inbox struct {
	mu   sync.Mutex
	msgs [][]byte
	rcpt []string
}

type session struct{ in *inbox }

func (s session) Reset()                                      {}
func (s session) Logout() error                               { return nil }
func (s session) Mail(from string, _ *smtp.MailOptions) error { return nil }
func (s session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.in.rcpt = append(s.in.rcpt, to)
	return nil
}
func (s session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.in.msgs = append(s.in.msgs, b)
	return err
}

// smtpServer starts a real SMTP server on a free local port.
func smtpServer(t *testing.T) (*inbox, *url.URL) {
	in := &inbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return session{in}, nil }))
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return in, &url.URL{Scheme: "smtp", Host: l.Addr().String()}
}

func TestDigestEmailThroughSMTP(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in, u := smtpServer(t)
	h.p.Mail = &notify.Mailer{SMTP: u, From: "Rolodex <rolodex@example.com>", BaseURL: "http://crm.test", Secret: []byte("secret")}
	// The setup's digests are already out; e-mail only what follows.
	if mails, _ := h.env.Store.UnsentMail(ctx, math.MaxInt64, 100); len(mails) > 0 {
		for _, m := range mails {
			h.env.Store.MailSent(ctx, m.Key, "", "", 1, true)
		}
	}
	h.now = clock("06:00")
	other, err := h.env.Store.CreateCompany(ctx, h.admin, store.CompanyInput{Name: "Zenith"})
	if err != nil {
		t.Fatal(err)
	}
	h.env.Store.AssignClient(ctx, h.admin, h.bob.ID, other.ID, true)
	h.env.Store.AssignClient(ctx, h.admin, h.alice.ID, other.ID, true)
	h.at("11:00")
	h.env.Store.MarkNotificationsRead(ctx, h.bob, nil, true)
	h.env.Store.MarkNotificationsRead(ctx, h.alice, nil, true)
	for _, m := range mustUnsent(t, h) {
		h.env.Store.MailSent(ctx, m.Key, "", "", 1, true)
	}

	h.now = clock("12:00")
	for i := range 12 {
		h.note(h.alice, fmt.Sprintf("acme %d", i))
	}
	if _, err := h.env.Store.AddNote(ctx, h.alice, other.ID, store.NoteInput{Title: "zenith", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	h.at("13:00")
	if err := h.p.Mail.SendPending(ctx, h.env.Store, h.now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Mail.SendPending(ctx, h.env.Store, h.now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var bobs []*mail.Message
	for i, raw := range in.msgs {
		if in.rcpt[i] == h.bob.Email {
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			bobs = append(bobs, m)
		}
	}
	if len(bobs) != 1 {
		t.Fatalf("bob got %d e-mails, want one digest", len(bobs))
	}
	m := bobs[0]
	if got := m.Header.Get("Subject"); got != "Rolodex: 13 updates on 2 clients" {
		t.Errorf("Subject %q", got)
	}
	page, _ := h.env.Store.Notifications(ctx, h.bob, true, "", 1)
	if got, want := m.Header.Get("Message-Id"), "<"+page.Items[0].Key+"@example.com>"; got != want {
		t.Errorf("Message-ID %q, want %q", got, want)
	}
	if m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.Contains(m.Header.Get("List-Unsubscribe"), "/unsubscribe?token=") {
		t.Errorf("List-Unsubscribe %q", m.Header.Get("List-Unsubscribe"))
	}
	typ, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if typ != "multipart/alternative" {
		t.Fatalf("Content-Type %q", typ)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	var text string
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, strings.Split(p.Header.Get("Content-Type"), ";")[0])
		if len(parts) == 1 {
			text = string(b)
		}
	}
	if strings.Join(parts, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", parts)
	}
	for _, want := range []string{"Acme (http://crm.test/companies/", "acme 9", "and 2 more", "Zenith", "zenith"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "acme 10") || strings.Contains(text, "acme 11") {
		t.Errorf("more than %d listed for one client:\n%s", notify.PerClient, text)
	}
	if uid, ok := h.p.Mail.CheckUnsubscribe(h.p.Mail.UnsubscribeToken(h.bob.ID)); !ok || uid != h.bob.ID {
		t.Error("a signed unsubscribe token is refused")
	}
	if _, ok := h.p.Mail.CheckUnsubscribe(fmt.Sprint(h.alice.ID) + strings.TrimPrefix(h.p.Mail.UnsubscribeToken(h.bob.ID), fmt.Sprint(h.bob.ID))); ok {
		t.Error("bob's signature unsubscribes alice")
	}
}

func mustUnsent(t *testing.T, h *harness) []store.Mail {
	t.Helper()
	m, err := h.env.Store.UnsentMail(context.Background(), math.MaxInt64, 100)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMailRetryBacksOff: a mail server that is down gets the message again
// later, not on every tick.
func TestMailRetryBacksOff(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := &url.URL{Scheme: "smtp", Host: l.Addr().String()}
	l.Close() // nothing listens there now
	h.p.Mail = &notify.Mailer{SMTP: down, From: "Rolodex <rolodex@example.com>", BaseURL: "http://crm.test", Secret: []byte("k")}
	now := h.now.UnixMilli()
	waiting := len(mustUnsent(t, h))
	if waiting == 0 {
		t.Fatal("the setup left no e-mail to send")
	}
	for range 3 {
		if err := h.p.Mail.SendPending(ctx, h.env.Store, now); err != nil {
			t.Fatal(err)
		}
	}
	if due, _ := h.env.Store.UnsentMail(ctx, now, 100); len(due) != 0 {
		t.Errorf("%d e-mails due again at once after failing", len(due))
	}
	later, _ := h.env.Store.UnsentMail(ctx, now+10_000, 100)
	if len(later) != waiting {
		t.Fatalf("%d e-mails due 10 s later, want %d", len(later), waiting)
	}
	for _, m := range later {
		if m.Attempts != 1 || m.LastError == "" {
			t.Errorf("%+v: want one failed attempt with its error", m)
		}
	}
}
