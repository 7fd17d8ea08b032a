// Package traffic makes messy, realistic web-to-lead form traffic with a
// known person behind every submission, to measure how well resolution
// tells people apart.
//
// The traffic is deterministic: one seed always makes the same people, the
// same contacts and the same submissions in the same order. It holds what
// real forms receive: addresses in mixed case, with +tags and Gmail dots;
// work and personal addresses of one person; phones in every format, with
// extensions, and an office switchboard that colleagues share; typos,
// nicknames, missing accents and first and last names swapped; company names
// with and without their legal suffix; strangers who share a name; and
// people who are already contacts. On request it also holds colleagues who
// share a name, far more of them than real firms have: traffic to test that
// nobody is merged with a namesake.
package traffic

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Config shapes the traffic. Zero fields take the defaults.
type Config struct {
	Seed uint64
	// People is how many distinct people post; 400 by default.
	People int
	// NamesakeColleagues is the share of people (0..1, none by default)
	// who take the name of an earlier person at that person's company.
	NamesakeColleagues float64
}

// Person is one real person behind some submissions.
type Person struct {
	ID                  int
	FirstName, LastName string
	Company             string
	WorkEmail           string
	PersonalEmail       string
	Mobile              string
	Office, Extension   string
	IsContact           bool
	// NameTwinOf is another person's ID whose name this one shares, at
	// another company (a stranger) or at the same one (a namesake
	// colleague); -1 when none.
	NameTwinOf            int
	UsesPersonalAddress   bool
	UsesOfficeSwitchboard bool
}

// Contact is a known person, as a CRM import would hold them.
type Contact struct {
	PersonID                     int
	FirstName, LastName, Company string
	Email, Phone                 string
}

// Submission is one form post and who made it.
type Submission struct {
	PersonID int
	Values   url.Values
}

// Traffic is the generated people, contacts and submissions, in posting
// order.
type Traffic struct {
	People      []Person
	Contacts    []Contact
	Submissions []Submission
}

// company is an organisation people work for.
type company struct {
	name, domain, office string
}

// Generate makes the traffic for cfg.
func Generate(cfg Config) Traffic {
	if cfg.People <= 0 {
		cfg.People = 400
	}
	g := &gen{rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), usedPhones: map[string]bool{},
		usedEmails: map[string]bool{}}
	// Namesake colleagues are drawn from a stream of their own, so a seed's
	// traffic without them is what it always was.
	colleagues := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x2545f4914f6cdd1d))
	var companies []company
	for i, name := range companyNames {
		companies = append(companies, company{
			name:   name,
			domain: strings.ToLower(strings.ReplaceAll(fold(name), " ", "")) + [...]string{".com", ".io", ".co.uk", ".net"}[i%4],
			office: g.newPhone(),
		})
	}
	var t Traffic
	for id := range cfg.People {
		p := Person{ID: id, NameTwinOf: -1}
		c := companies[g.rng.IntN(len(companies))]
		p.Company = c.name
		if id > 10 && g.chance(0.04) {
			// A stranger with someone else's name, elsewhere.
			twin := t.People[g.rng.IntN(len(t.People))]
			p.FirstName, p.LastName, p.NameTwinOf = twin.FirstName, twin.LastName, twin.ID
			for p.Company == twin.Company {
				p.Company = companies[g.rng.IntN(len(companies))].name
			}
			c = companyNamed(companies, p.Company)
		} else {
			p.FirstName = firstNames[g.rng.IntN(len(firstNames))]
			p.LastName = lastNames[g.rng.IntN(len(lastNames))]
		}
		if p.NameTwinOf < 0 && id > 10 && colleagues.Float64() < cfg.NamesakeColleagues {
			twin := t.People[colleagues.IntN(len(t.People))]
			p.FirstName, p.LastName, p.NameTwinOf, p.Company = twin.FirstName, twin.LastName, twin.ID, twin.Company
			c = companyNamed(companies, p.Company)
		}
		p.WorkEmail = g.uniqueEmail(workLocal(g, p), c.domain)
		p.PersonalEmail = g.uniqueEmail(personalLocal(g, p), [...]string{"gmail.com", "yahoo.com", "outlook.com", "icloud.com"}[g.rng.IntN(4)])
		if g.chance(0.6) {
			p.Mobile = g.newPhone()
		}
		p.Office = c.office
		if g.chance(0.5) {
			p.Extension = fmt.Sprint(100 + g.rng.IntN(900))
		}
		p.UsesPersonalAddress = g.chance(0.05)
		p.UsesOfficeSwitchboard = g.chance(0.25)
		if g.chance(0.12) {
			p.IsContact = true
			ct := Contact{PersonID: id, FirstName: p.FirstName, LastName: p.LastName, Company: p.Company, Email: p.WorkEmail}
			switch {
			case p.Mobile != "" && g.chance(0.5):
				ct.Phone = p.Mobile
			case g.chance(0.5):
				ct.Phone = p.Office
			}
			t.Contacts = append(t.Contacts, ct)
		}
		t.People = append(t.People, p)
	}
	for _, p := range t.People {
		n := 1 + g.rng.IntN(3)
		if g.chance(0.2) {
			n += 2
		}
		for range n {
			t.Submissions = append(t.Submissions, Submission{PersonID: p.ID, Values: g.submission(p)})
		}
	}
	g.rng.Shuffle(len(t.Submissions), func(i, j int) { t.Submissions[i], t.Submissions[j] = t.Submissions[j], t.Submissions[i] })
	return t
}

