package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rolodex/rolodex/store"
)

// PerClient is how many activities a digest e-mail lists per client before
// "and N more".
const PerClient = 10

// Mailer sends digest e-mail from the mail outbox: through SMTP when SMTP
// is set, otherwise as .eml files in Dir.
type Mailer struct {
	SMTP    *url.URL // smtp://user:pass@host:587; nil writes files
	Dir     string   // <data>/mail
	From    string
	BaseURL string // how links in e-mail start, e.g. https://crm.example.com
	Secret  []byte // signs unsubscribe links
}

// UnsubscribeToken signs user uid's one-click unsubscribe link.
func (m *Mailer) UnsubscribeToken(uid int64) string {
	mac := hmac.New(sha256.New, m.Secret)
	fmt.Fprintf(mac, "unsubscribe:%d", uid)
	return strconv.FormatInt(uid, 10) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckUnsubscribe returns the user a token was signed for, or false.
func (m *Mailer) CheckUnsubscribe(token string) (int64, bool) {
	id, _, ok := strings.Cut(token, ".")
	uid, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || uid <= 0 {
		return 0, false
	}
	return uid, hmac.Equal([]byte(token), []byte(m.UnsubscribeToken(uid)))
}

// SendPending sends what the mail outbox holds. A message that went out but
// was not marked sent (the process died mid-send) goes again with the same
// Message-ID, which mail systems use to drop the copy; a file is rewritten
// under the same name.
func (m *Mailer) SendPending(ctx context.Context, st *store.Store, now int64) error {
	mails, err := st.UnsentMail(ctx, now, 50)
	if err != nil {
		return err
	}
	for _, ml := range mails {
		u, n, err := st.DigestMail(ctx, ml.Key)
		var serr *store.Error
		if errors.As(err, &serr) && serr.Code == store.ENotFound {
			// Nothing in it may be shown to its reader any more.
			if err := st.MailSent(ctx, ml.Key, "", "nothing visible", now, true); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		subject, msg := m.Message(u, n, time.UnixMilli(now))
		if err := m.send(ctx, u.Email, ml.Key, msg); err != nil {
			if err := st.MailSent(ctx, ml.Key, subject, err.Error(), now, false); err != nil {
				return err
			}
			continue
		}
		if err := st.MailSent(ctx, ml.Key, subject, "", now, true); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mailer) send(ctx context.Context, to, key string, msg []byte) error {
	if m.SMTP == nil {
		if err := os.MkdirAll(m.Dir, 0o750); err != nil {
			return err
		}
		tmp := filepath.Join(m.Dir, key+".eml.tmp")
		if err := os.WriteFile(tmp, msg, 0o640); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(m.Dir, key+".eml"))
	}
	host := m.SMTP.Hostname()
	port := m.SMTP.Port()
	if port == "" {
		port = "587"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if user := m.SMTP.User; user != nil {
		pass, _ := user.Password()
		// PlainAuth refuses to send the password unencrypted except to
		// localhost.
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, host)); err != nil {
			return err
		}
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return err
	}
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// clientGroup is one client's activities in a digest.
type clientGroup struct {
	Name  string
	URL   string
	Items []store.Activity
	More  int
}

// groups splits a digest by client, in the order the store gives (by
// client name), keeping the first PerClient of each.
func (m *Mailer) groups(n *store.Notification) []clientGroup {
	var out []clientGroup
	for _, a := range n.Items {
		if a.CompanyID == nil {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Name != a.CompanyName {
			out = append(out, clientGroup{Name: a.CompanyName, URL: m.BaseURL + "/companies/" + strconv.FormatInt(*a.CompanyID, 10)})
		}
		g := &out[len(out)-1]
		if len(g.Items) < PerClient {
			g.Items = append(g.Items, a)
		} else {
			g.More++
		}
	}
	return out
}

var htmlBody = template.Must(template.New("digest").Parse(`<!doctype html><html><body style="font-family:sans-serif">
<h1 style="font-size:18px">{{.Summary}}</h1>
{{range .Groups}}<h2 style="font-size:16px"><a href="{{.URL}}">{{.Name}}</a></h2><ul>
{{range .Items}}<li>{{.Summary}}</li>
{{end}}</ul>{{if .More}}<p><a href="{{.URL}}">and {{.More}} more</a></p>{{end}}
{{end}}<p><a href="{{.Inbox}}">All notifications</a> · <a href="{{.Unsubscribe}}">Turn off digests</a></p>
</body></html>`))

// Message builds digest n's e-mail to u: multipart text and HTML, its
// Message-ID the digest id, with a one-click unsubscribe (RFC 8058).
func (m *Mailer) Message(u *store.User, n *store.Notification, at time.Time) (string, []byte) {
	summary := n.Summary()
	groups := m.groups(n)
	unsub := m.BaseURL + "/unsubscribe?token=" + url.QueryEscape(m.UnsubscribeToken(u.ID))
	inbox := m.BaseURL + "/notifications"

	var text bytes.Buffer
	fmt.Fprintf(&text, "%s\r\n", summary)
	for _, g := range groups {
		fmt.Fprintf(&text, "\r\n%s (%s)\r\n", g.Name, g.URL)
		for _, a := range g.Items {
			fmt.Fprintf(&text, "- %s\r\n", a.Summary)
		}
		if g.More > 0 {
			fmt.Fprintf(&text, "and %d more: %s\r\n", g.More, g.URL)
		}
	}
	fmt.Fprintf(&text, "\r\nAll notifications: %s\r\nTurn off digests: %s\r\n", inbox, unsub)
	var html bytes.Buffer
	htmlBody.Execute(&html, map[string]any{"Summary": summary, "Groups": groups, "Inbox": inbox, "Unsubscribe": unsub})

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct {
		typ  string
		data []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ}, "Content-Transfer-Encoding": {"quoted-printable"}})
		qw := quotedprintable.NewWriter(pw)
		qw.Write(part.data)
		qw.Close()
	}
	mw.Close()

	domain := "rolodex.invalid"
	if from, err := mail.ParseAddress(m.From); err == nil {
		if _, d, ok := strings.Cut(from.Address, "@"); ok {
			domain = d
		}
	}
	var msg bytes.Buffer
	to := mail.Address{Name: u.Name, Address: u.Email}
	hdr := [][2]string{
		{"From", m.From},
		{"To", to.String()},
		{"Subject", "Rolodex: " + summary},
		{"Date", at.UTC().Format(time.RFC1123Z)},
		{"Message-ID", "<" + n.Key + "@" + domain + ">"},
		{"List-Unsubscribe", "<" + unsub + ">"},
		{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "multipart/alternative; boundary=" + mw.Boundary()},
	}
	for _, h := range hdr {
		fmt.Fprintf(&msg, "%s: %s\r\n", h[0], h[1])
	}
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return summary, msg.Bytes()
}
