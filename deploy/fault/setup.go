package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// adminAPI calls leadflow's admin API with a key, as an operator's script
// would: the suite sets its workspace up through the same doors as anyone.
type adminAPI struct {
	base   string
	key    string
	client *http.Client
}

// call sends body as JSON and decodes the answer into out (when not nil);
// any status but want is an error.
func (a adminAPI) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v1"+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// welcomeSubject starts the subject of the only email the suite's sequence
// sends.
const welcomeSubject = "Welcome"

// seedWorkspace gives the API key's workspace what the load needs: sending
// settings with a send rate well above the load's, one form per scenario
// (no rate limit: every post comes from 127.0.0.1), and an active sequence
// that every form triggers, whose first step sends a welcome email. It
// returns each form's ID by key.
func seedWorkspace(ctx context.Context, a adminAPI, formKeys []string, sendRate int) (map[string]string, error) {
	err := a.call(ctx, http.MethodPatch, "/workspace", map[string]any{
		"sender_name": "leadflow fault suite", "sender_email": "fault@leadflow.example",
		"postal_address": "1 Fault Street, Testville", "send_rate_per_second": sendRate,
	}, http.StatusOK, nil)
	if err != nil {
		return nil, err
	}
	var template struct {
		ID string `json:"id"`
	}
	err = a.call(ctx, http.MethodPost, "/templates", map[string]any{
		"name": "Welcome", "subject": welcomeSubject + ", {{first_name|there}}",
		"text_body": "Hi {{first_name|there}},\n\nThanks for getting in touch.\n",
	}, http.StatusCreated, &template)
	if err != nil {
		return nil, err
	}
	forms := map[string]string{}
	for _, key := range formKeys {
		var f struct {
			ID string `json:"id"`
		}
		err := a.call(ctx, http.MethodPost, "/forms", map[string]any{
			"key": key, "name": "Fault suite: " + key, "kind": "contact_us", "rate_limit_per_minute": 0,
		}, http.StatusCreated, &f)
		if err != nil {
			return nil, err
		}
		forms[key] = f.ID
	}
	var seq struct {
		ID string `json:"id"`
	}
	err = a.call(ctx, http.MethodPost, "/sequences", map[string]any{
		"name": "Welcome", "trigger_form_keys": formKeys, "timezone": "UTC",
		// The long wait keeps every enrollment active for the whole run: a
		// person who posts again is not enrolled again, so any second email
		// to them is a double.
		"steps": []map[string]any{
			{"key": "welcome", "type": "email", "template_id": template.ID},
			{"key": "pause", "type": "wait", "duration": "30d"},
			{"key": "follow_up", "type": "email", "template_id": template.ID},
		},
	}, http.StatusCreated, &seq)
	if err != nil {
		return nil, err
	}
	if err := a.call(ctx, http.MethodPost, "/sequences/"+seq.ID+"/activate", nil, http.StatusOK, nil); err != nil {
		return nil, err
	}
	return forms, nil
}
