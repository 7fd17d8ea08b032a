package nurture

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/embed/metrics"
	"leadflow/store"
)

// Soft bounces are passing trouble (a full mailbox, a server down), but an
// address that keeps soft-bouncing is treated as gone.
const (
	SoftBounceLimit  = 3
	SoftBounceWindow = 30 * 24 * time.Hour
)

// bounceMaxDetail bounds a bounce's detail: a DSN's diagnostic is a line.
const bounceMaxDetail = 2000

// BounceRoutes registers the bounce intake of the admin API, where an ESP
// webhook relay or an operator reports a failed delivery or a complaint,
// and the removal of an address's suppression by marketing.
//
//	POST   /bounces                {"email", "message_id", "type": "hard"|"soft"|"complaint", "detail"}
//	DELETE /suppressions/{email}   {"reason"}
func BounceRoutes(g *echo.Group, eng *Engine, require func(roles ...store.Role) echo.MiddlewareFunc) {
	marketing := require(store.RoleAdmin, store.RoleMarketing)
	g.POST("/bounces", eng.postBounce, marketing)
	g.DELETE("/suppressions/:email", eng.deleteSuppression, marketing)
}

// BounceReport is a reported bounce: the address, or the message that
// bounced (its ID, or its RFC 5322 Message-ID), or both.
type BounceReport struct {
	Email     string `json:"email"`
	MessageID string `json:"message_id"`
	Type      string `json:"type"`
	Detail    string `json:"detail"`
}

// Bounce is how the API shows a store.Bounce.
type Bounce struct {
	ID             uuid.UUID  `json:"id"`
	EmailCanonical string     `json:"email"`
	MessageID      *uuid.UUID `json:"message_id"`
	Kind           string     `json:"type"`
	Detail         string     `json:"detail"`
	CreatedAt      time.Time  `json:"created_at"`
}

func newBounce(r store.Bounce) Bounce {
	return Bounce{
		ID:             r.ID,
		EmailCanonical: r.EmailCanonical,
		MessageID:      r.MessageID,
		Kind:           r.Kind,
		Detail:         r.Detail,
		CreatedAt:      r.CreatedAt,
	}
}

// BounceResult is what recording a bounce did.
type BounceResult struct {
	Bounce Bounce `json:"bounce"`
	// Suppressed: the address gets no more marketing email. SuppressReason
	// is the reason this bounce gave; an address suppressed before keeps
	// its first reason.
	Suppressed     bool   `json:"suppressed"`
	SuppressReason string `json:"suppress_reason,omitempty"`
	// SoftBounces counts the address's soft bounces in the window, this one
	// included; zero for other types.
	SoftBounces int        `json:"soft_bounces,omitempty"`
	LeadID      *uuid.UUID `json:"lead_id"`
}

