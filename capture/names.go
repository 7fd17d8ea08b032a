package capture

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// nameVerdict is what two people's names say about whether they are one.
type nameVerdict int

const (
	// namesUnknown: too little to tell (a name missing, a first name only).
	namesUnknown nameVerdict = iota
	// namesSame: the same name, allowing a typo, a nickname, an initial,
	// a missing accent or first and last swapped.
	namesSame
	// namesDifferent: two people's names.
	namesDifferent
)

// compareNames compares two people's names.
func compareNames(aFirst, aLast, bFirst, bLast string) nameVerdict {
	af, al, bf, bl := nameTokens(aFirst), nameTokens(aLast), nameTokens(bFirst), nameTokens(bLast)
	if (len(af) == 0 && len(al) == 0) || (len(bf) == 0 && len(bl) == 0) {
		return namesUnknown
	}
	if len(al) > 0 && len(bl) > 0 {
		if (anyTokenMatch(al, bl) && firstNamesFit(af, bf)) ||
			(len(bf) > 0 && len(af) > 0 && anyTokenMatch(al, bf) && anyTokenMatch(af, bl)) {
			return namesSame
		}
		return namesDifferent
	}
	// A first name on one side only, or first names only: a different
	// first name tells two people apart, the same one proves nothing.
	a, b := append(af, al...), append(bf, bl...)
	if !anyTokenMatch(a, b) {
		return namesDifferent
	}
	return namesUnknown
}

// firstNamesFit: first names that do not tell two people apart (one
// missing, or matching).
func firstNamesFit(a, b []string) bool {
	return len(a) == 0 || len(b) == 0 || anyTokenMatch(a, b)
}

func anyTokenMatch(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if tokensMatch(x, y) {
				return true
			}
		}
	}
	return false
}

// tokensMatch: one name word written two ways. An initial matches any word
// it starts; a nickname its full name; a word of five letters or more one
// typo away, a shorter one a letter added or missed.
func tokensMatch(x, y string) bool {
	if x == y {
		return true
	}
	if len(x) == 1 || len(y) == 1 {
		return x[0] == y[0]
	}
	if nx, ny := nickname(x), nickname(y); nx == ny {
		return true
	}
	if min(len(x), len(y)) >= 5 {
		return editDistanceAtMostOne(x, y)
	}
	// In a short word only a letter typed twice or missed is a typo: "Jon"
	// and "Jan" are two names.
	return min(len(x), len(y)) >= 3 && len(x) != len(y) && editDistanceAtMostOne(x, y)
}

// nameTokens folds a name to its words: lower case, accents and
// punctuation dropped ("José-Luis O'Brien" -> jose, luis, obrien).
func nameTokens(s string) []string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\'', r == '’', r == '.':
		case r == 'ł':
			b.WriteRune('l')
		case r == 'ø':
			b.WriteRune('o')
		case r == 'ß':
			b.WriteString("ss")
		case unicode.IsLetter(r):
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	return strings.Fields(b.String())
}

// editDistanceAtMostOne reports whether one substitution, insertion,
// deletion or swap of neighbours turns x into y.
func editDistanceAtMostOne(x, y string) bool {
	a, b := []rune(x), []rune(y)
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(b) {
		return true
	}
	if len(a) == len(b) {
		if string(a[i+1:]) == string(b[i+1:]) {
			return true
		}
		// A swap of neighbours: "jonh" for "john".
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && string(a[i+2:]) == string(b[i+2:])
	}
	return string(a[i+1:]) == string(b[i:])
}

// nickname maps a common short form of an English first name to the full
// name; any other name is itself.
func nickname(s string) string {
	if full, ok := nicknames[s]; ok {
		return full
	}
	return s
}