func companyNamed(cs []company, name string) company {
	for _, c := range cs {
		if c.name == name {
			return c
		}
	}
	return cs[0]
}

type gen struct {
	rng        *rand.Rand
	usedPhones map[string]bool
	usedEmails map[string]bool
}

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func (g *gen) pick(s []string) string { return s[g.rng.IntN(len(s))] }

// newPhone makes a US number no one else has: ten digits, area code and
// exchange both starting 2-9.
func (g *gen) newPhone() string {
	for {
		area := g.pick([]string{"212", "312", "415", "617", "646", "702", "303", "206"})
		n := fmt.Sprintf("%s%d%02d%04d", area, 2+g.rng.IntN(8), g.rng.IntN(100), g.rng.IntN(10000))
		if n[3:6] == "555" || g.usedPhones[n] {
			continue
		}
		g.usedPhones[n] = true
		return n
	}
}

func (g *gen) uniqueEmail(local, domain string) string {
	for i := 0; ; i++ {
		e := local + "@" + domain
		if i > 0 {
			e = fmt.Sprintf("%s%d@%s", local, i+1, domain)
		}
		if !g.usedEmails[e] {
			g.usedEmails[e] = true
			return e
		}
	}
}

func workLocal(g *gen, p Person) string {
	f, l := asciiWord(p.FirstName), asciiWord(p.LastName)
	switch g.rng.IntN(3) {
	case 0:
		return f + "." + l
	case 1:
		return f[:1] + l
	default:
		return f
	}
}

func personalLocal(g *gen, p Person) string {
	f, l := asciiWord(p.FirstName), asciiWord(p.LastName)
	return fmt.Sprintf("%s%s%d", f, l, 10+g.rng.IntN(90))
}

// submission is one post by p, spelled as people spell themselves.
func (g *gen) submission(p Person) url.Values {
	v := url.Values{}
	first, last := g.name(p)
	v.Set("first_name", first)
	v.Set("last_name", last)
	email := p.WorkEmail
	if p.UsesPersonalAddress && g.chance(0.5) {
		email = p.PersonalEmail
	}
	phone := ""
	switch {
	case p.UsesOfficeSwitchboard && g.chance(0.6):
		phone = g.phoneFormat(p.Office, p.Extension)
	case p.Mobile != "" && g.chance(0.5):
		phone = g.phoneFormat(p.Mobile, "")
	}
	if phone != "" && g.chance(0.06) {
		// Only a phone number: a call-me-back form.
		email = ""
	}
	if email != "" {
		v.Set("email", g.emailSpelling(email))
	}
	if phone != "" {
		v.Set("phone", phone)
	}
	if g.chance(0.85) {
		v.Set("company", g.companySpelling(p.Company))
	}
	if g.chance(0.3) {
		v.Set("title", g.pick([]string{"CTO", "VP Sales", "Head of Marketing", "Engineer", "Buyer", "Director of IT"}))
	}
	if g.chance(0.2) {
		v.Set("00N5e00000Budget", g.pick([]string{"<10k", "10k-50k", ">50k"}))
	}
	v.Set("lead_source", "Web")
	v.Set("submit", "Submit")
	return v
}

// name is how p writes their name this time.
func (g *gen) name(p Person) (string, string) {
	first, last := p.FirstName, p.LastName
	switch r := g.rng.Float64(); {
	case r < 0.06:
		if nick, ok := nicknames[first]; ok {
			first = nick
		}
	case r < 0.12:
		first, last = fold(first), fold(last)
	case r < 0.17:
		if g.chance(0.5) {
			first = typo(g, first)
		} else {
			last = typo(g, last)
		}
	case r < 0.19:
		first, last = last, first
	case r < 0.25:
		first, last = strings.ToLower(first), strings.ToUpper(last)
	}
	return first, last
}

func (g *gen) emailSpelling(e string) string {
	local, domain, _ := strings.Cut(e, "@")
	switch r := g.rng.Float64(); {
	case r < 0.1:
		local = strings.ToUpper(local[:1]) + local[1:]
		domain = strings.ToUpper(domain[:1]) + domain[1:]
	case r < 0.15:
		local += "+" + g.pick([]string{"web", "events", "news"})
	case r < 0.2 && domain == "gmail.com" && len(local) > 3:
		local = local[:2] + "." + local[2:]
	case r < 0.22 && domain == "gmail.com":
		domain = "googlemail.com"
	case r < 0.25:
		return strings.ToUpper(local + "@" + domain)
	}
	return local + "@" + domain
}

