package traffic_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/capture/traffic"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a := traffic.Generate(traffic.Config{Seed: 7, People: 50})
	b := traffic.Generate(traffic.Config{Seed: 7, People: 50})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different traffic (-first +second):\n%s", diff)
	}
	c := traffic.Generate(traffic.Config{Seed: 8, People: 50})
	if cmp.Equal(a.Submissions, c.Submissions) {
		t.Errorf("another seed made the same submissions")
	}
}

func TestGenerateHasTheMessOfRealForms(t *testing.T) {
	t.Parallel()
	tr := traffic.Generate(traffic.Config{Seed: 1, People: 400})
	if len(tr.People) != 400 || len(tr.Contacts) == 0 || len(tr.Submissions) < 400 {
		t.Fatalf("people %d, contacts %d, submissions %d", len(tr.People), len(tr.Contacts), len(tr.Submissions))
	}
	var twins, personal, switchboard int
	for _, p := range tr.People {
		if p.NameTwinOf >= 0 {
			twins++
			if tr.People[p.NameTwinOf].Company == p.Company {
				t.Errorf("person %d is a namesake colleague of %d, not asked for", p.ID, p.NameTwinOf)
			}
		}
		if p.UsesPersonalAddress {
			personal++
		}
		if p.UsesOfficeSwitchboard {
			switchboard++
		}
	}
	seen := map[string]bool{}
	for _, s := range tr.Submissions {
		for _, k := range []string{"phone-ext", "email-upper", "email-tag", "no-email"} {
			if has(s.Values, k) {
				seen[k] = true
			}
		}
	}
	if twins == 0 || personal == 0 || switchboard == 0 || len(seen) != 4 {
		t.Errorf("twins %d, personal %d, switchboard %d, kinds of mess seen %v", twins, personal, switchboard, seen)
	}
}

func TestGenerateNamesakeColleaguesOnRequest(t *testing.T) {
	t.Parallel()
	tr := traffic.Generate(traffic.Config{Seed: 1, People: 400, NamesakeColleagues: 0.05})
	colleagues := 0
	for _, p := range tr.People {
		if p.NameTwinOf < 0 || tr.People[p.NameTwinOf].Company != p.Company {
			continue
		}
		colleagues++
		twin := tr.People[p.NameTwinOf]
		if p.FirstName != twin.FirstName || p.LastName != twin.LastName || p.WorkEmail == twin.WorkEmail {
			t.Errorf("person %d: %q %q <%s>, want %d's name %q %q and a mailbox of their own", p.ID, p.FirstName,
				p.LastName, p.WorkEmail, twin.ID, twin.FirstName, twin.LastName)
		}
	}
	if colleagues < 10 {
		t.Errorf("namesake colleagues %d, want at least 10", colleagues)
	}
}

func has(v map[string][]string, kind string) bool {
	email, phone := first(v["email"]), first(v["phone"])
	switch kind {
	case "phone-ext":
		return len(phone) > 14
	case "email-upper":
		return email != "" && email[0] >= 'A' && email[0] <= 'Z'
	case "email-tag":
		for _, r := range email {
			if r == '+' {
				return true
			}
		}
	case "no-email":
		return email == ""
	}
	return false
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
