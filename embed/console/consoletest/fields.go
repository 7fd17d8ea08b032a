package consoletest

import (
	"context"

	"github.com/chromedp/chromedp"
)

// ConfirmYes makes the page's next questions (data-confirm forms ask with
// window.confirm) answer yes, as a person clicking OK would: a headless
// browser's dialog would otherwise hold the page. It holds until the page
// is left.
func (tab *Tab) ConfirmYes() {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("window.confirm = () => true; true")); err != nil {
		tab.t.Fatalf("answer yes to questions: %v", err)
	}
}

// Value is the current value of a form field (an input the page filled,
// like a key shown once).
func (tab *Tab) Value(css string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, actionTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		tab.t.Fatalf("value of %s: %v (at %s)", css, err, tab.Location())
	}
	return s
}
