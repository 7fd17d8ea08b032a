package capture

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// logAnswerRows is how many question and answer pairs the page offers.
const logAnswerRows = 5

// logResponseForm is "log a response" as typed, so a refused post shows
// what the person wrote with errors next to their fields.
type logResponseForm struct {
	// LeadID is the lead the page was opened from, if any: its person's
	// details are filled in, and the page leads back to it.
	LeadID                                                     string
	Channel                                                    string
	Email, Phone, FirstName, LastName, Company, Title, Country string
	Campaign, ProductInterest, Description                     string
	Answers                                                    []store.Answer
	Errors                                                     map[string]string
}

type answerRow struct {
	Index, Number    int
	Question, Answer string
}

type logResponseView struct {
	Form     logResponseForm
	Channels []choice
	Error    string
	// Logged is the response just recorded.
	Logged *store.Response
}

// Rows are the answer inputs, numbered for their labels.
func (f logResponseForm) Rows() []answerRow {
	rows := make([]answerRow, len(f.Answers))
	for i, a := range f.Answers {
		rows[i] = answerRow{Index: i, Number: i + 1, Question: a.Question, Answer: a.Answer}
	}
	return rows
}

// AnswersError says what is wrong with the answers given, if anything.
func (f logResponseForm) AnswersError() string {
	for k := range f.Errors {
		if strings.HasPrefix(k, "answers") {
			return "Each answer needs its question; questions up to 500 characters, answers up to 2,000."
		}
	}
	return ""
}

func (f *logResponseForm) fields() map[string]*string {
	return map[string]*string{
		"channel": &f.Channel, "email": &f.Email, "phone": &f.Phone, "first_name": &f.FirstName,
		"last_name": &f.LastName, "company": &f.Company, "title": &f.Title, "country": &f.Country,
		"campaign": &f.Campaign, "product_interest": &f.ProductInterest, "description": &f.Description,
	}
}

func (p *Pages) renderLogResponse(ec echo.Context, status int, v logResponseView) error {
	for len(v.Form.Answers) < logAnswerRows {
		v.Form.Answers = append(v.Form.Answers, store.Answer{})
	}

	for _, c := range recordableChannels {
		v.Channels = append(v.Channels, choice{Value: c, Label: c, Selected: c == v.Form.Channel})
	}
	return p.con.Render(ec, status, p.t.logResponse, "Log a response", v)
}

// logResponsePage offers "log a response", filled in with a lead's person
// when opened from the lead.
func (p *Pages) logResponsePage(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	v := logResponseView{Form: logResponseForm{Channel: store.ChannelPhone}}
	leadID, err := httpapi.QueryID(ec, "lead_id")
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	if leadID != uuid.Nil {
		l, err := p.api.store.GetLead(ctx, pr.WorkspaceID, leadID)
		if err != nil {
			return notFound(err)
		}
		v.Form = logResponseForm{LeadID: l.ID.String(), Channel: store.ChannelPhone, Email: l.Email, Phone: l.Phone,
			FirstName: l.FirstName, LastName: l.LastName, Company: l.Company, Title: l.Title, Country: l.Country}
	}
	if logged, err := httpapi.QueryID(ec, "logged"); err == nil && logged != uuid.Nil {
		if r, err := p.api.store.GetResponse(ctx, pr.WorkspaceID, logged); err == nil {
			v.Logged = &r
		}
	}
	return p.renderLogResponse(ec, http.StatusOK, v)
}

// logResponse records the response as the API does: resolved like a form
// response, by the worker.
func (p *Pages) logResponse(ec echo.Context) error {
	pr, err := principal(ec)
	if err != nil {
		return err
	}
	var f logResponseForm
	for name, dst := range f.fields() {
		*dst = ec.FormValue(name)
	}
	f.LeadID = ec.FormValue("lead_id")
	b := apiRecordedResponse{
		Channel: strings.TrimSpace(f.Channel), Email: f.Email, Phone: f.Phone, FirstName: f.FirstName,
		LastName: f.LastName, Company: f.Company, Title: f.Title, Country: f.Country,
		Campaign: f.Campaign, ProductInterest: f.ProductInterest, Description: f.Description,
	}
	for i := range logAnswerRows {
		q, a := ec.FormValue(fmt.Sprintf("question_%d", i)), ec.FormValue(fmt.Sprintf("answer_%d", i))
		f.Answers = append(f.Answers, store.Answer{Question: q, Answer: a})
		if strings.TrimSpace(q) != "" || strings.TrimSpace(a) != "" {
			b.Answers = append(b.Answers, store.Answer{Question: q, Answer: a})
		}
	}
	r, _, err := p.api.keepRecorded(ec.Request().Context(), pr.WorkspaceID, b, pr.Actor())
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		return p.renderLogResponse(ec, http.StatusUnprocessableEntity, logResponseView{Form: f, Error: "Not recorded: see the fields marked."})
	}
	if err != nil {
		return fmt.Errorf("log response: %w", err)
	}
	to := "/console/responses/new?logged=" + r.ID.String()
	if id, err := uuid.Parse(f.LeadID); err == nil {
		to += "&lead_id=" + id.String()
	}
	return ec.Redirect(http.StatusSeeOther, to)
}
