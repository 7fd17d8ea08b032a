package capture

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// Normalisation errors. Their messages never repeat the input, so they are
// safe to show on a page or write to a log.
var (
	// ErrInvalidEmail: the value is not an email address leadflow accepts.
	ErrInvalidEmail = errors.New("not a valid email address")
	// ErrInvalidPhone: the value is not a phone number of the given region
	// (or, with a leading +, of any region).
	ErrInvalidPhone = errors.New("not a valid phone number")

	errEmailHostile = invalid(ErrInvalidEmail, "contains control or invisible characters")
	errEmailTooLong = invalid(ErrInvalidEmail, "longer than 254 characters")
	errEmailNoAt    = invalid(ErrInvalidEmail, "missing @")
	errEmailLocal   = invalid(ErrInvalidEmail, "invalid part before @")
	errEmailDomain  = invalid(ErrInvalidEmail, "invalid domain")
	errPhoneHostile = invalid(ErrInvalidPhone, "contains control or invisible characters")
	errPhoneTooLong = invalid(ErrInvalidPhone, "longer than 64 characters")
)

// normalizeError says why a value was refused, wrapping the sentinel of its
// kind so callers can test with errors.Is.
type normalizeError struct {
	base error
	why  string
}

func invalid(base error, why string) error { return &normalizeError{base: base, why: why} }

func (e *normalizeError) Error() string { return e.base.Error() + ": " + e.why }
func (e *normalizeError) Unwrap() error { return e.base }

// Limits of the stored fields, in characters.
const (
	maxEmailLen       = 254 // RFC 5321's path limit, less the brackets
	maxLineLen        = 255
	maxDescriptionLen = 5000
	maxPhoneInputLen  = 64
)

// NormalizeEmail checks an email address and returns it trimmed, NFC and
// lower-cased, with the canonical form that matching compares: the +tag
// dropped and, for Gmail, the dots dropped and googlemail.com read as
// gmail.com (Gmail delivers all of those to one mailbox).
//
// Addresses with control characters, bidirectional overrides or other
// invisible characters are refused rather than cleaned: they are attacks or
// broken input, and a cleaned guess could deliver mail to someone else.
func NormalizeEmail(s string) (email, canonical string, err error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return "", "", ErrInvalidEmail
	}
	if !utf8.ValidString(s) {
		return "", "", errEmailHostile
	}
	for _, r := range s {
		if invisible(r) || unicode.IsSpace(r) {
			return "", "", errEmailHostile
		}
	}
	s = norm.NFC.String(strings.ToLower(norm.NFC.String(s)))
	if utf8.RuneCountInString(s) > maxEmailLen {
		return "", "", errEmailTooLong
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", "", errEmailNoAt
	}
	local, domain := s[:at], s[at+1:]
	if !validLocalPart(local) {
		return "", "", errEmailLocal
	}
	if !validDomain(domain) {
		return "", "", errEmailDomain
	}
	return s, canonicalEmail(local, domain), nil
}

func canonicalEmail(local, domain string) string {
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	// A tag is dropped only when what is left is an address: "+news@" is
	// all tag, and "a.+news@" would end in a dot.
	if i := strings.IndexByte(local, '+'); i > 0 && validLocalPart(local[:i]) {
		local = local[:i]
	}
	return local + "@" + domain
}

// validLocalPart accepts the dot-atom form (RFC 5322) with any letters
// (RFC 6531); quoted local parts are refused: real people do not have them
// and they smuggle spaces, @ and quotes.
func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r):
		case strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", r):
		default:
			return false
		}
	}
	return true
}

// validDomain accepts a host name of at least two labels whose last label is
// not numeric: no IP literals, no single-label hosts.
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) && r != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0
}

// NormalizePhone parses a phone number with the region's conventions (a
// two-letter region code such as "US"; numbers starting with + need none)
// and returns it in E.164, e.g. "+14155550100". An extension is kept after
// the number as RFC 3966 writes it, "+14155550100;ext=12": on a shared
// office line it is what tells colleagues apart.
func NormalizePhone(s, region string) (string, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return "", ErrInvalidPhone
	}
	if !utf8.ValidString(s) {
		return "", errPhoneHostile
	}
	for _, r := range s {
		if invisible(r) {
			return "", errPhoneHostile
		}
	}
	if utf8.RuneCountInString(s) > maxPhoneInputLen {
		return "", errPhoneTooLong
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(strings.TrimSpace(region)))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", ErrInvalidPhone
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if ext := num.GetExtension(); ext != "" {
		e164 += ";ext=" + ext
	}
	return e164, nil
}

// NormalizeName cleans a person's name: invisible and control characters
// removed, spaces collapsed, NFC. A name typed all in lower or all in upper
// case is title-cased ("o'brien" -> "O'Brien", "VAN DER BERG" -> "van der
// Berg", "mcdonald" -> "McDonald"); a name with mixed case is kept as its
// owner wrote it ("DeShawn", "McKenzie", "van Dijk").
func NormalizeName(s string) string {
	s = NormalizeLine(s)
	var lower, upper bool
	for _, r := range s {
		lower = lower || unicode.IsLower(r)
		upper = upper || unicode.IsUpper(r)
	}
	if lower && upper {
		return s
	}
	return norm.NFC.String(titleName(s))
}

// nameParticles stay lower-case inside a title-cased name. Particles that
// are also common names on their own (Le, La, Al, Di) are left out.
var nameParticles = map[string]bool{
	"van": true, "von": true, "der": true, "den": true, "de": true, "del": true, "della": true,
	"ten": true, "ter": true, "dos": true, "das": true, "da": true,
}

func titleName(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		w = strings.ToLower(w)
		if nameParticles[w] && i < len(words)-1 {
			words[i] = w
			continue
		}
		words[i] = titleWord(w)
	}
	return strings.Join(words, " ")
}

// titleWord capitalises the first letter of a lower-cased word and the
// letters that start a new part of it: after a hyphen or an apostrophe
// (Mary-Jane, O'Brien) and after a leading Mc (McDonald).
func titleWord(w string) string {
	rs := []rune(w)
	start := true
	for i, r := range rs {
		switch {
		case r == '-' || r == '\'' || r == '’':
			start = true
		case unicode.IsLetter(r):
			if start {
				rs[i] = unicode.ToTitle(r)
				start = false
			}
		}
	}
	if len(rs) > 2 && rs[0] == 'M' && rs[1] == 'c' && unicode.IsLetter(rs[2]) {
		rs[2] = unicode.ToTitle(rs[2])
	}
	return string(rs)
}

// NormalizeLine cleans a one-line value (company, title, city...): invalid
// UTF-8, control and invisible characters removed, every run of spaces
// (tabs and line breaks included) made one space, trimmed, NFC.
func NormalizeLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case invisible(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// NormalizeText cleans a multi-line value (a description): like
// NormalizeLine but line breaks and tabs are kept, with CRLF and CR made LF.
func NormalizeText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if invisible(r) {
			return -1
		}
		return r
	}, s)
	return norm.NFC.String(strings.TrimFunc(s, unicode.IsSpace))
}

// invisible reports the characters no form value needs and attackers use:
// controls, format characters (bidirectional overrides, zero-width spaces,
// byte-order marks), private-use and surrogate code points, and the line
// and paragraph separators. Zero-width (non-)joiners are kept: Persian and
// Indic names need them.
func invisible(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return r == utf8.RuneError || unicode.IsControl(r) ||
		unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp)
}