func (e *Engine) postBounce(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	// Strictly: a misspelt "mesage_id" is named, not silently ignored.
	var r BounceReport
	if err := httpapi.Bind(members, map[string]any{
		"email": &r.Email, "message_id": &r.MessageID, "type": &r.Type, "detail": &r.Detail,
	}); err != nil {
		return err
	}
	res, err := e.RecordBounce(c.Request().Context(), p.WorkspaceID, r, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

// RecordBounce records a bounce for an address of the workspace and acts on
// it: a hard bounce suppresses the address (bounced), a complaint suppresses
// it (complained), and a soft bounce suppresses it (bounced) once it is the
// SoftBounceLimit-th in SoftBounceWindow. Suppressing exits the lead's
// active enrollments. The lead, if there is one, gets a bounced engagement
// event. A message of another workspace is ErrNotFound.
func (e *Engine) RecordBounce(ctx context.Context, workspaceID uuid.UUID, r BounceReport, actor string) (BounceResult, error) {
	r.Type = strings.ToLower(strings.TrimSpace(r.Type))
	r.Email = strings.TrimSpace(r.Email)
	r.MessageID = strings.TrimSpace(r.MessageID)
	r.Detail = strings.TrimSpace(r.Detail)
	bad := map[string]string{}
	switch r.Type {
	case store.BounceHard, store.BounceSoft, store.BounceComplaint:
	case "":
		bad["type"] = "is required: hard, soft or complaint"
	default:
		bad["type"] = "must be hard, soft or complaint"
	}
	if r.Email == "" && r.MessageID == "" {
		bad["email"] = "email or message_id is required"
	}
	var canonical string
	if r.Email != "" {
		var err error
		if canonical, err = e.canonicalEmail(r.Email); err != nil {
			bad["email"] = "is not a valid email address"
		}
	}
	if len(r.MessageID) > 998 {
		bad["message_id"] = "is too long"
	}
	if len(r.Detail) > bounceMaxDetail {
		bad["detail"] = fmt.Sprintf("must be at most %d characters", bounceMaxDetail)
	}
	if len(bad) > 0 {
		return BounceResult{}, &ValidationError{Fields: bad}
	}

	var res BounceResult
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var msg *store.TrackedMessage
		if r.MessageID != "" {
			id, _ := uuid.Parse(r.MessageID) // uuid.Nil matches no message
			m, err := q.BouncedMessage(ctx, workspaceID, id, strings.Trim(r.MessageID, "<>"))
			if err != nil {
				return fmt.Errorf("message %q: %w", r.MessageID, err)
			}
			msg = &m
			if canonical == "" {
				if canonical, err = e.messageAddress(ctx, q, m); err != nil {
					return err
				}
			}
		}
		// Two soft bounces reported at once must not both count two and
		// leave the address unsuppressed: one address's reports take turns.
		if err := q.LockIdentities(ctx, workspaceID, "bounces:"+canonical); err != nil {
			return err
		}
		b := store.Bounce{
			WorkspaceID:    workspaceID,
			EmailCanonical: canonical,
			Kind:           r.Type,
			Detail:         r.Detail,
			CreatedAt:      e.now(),
		}
		if msg != nil {
			b.MessageID = &msg.ID
		}
		var err error
		stored, err := q.InsertBounce(ctx, b)
		if err != nil {
			return err
		}
		res.Bounce = newBounce(stored)
		switch r.Type {
		case store.BounceHard:
			res.SuppressReason = store.SuppressBounced
		case store.BounceComplaint:
			res.SuppressReason = store.SuppressComplained
		case store.BounceSoft:
			// Soft bounces from before someone took the suppression back
			// were weighed then: the address starts counting afresh.
			since := e.now().Add(-SoftBounceWindow)
			removals, err := q.SuppressionRemovals(ctx, workspaceID, canonical, 1)
			if err != nil {
				return err
			}
			if len(removals) > 0 && removals[0].RemovedAt.After(since) {
				since = removals[0].RemovedAt
			}
			n, err := q.CountBounces(ctx, workspaceID, canonical, store.BounceSoft, since)
			if err != nil {
				return err
			}
			res.SoftBounces = n
			if n >= SoftBounceLimit {
				res.SuppressReason = store.SuppressBounced
			}
		}
		if res.SuppressReason != "" {
			if err := e.Suppress(ctx, q, workspaceID, canonical, res.SuppressReason, actor); err != nil {
				return err
			}
			res.Suppressed = true
		}
		lead, err := e.bouncedLead(ctx, q, workspaceID, canonical, msg)
		if err != nil || lead == nil {
			return err
		}
		res.LeadID = &lead.ID
		detail := map[string]any{"type": r.Type}
		if msg != nil {
			detail["message_id"] = msg.ID
		}
		_, err = q.InsertEngagementEvent(ctx, store.EngagementEvent{
			WorkspaceID: workspaceID,
			LeadID:      lead.ID,
			Kind:        store.EngagementBounced,
			SourceID:    res.Bounce.ID,
			OccurredAt:  res.Bounce.CreatedAt,
			Detail:      detail,
		})
		return err
	})
	if err != nil {
		return BounceResult{}, fmt.Errorf("record bounce: %w", err)
	}
	metrics.EmailBounced(r.Type)
	e.log.InfoContext(ctx, "bounce recorded", "workspace_id", workspaceID, "bounce_id", res.Bounce.ID,
		"type", r.Type, "suppressed", res.Suppressed)
	return res, nil
}

// bouncedLead is the lead a bounce belongs to: the bounced message's (or the
// one that lead was merged into), else the live lead with the address.
func (e *Engine) bouncedLead(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, canonical string, msg *store.TrackedMessage) (*store.Lead, error) {
	var (
		l   store.Lead
		err error
	)
	if msg != nil && msg.LeadID != nil {
		l, err = q.LiveLead(ctx, workspaceID, *msg.LeadID)
	} else {
		l, err = q.MatchLeadByEmail(ctx, workspaceID, canonical)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// canonicalEmail checks an address given to the API and returns its
// canonical form.
func (e *Engine) canonicalEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if e.cfg.CanonicalEmail != nil {
		return e.cfg.CanonicalEmail(email)
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 || len(email) > 254 || strings.ContainsFunc(email, func(r rune) bool {
		return r <= ' ' || r == 0x7f
	}) {
		return "", errors.New("not an email address")
	}
	return strings.ToLower(email), nil
}

// messageAddress is the canonical form of the address a message went to:
// the lead's (or the double opt-in response's) canonical address while it
// is still the one the message went to, else the message's own address made
// canonical. A lead's address may have changed since the message was sent.
func (e *Engine) messageAddress(ctx context.Context, q *store.Queries, m store.TrackedMessage) (string, error) {
	switch {
	case m.LeadID != nil:
		l, err := q.GetLead(ctx, m.WorkspaceID, *m.LeadID)
		if err != nil {
			return "", err
		}
		if l.EmailCanonical != "" && strings.EqualFold(l.Email, m.ToEmail) {
			return l.EmailCanonical, nil
		}
	case m.ResponseID != nil:
		resp, err := q.GetResponse(ctx, m.WorkspaceID, *m.ResponseID)
		if err != nil {
			return "", err
		}
		if c := contactOf(resp); c.EmailCanonical != "" && strings.EqualFold(c.Email, m.ToEmail) {
			return c.EmailCanonical, nil
		}
	}
	if c, err := e.canonicalEmail(m.ToEmail); err == nil {
		return c, nil
	}
	return strings.ToLower(strings.TrimSpace(m.ToEmail)), nil
}
