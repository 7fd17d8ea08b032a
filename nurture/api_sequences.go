package nurture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Sequence is how the API shows a store.Sequence; apiSequenceView adds
// its window and steps, decoded.
type Sequence struct {
	ID             uuid.UUID   `json:"id"`
	Name           string      `json:"name"`
	Status         string      `json:"status"`
	Timezone       string      `json:"timezone"`
	ExitCriteria   []string    `json:"exit_criteria"`
	TriggerFormIDs []uuid.UUID `json:"trigger_form_ids"`
	Version        int         `json:"version"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

func newSequence(r store.Sequence) Sequence {
	return Sequence{
		ID:             r.ID,
		Name:           r.Name,
		Status:         r.Status,
		Timezone:       r.Timezone,
		ExitCriteria:   r.ExitCriteria,
		TriggerFormIDs: r.TriggerFormIDs,
		Version:        r.Version,
		CreatedAt:      r.CreatedAt,
		UpdatedAt:      r.UpdatedAt,
	}
}

// apiSequenceView is a sequence as the API shows it: its window and steps
// decoded, its triggers by key as well as by ID.
type apiSequenceView struct {
	Sequence
	SendWindow      SendWindow `json:"send_window"`
	Steps           []Step     `json:"steps"`
	TriggerFormKeys []string   `json:"trigger_form_keys"`
}

// apiSequenceInput is what a sequence's body may set. Create starts from
// the defaults and PATCH from the stored sequence, so members left out
// keep their values.
type apiSequenceInput struct {
	Name            string
	Timezone        string
	SendWindow      SendWindow
	ExitCriteria    []string
	TriggerFormKeys []string
	TriggerFormIDs  []string
	Steps           []json.RawMessage
}

func (in *apiSequenceInput) targets() map[string]any {
	return map[string]any{
		"name":              &in.Name,
		"timezone":          &in.Timezone,
		"send_window":       &in.SendWindow,
		"exit_criteria":     &in.ExitCriteria,
		"trigger_form_keys": &in.TriggerFormKeys,
		"trigger_form_ids":  &in.TriggerFormIDs,
		"steps":             &in.Steps,
	}
}

func (a *API) createSequence(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	s, err := a.newSequence(c.Request().Context(), p.WorkspaceID, members)
	if err != nil {
		return err
	}
	return a.sequenceJSON(c, http.StatusCreated, s)
}

// newSequence makes a draft sequence of the workspace from the members of
// a body (the console's builder sends the same members), with the
// workspace's time zone and the default exit criteria unless they are sent.
func (a *API) newSequence(ctx context.Context, workspaceID uuid.UUID, members map[string]json.RawMessage) (store.Sequence, error) {
	ws, err := a.store.GetWorkspace(ctx, workspaceID)
	if err != nil {
		return store.Sequence{}, err
	}
	base := store.Sequence{
		ID: store.NewID(), WorkspaceID: workspaceID, Status: store.SequenceDraft,
		Timezone: ws.Timezone, ExitCriteria: slices.Clone(DefaultExitCriteria), Version: 1,
	}
	s, err := a.checkSequence(ctx, a.store.Queries, base, members, true)
	if err != nil {
		return store.Sequence{}, err
	}
	s, err = a.store.InsertSequence(ctx, s)
	if err != nil {
		return store.Sequence{}, err
	}
	a.log.InfoContext(ctx, "sequence_created", "sequence_id", s.ID, "workspace_id", s.WorkspaceID)
	return s, nil
}

func (a *API) listSequences(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ss, err := a.store.ListSequences(ctx, p.WorkspaceID, page)
	if err != nil {
		return err
	}
	views, err := a.sequenceViews(ctx, p.WorkspaceID, ss...)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(views, limit, func(v apiSequenceView) uuid.UUID { return v.ID }))
}

func (a *API) getSequence(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	s, err := a.store.GetSequence(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return a.sequenceJSON(c, http.StatusOK, s)
}

// updateSequence edits a sequence, live or not. Steps are matched by key,
// so leads already in the sequence carry on from the step they are at:
// nothing is sent again and nothing is skipped. A step at which active
// enrollments wait cannot be removed. Each edit of a sequence that has been
// live bumps its version.
func (a *API) updateSequence(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	out, err := a.editSequence(c.Request().Context(), p.WorkspaceID, id, members)
	if err != nil {
		return err
	}
	return a.sequenceJSON(c, http.StatusOK, out)
}

// editSequence applies the members of a body onto a stored sequence, as
// updateSequence describes.
func (a *API) editSequence(ctx context.Context, workspaceID, id uuid.UUID, members map[string]json.RawMessage) (store.Sequence, error) {
	var out store.Sequence
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		// Locked, so that two edits cannot both pass the check of the
		// steps leads wait at and each remove a different one.
		old, err := q.LockSequence(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		s, err := a.checkSequence(ctx, q, old, members, false)
		if err != nil {
			return err
		}
		if err := checkRemovedSteps(ctx, q, old, s); err != nil {
			return err
		}
		if old.Status != store.SequenceDraft {
			s.Version = old.Version + 1
		}
		out, err = q.UpdateSequence(ctx, s)
		return err
	})
	if err != nil {
		return store.Sequence{}, err
	}
	a.log.InfoContext(ctx, "sequence_updated", "sequence_id", out.ID, "workspace_id", out.WorkspaceID, "version", out.Version)
	return out, nil
}

// checkRemovedSteps refuses an edit that removes a step at which active
// enrollments wait: they would have nowhere to go on from.
func checkRemovedSteps(ctx context.Context, q *store.Queries, old, s store.Sequence) error {
	oldSteps, err := apiDecodeSteps(old.Steps)
	if err != nil {
		return err
	}
	newSteps, err := apiDecodeSteps(s.Steps)
	if err != nil {
		return err
	}
	var removed []string
	for _, st := range oldSteps {
		if !slices.ContainsFunc(newSteps, func(n Step) bool { return n.Key == st.Key }) {
			removed = append(removed, st.Key)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	waiting, err := q.ActiveEnrollmentsAtSteps(ctx, old.WorkspaceID, old.ID, removed)
	if err != nil {
		return err
	}
	var msgs []string
	for _, k := range removed {
		if n := waiting[k]; n > 0 {
			msgs = append(msgs, fmt.Sprintf("step %q cannot be removed: %d active enrollment(s) wait at it; keep it until they have moved on", k, n))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("update sequence: %w: %w", store.ErrConflict,
		&ValidationError{Fields: map[string]string{"steps": strings.Join(msgs, "; ")}})
}

// checkSequence applies the members sent onto base, validates the result
// and returns the sequence to store. Every field at fault is named at once.
func (a *API) checkSequence(ctx context.Context, q *store.Queries, base store.Sequence, members map[string]json.RawMessage, create bool) (store.Sequence, error) {
	// Decoding into a slice reuses its array: the base's lists are copied
	// so that nothing shared is written over.
	in := apiSequenceInput{
		Name: base.Name, Timezone: base.Timezone, SendWindow: apiDecodeWindow(base.SendWindow),
		ExitCriteria: slices.Clone(base.ExitCriteria),
	}
	if _, ok := members["send_window"]; ok {
		in.SendWindow = SendWindow{} // a sent window replaces the stored one
	}
	if err := httpapi.Bind(members, in.targets()); err != nil {
		return store.Sequence{}, err
	}
	bad := map[string]string{}
	s := base

	s.Name = strings.TrimSpace(in.Name)
	switch {
	case s.Name == "":
		bad["name"] = "is required"
	case utf8.RuneCountInString(s.Name) > MaxNameLen:
		bad["name"] = fmt.Sprintf("must be at most %d characters", MaxNameLen)
	}
	s.Timezone = strings.TrimSpace(in.Timezone)
	if err := ValidateTimezone(s.Timezone); err != nil {
		bad["timezone"] = err.Error()
	}
	w, err := NormalizeSendWindow(in.SendWindow)
	if err := httpapi.MergeFields(bad, err); err != nil {
		return store.Sequence{}, err
	}
	if s.SendWindow, err = json.Marshal(w); err != nil {
		return store.Sequence{}, err
	}
	if in.ExitCriteria == nil {
		in.ExitCriteria = []string{}
	}
	if s.ExitCriteria, err = NormalizeExitCriteria(in.ExitCriteria); err != nil {
		bad["exit_criteria"] = err.Error()
	}

	_, keysSent := members["trigger_form_keys"]
	_, idsSent := members["trigger_form_ids"]
	if keysSent || idsSent {
		ids, err := a.resolveTriggers(ctx, q, base.WorkspaceID, in.TriggerFormKeys, in.TriggerFormIDs, bad)
		if err != nil {
			return store.Sequence{}, err
		}
		s.TriggerFormIDs = ids
	}

	if _, ok := members["steps"]; ok || create {
		steps, err := a.checkSteps(ctx, q, base, in.Steps, create, bad)
		if err != nil {
			return store.Sequence{}, err
		}
		if s.Steps, err = json.Marshal(steps); err != nil {
			return store.Sequence{}, err
		}
	}
	if len(bad) > 0 {
		return store.Sequence{}, &ValidationError{Fields: bad}
	}
	return s, nil
}

// resolveTriggers turns trigger form keys and IDs into the workspace's form
// IDs, naming each that is not a form of the workspace.
func (a *API) resolveTriggers(ctx context.Context, q *store.Queries, workspaceID uuid.UUID, keys, rawIDs []string, bad map[string]string) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	add := func(id uuid.UUID) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(keys) > 0 {
		found, err := q.FormIDsByKeys(ctx, workspaceID, keys)
		if err != nil {
			return nil, err
		}
		var unknown []string
		for _, k := range keys {
			if id, ok := found[k]; ok {
				add(id)
			} else {
				unknown = append(unknown, fmt.Sprintf("%q", k))
			}
		}
		if len(unknown) > 0 {
			bad["trigger_form_keys"] = "no form of this workspace has the key " + strings.Join(unknown, ", ")
		}
	}
	var parsed []uuid.UUID
	for _, raw := range rawIDs {
		id, err := uuid.Parse(strings.TrimSpace(raw))
		if err != nil {
			bad["trigger_form_ids"] = fmt.Sprintf("%q is not a valid id", raw)
			return ids, nil
		}
		parsed = append(parsed, id)
	}
	if len(parsed) > 0 {
		found, err := q.FormKeysByIDs(ctx, workspaceID, parsed)
		if err != nil {
			return nil, err
		}
		for _, id := range parsed {
			if _, ok := found[id]; !ok {
				bad["trigger_form_ids"] = fmt.Sprintf("no form of this workspace has the id %s", id)
				continue
			}
			add(id)
		}
	}
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return ids, nil
}

// checkSteps decodes and validates the steps sent, giving keys to those
// without. A new key is never one the sequence has or had: its enrollments'
// history and messages are tied to keys.
func (a *API) checkSteps(ctx context.Context, q *store.Queries, base store.Sequence, raw []json.RawMessage, create bool, bad map[string]string) ([]Step, error) {
	steps := make([]Step, 0, len(raw))
	decoded := true
	for i, r := range raw {
		var st Step
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			bad[fmt.Sprintf("steps[%d]", i)] = httpapi.DecodeMessage(err, typeOfStep)
			decoded = false
			continue
		}
		steps = append(steps, st)
	}
	if !decoded {
		return nil, nil
	}
	taken := map[string]bool{}
	if !create && slices.ContainsFunc(steps, func(s Step) bool { return s.Key == "" }) {
		old, err := apiDecodeSteps(base.Steps)
		if err != nil {
			return nil, err
		}
		for _, s := range old {
			taken[s.Key] = true
		}
		used, err := q.UsedStepKeys(ctx, base.WorkspaceID, base.ID)
		if err != nil {
			return nil, err
		}
		for _, k := range used {
			taken[k] = true
		}
	}
	AssignStepKeys(steps, func(k string) bool { return taken[k] })

	var templateIDs []uuid.UUID
	for _, s := range steps {
		if s.TemplateID != nil && !slices.Contains(templateIDs, *s.TemplateID) {
			templateIDs = append(templateIDs, *s.TemplateID)
		}
	}
	var known []uuid.UUID
	if len(templateIDs) > 0 {
		var err error
		if known, err = q.ExistingTemplateIDs(ctx, base.WorkspaceID, templateIDs); err != nil {
			return nil, err
		}
	}
	err := ValidateSteps(steps, func(id uuid.UUID) bool { return slices.Contains(known, id) })
	if err := httpapi.MergeFields(bad, err); err != nil {
		return nil, err
	}
	return steps, nil
}

// activateSequence starts a draft (or paused) sequence: its triggers enrol
// leads from now on. It needs at least one step and the workspace's sender
// address and postal address, which every marketing email carries.
func (a *API) activateSequence(c echo.Context) error {
	return a.statusJSON(c, a.activate)
}

// activate starts a draft or paused sequence, as activateSequence describes.
func (a *API) activate(ctx context.Context, workspaceID, id uuid.UUID) (store.Sequence, error) {
	return a.setStatus(ctx, workspaceID, id, "sequence_activated", func(s store.Sequence) error { return nil })
}

// pauseSequence stops an active sequence: no step runs and no lead is
// enrolled until it is resumed; enrollments keep their place.
func (a *API) pauseSequence(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	out, err := a.pause(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return a.sequenceJSON(c, http.StatusOK, out)
}

// pause stops an active sequence, as pauseSequence describes.
func (a *API) pause(ctx context.Context, workspaceID, id uuid.UUID) (store.Sequence, error) {
	var out store.Sequence
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		s, err := q.LockSequence(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		switch s.Status {
		case store.SequencePaused:
			out = s
			return nil
		case store.SequenceDraft:
			return fmt.Errorf("pause sequence: %w: %w", store.ErrConflict,
				&ValidationError{Fields: map[string]string{"status": "a draft sequence is not running: activate it first"}})
		}
		out, err = q.SetSequenceStatus(ctx, workspaceID, id, store.SequencePaused)
		return err
	})
	if err != nil {
		return store.Sequence{}, err
	}
	a.log.InfoContext(ctx, "sequence_paused", "sequence_id", out.ID, "workspace_id", out.WorkspaceID)
	return out, nil
}

// resumeSequence restarts a paused sequence; enrollments carry on from
// their step, and steps that fell due while paused run now.
func (a *API) resumeSequence(c echo.Context) error {
	return a.statusJSON(c, a.resume)
}

// resume restarts a paused sequence, as resumeSequence describes.
func (a *API) resume(ctx context.Context, workspaceID, id uuid.UUID) (store.Sequence, error) {
	return a.setStatus(ctx, workspaceID, id, "sequence_resumed", func(s store.Sequence) error {
		if s.Status == store.SequenceDraft {
			return fmt.Errorf("resume sequence: %w: %w", store.ErrConflict,
				&ValidationError{Fields: map[string]string{"status": "a draft sequence has not started: activate it"}})
		}
		return nil
	})
}

// setStatus makes a sequence active after check and the checks every live
// sequence needs. An active sequence is answered as it is.
func (a *API) setStatus(ctx context.Context, workspaceID, id uuid.UUID, event string, check func(store.Sequence) error) (store.Sequence, error) {
	var out store.Sequence
	changed := false
	err := a.store.InTx(ctx, func(q *store.Queries) error {
		// The workspace is locked first, as PATCH /workspace does, so a
		// postal address cannot be cleared while this checks it.
		ws, err := q.LockWorkspace(ctx, workspaceID)
		if err != nil {
			return err
		}
		s, err := q.LockSequence(ctx, workspaceID, id)
		if err != nil {
			return err
		}
		if err := check(s); err != nil {
			return err
		}
		if s.Status == store.SequenceActive {
			out = s
			return nil
		}
		bad := map[string]string{}
		steps, err := apiDecodeSteps(s.Steps)
		if err != nil {
			return err
		}
		if len(steps) == 0 {
			bad["steps"] = "add at least one step before activating"
		}
		if strings.TrimSpace(ws.PostalAddress) == "" {
			bad["postal_address"] = "set the workspace's postal address first (PATCH /api/v1/workspace): every marketing email carries it"
		}
		if strings.TrimSpace(ws.SenderEmail) == "" {
			bad["sender_email"] = "set the workspace's sender email first (PATCH /api/v1/workspace): emails are sent from it"
		}
		if len(bad) > 0 {
			return &ValidationError{Fields: bad}
		}
		out, err = q.SetSequenceStatus(ctx, workspaceID, id, store.SequenceActive)
		changed = true
		return err
	})
	if err != nil {
		return store.Sequence{}, err
	}
	if changed {
		a.log.InfoContext(ctx, event, "sequence_id", out.ID, "workspace_id", out.WorkspaceID)
	}
	return out, nil
}

// statusJSON answers a status change of the sequence the path names.
func (a *API) statusJSON(c echo.Context, change func(ctx context.Context, workspaceID, id uuid.UUID) (store.Sequence, error)) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	out, err := change(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return a.sequenceJSON(c, http.StatusOK, out)
}

// sequenceJSON answers one sequence.
func (a *API) sequenceJSON(c echo.Context, status int, s store.Sequence) error {
	views, err := a.sequenceViews(c.Request().Context(), s.WorkspaceID, s)
	if err != nil {
		return err
	}
	return c.JSON(status, views[0])
}

// sequenceViews decodes sequences for the API, looking up the keys of all
// their trigger forms in one query.
func (a *API) sequenceViews(ctx context.Context, workspaceID uuid.UUID, ss ...store.Sequence) ([]apiSequenceView, error) {
	var ids []uuid.UUID
	for _, s := range ss {
		ids = append(ids, s.TriggerFormIDs...)
	}
	keys := map[uuid.UUID]string{}
	if len(ids) > 0 {
		var err error
		if keys, err = a.store.FormKeysByIDs(ctx, workspaceID, ids); err != nil {
			return nil, err
		}
	}
	views := make([]apiSequenceView, 0, len(ss))
	for _, s := range ss {
		steps, err := apiDecodeSteps(s.Steps)
		if err != nil {
			return nil, err
		}
		v := apiSequenceView{Sequence: newSequence(s), SendWindow: apiDecodeWindow(s.SendWindow), Steps: steps, TriggerFormKeys: []string{}}
		for _, id := range s.TriggerFormIDs {
			if k, ok := keys[id]; ok {
				v.TriggerFormKeys = append(v.TriggerFormKeys, k)
			}
		}
		if v.TriggerFormIDs == nil {
			v.TriggerFormIDs = []uuid.UUID{}
		}
		if v.ExitCriteria == nil {
			v.ExitCriteria = []string{}
		}
		views = append(views, v)
	}
	return views, nil
}

// typeOfStep names a step's type in decoding errors.
var typeOfStep = reflect.TypeFor[Step]()

// apiDecodeSteps reads a sequence's stored steps.
func apiDecodeSteps(raw json.RawMessage) ([]Step, error) {
	steps := []Step{}
	if len(raw) == 0 {
		return steps, nil
	}
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, fmt.Errorf("decode sequence steps: %w", err)
	}
	return steps, nil
}

// apiDecodeWindow reads a sequence's stored send window; {} is any time.
func apiDecodeWindow(raw json.RawMessage) SendWindow {
	var w SendWindow
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &w); err != nil {
			return SendWindow{}
		}
	}
	return w
}
