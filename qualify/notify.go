package qualify

import (
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// What a handoff notification tells its reader.
const (
	// noticeAssigned: a new handoff is yours.
	noticeAssigned = "assigned"
	// noticeReassignedToYou: someone else let its SLA pass; it is yours now.
	noticeReassignedToYou = "reassigned_to_you"
	// noticeEscalated: it passed its SLA too many times; you manage the team.
	noticeEscalated = "escalated"
	// noticeTakenAway: your SLA passed; it went to someone else.
	noticeTakenAway = "taken_away"
	// noticeReassignedByManager: your team's manager gave it to you.
	noticeReassignedByManager = "reassigned_by_manager"
)

// notice is one handoff email to one sales user.
type notice struct {
	kind    string
	to      store.User
	handoff store.Handoff
	lead    store.Lead
	// other is the owner it went to, for noticeTakenAway.
	other *store.User
}

// queueNotice queues a notice as a transactional message, which nurture's
// sender delivers. The dedupe key "handoff:<id>:<user>:<n>" (n counts the
// handoff's reassignments) makes each notice once, whatever the retries.
//
// The message names no lead: it is sent to a sales user, not to the lead,
// so its opens must never count as the lead's engagement nor show in the
// lead's emails.
func (e *Engine) queueNotice(ctx context.Context, q *store.Queries, n notice, now time.Time) error {
	subject, text, html, err := e.renderNotice(n)
	if err != nil {
		return err
	}
	id := store.NewID()
	_, _, err = q.InsertMessage(ctx, store.Message{
		ID:          id,
		WorkspaceID: n.handoff.WorkspaceID,
		Kind:        store.MessageTransactional,
		DedupeKey:   fmt.Sprintf("handoff:%s:%s:%d", n.handoff.ID, n.to.ID, n.handoff.Reassignments),
		ToEmail:     n.to.Email,
		Subject:     subject,
		TextBody:    text,
		HTMLBody:    html,
		// The bare msg-id (id@host): the sender adds the angle brackets of
		// the header, and bounce reports are matched against this form.
		MessageID: id.String() + "@" + e.mailHost(),
		CreatedAt: now,
	})
	return err
}

// mailHost is the host of BaseURL, the right-hand side of Message-IDs.
func (e *Engine) mailHost() string {
	if u, err := url.Parse(e.cfg.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "leadflow.invalid"
}

// noticeView is what the notice templates read.
type noticeView struct {
	To, Intro, Lead, Company, Title, Email, Phone, Country, Interest, Grade string
	Score                                                                   int
	DueAt, HandoffID, HandoffURL                                            string
}

func (e *Engine) renderNotice(n notice) (subject, text, html string, err error) {
	l := n.lead
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	if name == "" {
		name = l.Email
	}
	who := name
	if l.Company != "" {
		who += " (" + l.Company + ")"
	}
	var intro string
	switch n.kind {
	case noticeAssigned:
		subject = "New lead for you: " + who
		intro = "A qualified lead has been handed to you."
	case noticeReassignedToYou:
		subject = "Lead reassigned to you: " + who
		intro = "This qualified lead was not accepted in time by its previous owner and is now yours."
	case noticeReassignedByManager:
		subject = "Lead reassigned to you: " + who
		intro = "Your team's manager has given this qualified lead to you."
	case noticeEscalated:
		subject = "Escalated lead: " + who
		intro = "This qualified lead missed its deadline too many times and has been escalated to you as the team's manager."
	case noticeTakenAway:
		subject = "Lead moved to another owner: " + who
		intro = "This lead was not accepted in time and has been given to someone else"
		if n.other != nil {
			intro += ": " + n.other.Name
		}
		intro += ". You need not act on it."
	default:
		return "", "", "", fmt.Errorf("render notice: unknown kind %q", n.kind)
	}
	v := noticeView{
		To: n.to.Name, Intro: intro, Lead: name, Company: l.Company, Title: l.Title, Email: l.Email,
		Phone: l.Phone, Country: l.Country, Interest: l.PrimaryInterest, Grade: l.Grade, Score: l.Score,
		DueAt:     n.handoff.SLADueAt.UTC().Format("Mon 2 Jan 2006 15:04 MST"),
		HandoffID: n.handoff.ID.String(),
		// The console's page for it: a person signs in there, lands back on
		// it, and can accept or reject it.
		HandoffURL: strings.TrimRight(e.cfg.BaseURL, "/") + "/console/handoffs/" + n.handoff.ID.String(),
	}
	if n.kind == noticeTakenAway {
		v.DueAt = ""
	}
	var tb, hb strings.Builder
	if err := noticeText.Execute(&tb, v); err != nil {
		return "", "", "", fmt.Errorf("render notice text: %w", err)
	}
	if err := noticeHTML.Execute(&hb, v); err != nil {
		return "", "", "", fmt.Errorf("render notice html: %w", err)
	}
	// A lead's name comes from a public form: keep it out of header syntax.
	subject = strings.Join(strings.Fields(subject), " ")
	return subject, tb.String(), hb.String(), nil
}

var noticeText = texttemplate.Must(texttemplate.New("text").Parse(`Hello {{.To}},

{{.Intro}}

Lead:      {{.Lead}}
{{- if .Company}}
Company:   {{.Company}}{{end}}
{{- if .Title}}
Title:     {{.Title}}{{end}}
Email:     {{.Email}}
{{- if .Phone}}
Phone:     {{.Phone}}{{end}}
{{- if .Country}}
Country:   {{.Country}}{{end}}
{{- if .Interest}}
Interest:  {{.Interest}}{{end}}
Score:     {{.Score}}{{if .Grade}} (grade {{.Grade}}){{end}}
{{if .DueAt}}
Please accept or reject it by {{.DueAt}}, or it goes to the next owner.
{{- end}}

Handoff {{.HandoffID}}: {{.HandoffURL}}
`))

var noticeHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body>
<p>Hello {{.To}},</p>
<p>{{.Intro}}</p>
<table>
<tr><th align="left">Lead</th><td>{{.Lead}}</td></tr>
{{- if .Company}}<tr><th align="left">Company</th><td>{{.Company}}</td></tr>{{end}}
{{- if .Title}}<tr><th align="left">Title</th><td>{{.Title}}</td></tr>{{end}}
<tr><th align="left">Email</th><td>{{.Email}}</td></tr>
{{- if .Phone}}<tr><th align="left">Phone</th><td>{{.Phone}}</td></tr>{{end}}
{{- if .Country}}<tr><th align="left">Country</th><td>{{.Country}}</td></tr>{{end}}
{{- if .Interest}}<tr><th align="left">Interest</th><td>{{.Interest}}</td></tr>{{end}}
<tr><th align="left">Score</th><td>{{.Score}}{{if .Grade}} (grade {{.Grade}}){{end}}</td></tr>
</table>
{{- if .DueAt}}
<p>Please accept or reject it by <strong>{{.DueAt}}</strong>, or it goes to the next owner.</p>
{{- end}}
<p>Handoff <a href="{{.HandoffURL}}">{{.HandoffID}}</a></p>
</body></html>
`))

// ownerUsers loads the users named by ids (nil entries skipped), by ID.
func ownerUsers(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, ids ...*uuid.UUID) (map[uuid.UUID]store.User, error) {
	var want []uuid.UUID
	for _, id := range ids {
		if id != nil {
			want = append(want, *id)
		}
	}
	out := map[uuid.UUID]store.User{}
	if len(want) == 0 {
		return out, nil
	}
	us, err := q.UsersByID(ctx, workspaceID, want)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		out[u.ID] = u
	}
	return out, nil
}

// userRef returns the user id names, or nil.
func userRef(users map[uuid.UUID]store.User, id *uuid.UUID) *store.User {
	if id == nil {
		return nil
	}
	if u, ok := users[*id]; ok {
		return &u
	}
	return nil
}
