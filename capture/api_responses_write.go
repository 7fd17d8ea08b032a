package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Bounds of a response recorded by hand.
const (
	maxAnswers        = 100
	maxQuestionLen    = 500
	maxAnswerLen      = 2000
	recordedFutureLag = 5 * time.Minute
)

// apiRecordedResponse is the body of POST /responses: a response that came
// through another channel than a form (a phone survey, an email reply, a
// chat, a list subscription), recorded by a person or a system.
type apiRecordedResponse struct {
	// ID, when the caller sets it, makes the call safe to repeat: a second
	// call with the same ID answers the response the first one recorded.
	ID      uuid.UUID `json:"id"`
	Channel string    `json:"channel"`
	// The person, as a referral names them.
	FirstName   string            `json:"first_name"`
	LastName    string            `json:"last_name"`
	Email       string            `json:"email"`
	Phone       string            `json:"phone"`
	Company     string            `json:"company"`
	Title       string            `json:"title"`
	City        string            `json:"city"`
	State       string            `json:"state"`
	Country     string            `json:"country"`
	LeadSource  string            `json:"lead_source"`
	Description string            `json:"description"`
	Custom      map[string]string `json:"custom"`
	Campaign    string            `json:"campaign"`
	// ProductInterest is what the person said they want to buy; on the list
	// channel it is what makes a subscriber a lead.
	ProductInterest string         `json:"product_interest"`
	Consent         bool           `json:"consent"`
	ConsentText     string         `json:"consent_text"`
	Answers         []store.Answer `json:"answers"`
	// ReceivedAt is when the person gave the response (the call, the
	// reply); it defaults to now.
	ReceivedAt *time.Time `json:"received_at"`
	// RecordedBy names who recorded it when that is not the caller itself
	// (a call-centre agent behind an integration's API key).
	RecordedBy string `json:"recorded_by"`
}

// recordableChannels are the channels POST /responses takes: web responses
// come through their form, imports through an import.
var recordableChannels = []string{store.ChannelPhone, store.ChannelEmail, store.ChannelEvent,
	store.ChannelList, store.ChannelChat}

// recordResponse keeps a response recorded by hand and queues it to be
// resolved exactly as a form response is: 202 once it is committed, 200 when
// the caller's ID names a response it already recorded.
func (a *API) recordResponse(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiRecordedResponse
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	r, existed, err := a.keepRecorded(c.Request().Context(), p.WorkspaceID, b, p.Actor())
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if existed {
		status = http.StatusOK
	}
	return c.JSON(status, newResponse(r))
}

// keepRecorded keeps a response recorded by hand, signed by actor, and
// queues it to be resolved: what the API and the console's "log a response"
// both record with. existed reports that b's ID named a response already
// recorded, which is returned unchanged.
func (a *API) keepRecorded(ctx context.Context, workspaceID uuid.UUID, b apiRecordedResponse, actor string) (_ store.Response, existed bool, _ error) {
	r, err := b.response(workspaceID, actor, a.now())
	if err != nil {
		return store.Response{}, false, err
	}
	err = a.store.InTx(ctx, func(q *store.Queries) error {
		return q.InsertResponses(ctx, []store.Response{r}, nil)
	})
	if errors.Is(err, store.ErrConflict) && b.ID != uuid.Nil {
		// The same call again (or an ID someone else took).
		prior, gerr := a.store.GetResponse(ctx, workspaceID, b.ID)
		if errors.Is(gerr, store.ErrNotFound) {
			return store.Response{}, false, &ValidationError{Fields: map[string]string{"id": "is taken; send a new one or none"}}
		}
		return prior, gerr == nil, gerr
	}
	if err != nil {
		return store.Response{}, false, err
	}
	// Committed: Redis being slow or away only delays processing, the
	// sweeper queues what this could not.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	if err := EnqueueProcess(qctx, a.enqueuer, r.ID); err != nil {
		a.log.Warn("record_enqueue_failed", "response_id", r.ID, "err", err)
	}
	saved, err := a.store.GetResponse(ctx, workspaceID, r.ID)
	return saved, false, err
}