var nicknames = map[string]string{
	"bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert", "bert": "robert",
	"bill": "william", "billy": "william", "will": "william", "willy": "william", "liam": "william",
	"jim": "james", "jimmy": "james", "jamie": "james",
	"mike": "michael", "mick": "michael", "mickey": "michael",
	"dave": "david", "davy": "david",
	"tom": "thomas", "tommy": "thomas",
	"tony": "anthony", "chris": "christopher", "kit": "christopher",
	"dan": "daniel", "danny": "daniel",
	"jon": "jonathan", "johnny": "john", "jack": "john",
	"alex": "alexander", "sandy": "alexander",
	"sam": "samuel", "ben": "benjamin", "matt": "matthew", "nick": "nicholas",
	"steve": "stephen", "steven": "stephen", "joe": "joseph", "joey": "joseph",
	"andy": "andrew", "drew": "andrew", "pat": "patrick", "greg": "gregory",
	"ed": "edward", "eddie": "edward", "ted": "edward", "ned": "edward",
	"rick": "richard", "rich": "richard", "dick": "richard",
	"chuck": "charles", "charlie": "charles", "fred": "frederick", "freddie": "frederick",
	"larry": "lawrence", "len": "leonard", "ron": "ronald", "don": "donald", "ken": "kenneth",
	"tim": "timothy", "jeff": "jeffrey", "phil": "philip", "pete": "peter", "nate": "nathan",
	"kate": "katherine", "katie": "katherine", "kathy": "katherine", "cathy": "katherine",
	"catherine": "katherine", "kathryn": "katherine",
	"liz": "elizabeth", "beth": "elizabeth", "betty": "elizabeth", "lizzie": "elizabeth", "eliza": "elizabeth",
	"meg": "margaret", "maggie": "margaret", "peggy": "margaret",
	"jen": "jennifer", "jenny": "jennifer", "sue": "susan", "susie": "susan",
	"becky": "rebecca", "vicky": "victoria", "tori": "victoria", "abby": "abigail",
	"mandy": "amanda", "pam": "pamela", "deb": "deborah", "debbie": "deborah",
	"sally": "sarah", "sara": "sarah", "nancy": "ann", "anne": "ann", "annie": "ann",
	"jess": "jessica", "jessie": "jessica", "chrissy": "christina", "tina": "christina",
	"sophie": "sophia", "ally": "alison", "allie": "alison", "nat": "natalie",
}

// likeness scores (0..1) how alike two people look, for possible
// duplicates. The name carries it: the trigram similarity of the folded
// names, or 1 when compareNames finds them the same (typo, nickname,
// swapped), halved when it finds them different. The organisation only
// confirms or contradicts: the same employer keeps the score, two different
// ones halve it (strangers share names), and an unknown one costs a little.
func likeness(a, b leadFacts, nameSimilarity float32, companySimilarity *float32) float64 {
	name := float64(nameSimilarity)
	switch compareNames(a.FirstName, a.LastName, b.FirstName, b.LastName) {
	case namesSame:
		name = 1
	case namesDifferent:
		name *= 0.5
	}
	switch sameEmployer(a, b, companySimilarity) {
	case namesSame:
		return name
	case namesDifferent:
		return name * 0.5
	}
	return name * 0.85
}

// sameEmployer compares where two people work, by what each says: the
// company typed, else the domain of a work address.
func sameEmployer(a, b leadFacts, companySimilarity *float32) nameVerdict {
	da, db := workDomain(a.EmailCanonical), workDomain(b.EmailCanonical)
	ca, cb := compactCompany(a.Company), compactCompany(b.Company)
	switch {
	case da != "" && da == db && a.EmailCanonical != b.EmailCanonical:
		// Two mailboxes at one employer are two colleagues who share a
		// name: a person fills in forms from one work address.
		return namesDifferent
	case da != "" && da == db:
		return namesSame
	case companySimilarity != nil:
		if *companySimilarity >= 0.6 {
			return namesSame
		}
		return namesDifferent
	case da != "" && db != "":
		return namesDifferent
	case ca != "" && db != "":
		return employerMatches(ca, db)
	case cb != "" && da != "":
		return employerMatches(cb, da)
	}
	return namesUnknown
}

// employerMatches compares a company with an employer's domain:
// "Société Générale Tech" works at societegeneraletech.net.
func employerMatches(company, domain string) nameVerdict {
	label, _, _ := strings.Cut(domain, ".")
	if label != "" && (strings.Contains(company, label) || strings.Contains(label, company)) {
		return namesSame
	}
	return namesDifferent
}