func (g *gen) companySpelling(c string) string {
	switch r := g.rng.Float64(); {
	case r < 0.25:
		return c + g.pick([]string{" Inc", " Inc.", ", Inc.", " LLC", " Ltd", " Corporation", " Corp.", " GmbH"})
	case r < 0.3:
		return strings.ToUpper(c)
	case r < 0.35:
		return fold(c)
	}
	return c
}

func (g *gen) phoneFormat(digits, ext string) string {
	a, b, c := digits[:3], digits[3:6], digits[6:]
	s := g.pick([]string{
		"(" + a + ") " + b + "-" + c, a + "-" + b + "-" + c, a + "." + b + "." + c,
		"+1 " + a + " " + b + " " + c, "1" + digits, digits,
	})
	if ext != "" && g.chance(0.8) {
		s += g.pick([]string{" ext. ", " x", " ext ", " #"}) + ext
	}
	return s
}

// typo drops, doubles or swaps one letter of a word of four or more.
func typo(g *gen, s string) string {
	r := []rune(s)
	if len(r) < 4 {
		return s
	}
	i := 1 + g.rng.IntN(len(r)-2)
	switch g.rng.IntN(3) {
	case 0:
		return string(append(r[:i:i], r[i+1:]...))
	case 1:
		return string(r[:i+1]) + string(r[i:])
	default:
		r[i], r[i+1] = r[i+1], r[i]
		return string(r)
	}
}

// fold drops accents: how people type their name on a keyboard without them.
func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'ø':
			b.WriteRune('o')
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// asciiWord is a name as it appears in an email address.
func asciiWord(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(fold(s)) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

var firstNames = []string{
	"Robert", "William", "James", "Michael", "David", "Thomas", "Christopher", "Daniel", "Jonathan",
	"Elizabeth", "Katherine", "Margaret", "Jennifer", "Susan", "Rebecca", "Victoria", "Alexander",
	"José", "María", "Zoë", "Renée", "André", "Chloé", "Björn", "Søren", "Inés", "Raúl", "Łukasz",
	"Priya", "Wei", "Hiroshi", "Aisha", "Omar", "Fatima", "Lars", "Ingrid", "Mateo", "Lucía",
	"Olivia", "Emma", "Noah", "Liam", "Ava", "Mia", "Ethan", "Sophia", "Lucas", "Amelia", "Hannah",
	"Grace", "Samuel", "Benjamin", "Matthew", "Nicholas", "Andrew", "Patrick", "Edward", "Richard",
}

var nicknames = map[string]string{
	"Robert": "Bob", "William": "Bill", "James": "Jim", "Michael": "Mike", "David": "Dave",
	"Thomas": "Tom", "Christopher": "Chris", "Daniel": "Dan", "Jonathan": "Jon", "Elizabeth": "Liz",
	"Katherine": "Kate", "Margaret": "Maggie", "Jennifer": "Jen", "Susan": "Sue", "Rebecca": "Becky",
	"Victoria": "Vicky", "Alexander": "Alex", "Samuel": "Sam", "Benjamin": "Ben", "Matthew": "Matt",
	"Nicholas": "Nick", "Andrew": "Andy", "Patrick": "Pat", "Edward": "Ed", "Richard": "Rick",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "García", "Rodríguez",
	"Martínez", "Hernández", "López", "González", "Wilson", "Anderson", "Taylor", "Moore", "Jackson",
	"Müller", "Schröder", "Nuñez", "Peña", "Sánchez", "Øvergaard", "Ström", "Kowalski", "Nowak",
	"Nguyen", "Tanaka", "Sato", "Kim", "Patel", "Singh", "Okafor", "Haddad", "O'Brien", "McDonald",
	"Lefèvre", "Dubois", "Rossi", "Bianchi", "Novák", "Dvořák", "Lindqvist", "Thompson", "White",
	"Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
}

var companyNames = []string{
	"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
	"Wonka", "Cyberdyne", "Soylent", "Tyrell", "Massive Dynamic", "Aperture", "Vandelay",
	"Pied Piper", "Dunder Mifflin", "Oscorp", "Gringotts", "Monarch", "Nakatomi", "Bluth",
	"Prestige Worldwide", "Sterling Cooper", "Wernham Hogg", "Los Pollos", "Virtucon", "Gekko",
	"Krusty", "Octan", "Zorg", "Weyland", "Planet Express", "Ollivander", "Nordström Design",
	"Café Lumière", "Société Générale Tech", "Münchner Werk", "Kaiju Labs", "Blue Sun", "Rekall",
}