// response checks a recorded response and shapes it for the store, its
// person's fields normalised as a form's are. Every field at fault is named
// at once; nothing is kept until all are right.
func (b apiRecordedResponse) response(workspaceID uuid.UUID, actor string, now time.Time) (store.Response, error) {
	bad := map[string]string{}
	person, err := apiReferral{
		FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Phone: b.Phone,
		Company: b.Company, Title: b.Title, City: b.City, State: b.State, Country: b.Country,
		LeadSource: b.LeadSource, Description: b.Description, Custom: b.Custom,
	}.person()
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		for k, v := range verr.Fields {
			bad[k] = v
		}
	case err != nil:
		return store.Response{}, err
	}
	channel := strings.TrimSpace(b.Channel)
	if !slices.Contains(recordableChannels, channel) {
		bad["channel"] = "must be one of " + strings.Join(recordableChannels, ", ")
	}
	campaign := NormalizeLine(b.Campaign)
	interest := NormalizeLine(b.ProductInterest)
	consentText := strings.TrimSpace(b.ConsentText)
	recordedBy := NormalizeLine(b.RecordedBy)
	for name, v := range map[string]string{"campaign": campaign, "product_interest": interest, "recorded_by": recordedBy} {
		if len(v) > apiMaxTextLen {
			bad[name] = fmt.Sprintf("must be at most %d characters", apiMaxTextLen)
		}
	}
	if len(consentText) > leadReasonMaxLen {
		bad["consent_text"] = fmt.Sprintf("must be at most %d characters", leadReasonMaxLen)
	}
	if consentText != "" && !b.Consent {
		bad["consent_text"] = "is given only with consent: true"
	}
	answers := make([]store.Answer, 0, len(b.Answers))
	if len(b.Answers) > maxAnswers {
		bad["answers"] = fmt.Sprintf("at most %d", maxAnswers)
	}
	for i, an := range b.Answers {
		q, ans := NormalizeLine(an.Question), strings.TrimSpace(an.Answer)
		switch {
		case q == "":
			bad[fmt.Sprintf("answers[%d].question", i)] = "is required"
		case len(q) > maxQuestionLen:
			bad[fmt.Sprintf("answers[%d].question", i)] = fmt.Sprintf("must be at most %d characters", maxQuestionLen)
		case len(ans) > maxAnswerLen:
			bad[fmt.Sprintf("answers[%d].answer", i)] = fmt.Sprintf("must be at most %d characters", maxAnswerLen)
		}
		answers = append(answers, store.Answer{Question: q, Answer: ans})
	}
	received := now
	if b.ReceivedAt != nil {
		received = *b.ReceivedAt
		if received.After(now.Add(recordedFutureLag)) {
			bad["received_at"] = "must not be in the future"
		}
	}
	if len(bad) > 0 {
		return store.Response{}, &ValidationError{Fields: bad}
	}
	f := Fields{
		FirstName: person.FirstName, LastName: person.LastName,
		Email: person.Email, EmailCanonical: person.EmailCanonical, Phone: person.Phone,
		Company: person.Company, Title: person.Title, City: person.City, State: person.State,
		Country: person.Country, LeadSource: person.LeadSource, Description: person.Description,
		CampaignID: campaign, ProductInterest: interest,
		Consent: b.Consent, ConsentText: consentText,
	}
	fields, err := json.Marshal(f)
	if err != nil {
		return store.Response{}, fmt.Errorf("encode fields: %w", err)
	}
	id := b.ID
	if id == uuid.Nil {
		id = store.NewID()
	}
	by := actor
	if recordedBy != "" {
		by = recordedBy + " (" + actor + ")"
	}
	return store.Response{
		ID:          id,
		WorkspaceID: workspaceID,
		Channel:     channel,
		ReceivedAt:  received,
		Raw:         map[string][]string{},
		Fields:      fields,
		Custom:      person.Custom,
		LeadSource:  person.LeadSource,
		Campaign:    campaign,
		RecordedBy:  by,
		Answers:     answers,
	}, nil
}