// compactCompany is a company's name folded to its letters and digits,
// without its legal form: "Acme, Inc." is "acme".
func compactCompany(s string) string {
	var b strings.Builder
	for _, w := range nameTokens(strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return 'a' + (r - '0') // keep digits as letters nameTokens keeps
		}
		return r
	}, s)) {
		if !legalForms[w] {
			b.WriteString(w)
		}
	}
	return b.String()
}

var legalForms = map[string]bool{
	"inc": true, "incorporated": true, "llc": true, "ltd": true, "limited": true, "corp": true,
	"corporation": true, "co": true, "company": true, "plc": true, "gmbh": true, "ag": true, "sa": true,
	"sas": true, "bv": true, "nv": true, "srl": true, "spa": true, "oy": true, "ab": true, "pty": true,
	"group": true, "the": true,
}

// workDomain is the domain of an employer's address; "" for a blank one or
// a personal mailbox provider, which says nothing of where someone works.
func workDomain(email string) string {
	_, domain, ok := strings.Cut(email, "@")
	if !ok || freeMail[domain] {
		return ""
	}
	return domain
}

var freeMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "yahoo.co.uk": true, "ymail.com": true,
	"outlook.com": true, "hotmail.com": true, "hotmail.co.uk": true, "live.com": true, "msn.com": true,
	"icloud.com": true, "me.com": true, "mac.com": true, "aol.com": true, "proton.me": true,
	"protonmail.com": true, "gmx.de": true, "gmx.net": true, "web.de": true, "mail.com": true,
	"yandex.ru": true, "qq.com": true, "163.com": true, "orange.fr": true, "free.fr": true,
}

// namesStrong reports whether two people give the same full name, word for
// word once case, accents and punctuation are folded, a nickname counting as
// its full name: "Jen DUBOIS" and "Jennifer Dubois". It is the name test of
// joins made without an email to say so, so it allows no typo, no initial,
// no swap and no missing part: a name only alike is for a person to review.
func namesStrong(aFirst, aLast, bFirst, bLast string) bool {
	af, al, bf, bl := nameTokens(aFirst), nameTokens(aLast), nameTokens(bFirst), nameTokens(bLast)
	if len(af) == 0 || len(al) == 0 || len(af) != len(bf) || len(al) != len(bl) {
		return false
	}
	for i := range af {
		if nickname(af[i]) != nickname(bf[i]) {
			return false
		}
	}
	for i := range al {
		if al[i] != bl[i] || len(al[i]) < 2 {
			return false
		}
	}
	return true
}

// employerEvidence is what two people's addresses and companies say about
// whether they work at one place: confirmed when something positively says
// so (the same company typed, or one's company is the other's mail domain),
// contradicted when anything says otherwise (two companies, two work
// domains, or two mailboxes at one domain: colleagues).
type employerEvidence struct {
	confirmed, contradicted bool
}

func employerOf(a, b leadFacts) employerEvidence {
	var e employerEvidence
	note := func(v nameVerdict) {
		switch v {
		case namesSame:
			e.confirmed = true
		case namesDifferent:
			e.contradicted = true
		}
	}
	da, db := workDomain(a.EmailCanonical), workDomain(b.EmailCanonical)
	ca, cb := compactCompany(a.Company), compactCompany(b.Company)
	if da != "" && db != "" {
		if da != db || a.EmailCanonical != b.EmailCanonical {
			note(namesDifferent)
		} else {
			note(namesSame)
		}
	}
	if ca != "" && cb != "" {
		if ca == cb {
			note(namesSame)
		} else {
			note(namesDifferent)
		}
	}
	// A company of a letter or two is inside too many domains to say
	// anything.
	if len(ca) >= 3 && db != "" {
		note(employerMatches(ca, db))
	}
	if len(cb) >= 3 && da != "" {
		note(employerMatches(cb, da))
	}
	return e
}

// twoMailboxesAtOneDomain: two addresses at one employer's domain are two
// people there, whatever their names.
func twoMailboxesAtOneDomain(a, b string) bool {
	d := workDomain(a)
	return d != "" && d == workDomain(b) && a != b
}
