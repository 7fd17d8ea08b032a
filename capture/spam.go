package capture

import (
	"regexp"
	"strings"
)

// Spam verdict reasons, stored in responses.verdict_reason.
const (
	SpamHoneypot   = "honeypot"
	SpamLinkInName = "link_in_name"
)

// linkOrMarkup finds what no person's name holds and spam bots put in name
// fields to get a link into a notification email: URLs, bare domains of
// the usual spam top-level domains, HTML tags and entities, BBCode.
var linkOrMarkup = regexp.MustCompile(`(?i)` +
	`[a-z][a-z0-9+.-]*://|\bwww\.|` +
	`\b[a-z0-9-]+\.(com|net|org|info|biz|ru|cn|xyz|top|io|co|online|site|click|link|shop|store)\b|` +
	`<\s*/?\s*[a-z!]|&(#\d+|#x[0-9a-f]+|[a-z]+);|\[/?(url|link|img)\b`)

// spamReason gives why a submission is spam, or "" when nothing says so.
// raw is the submission as posted (the honeypot is named as posted); names
// are the values of the name fields.
func spamReason(honeypot string, raw map[string][]string, names ...string) string {
	if honeypot != "" {
		for _, v := range raw[honeypot] {
			if strings.TrimSpace(v) != "" {
				return SpamHoneypot
			}
		}
	}
	for _, name := range names {
		if linkOrMarkup.MatchString(name) {
			return SpamLinkInName
		}
	}
	return ""
}
