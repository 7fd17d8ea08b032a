package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"leadflow/store"
)

// fuzzForm is a form with every feature parsing touches switched on.
var fuzzForm = store.Form{
	MaxBodyBytes:  4096,
	MaxFileBytes:  512,
	HoneypotField: "hp",
	DefaultRegion: "US",
	FieldMapping:  map[string]string{"e": "email", "tel": "phone", "Nom": "last_name"},
	Campaign:      "fuzz",
}

func fuzzMultipart() (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("email", "ada@example.com")
	_ = w.WriteField("first_name", "ADA")
	fw, _ := w.CreateFormFile("cv", "cv.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4"))
	_ = w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// FuzzParseSubmission reads arbitrary bodies as the intake does and checks
// that whatever is accepted can be stored: valid UTF-8, no NUL, limits
// kept, normalised fields free of control characters; and that whatever is
// refused is refused with one of the intake's known errors.
func FuzzParseSubmission(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", []byte("first_name=ada&last_name=LOVELACE&email=Ada%2Bx%40Example.com&oid=00D&00N5e000001=Blue&retURL=https%3A%2F%2Fexample.com%2Fthanks&consent=on"))
	f.Add("application/x-www-form-urlencoded", []byte("e=%00%FF%E2%80%AE@x.com&tel=%2B1%20415%20555%202671&hp=&description=a%0D%0Ab"))
	f.Add("application/x-www-form-urlencoded", []byte("email=%zz"))
	f.Add("application/json", []byte(`{"email":"grace@example.com","phone":"020 7946 0958","n":1.5e3,"b":true,"l":["a",2,false],"x":null}`))
	f.Add("application/json", []byte(`{"email":{"nested":1}}`))
	f.Add("application/json", []byte(`{"Nom":"<a href=x>van der berg</a>","email":"\u0000@x.com"} trailing`))
	f.Add("application/json; charset=utf-8", []byte(`[]`))
	ct, body := fuzzMultipart()
	f.Add(ct, body)
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nada@example.com\r\n--x--\r\n"))
	f.Add("multipart/form-data", []byte("no boundary"))
	f.Add("text/plain", []byte("email=ada@example.com"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest("POST", "/f/fuzz", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		sub, err := readSubmission(httptest.NewRecorder(), req, fuzzForm)
		if err != nil {
			var invalid *ValidationError
			if errors.As(err, &invalid) {
				checkFieldErrors(t, invalid)
				return
			}
			for _, known := range []error{errBodyTooLarge, errFileTooLarge, errMalformedBody, errUnsupportedType} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("readSubmission: unexpected error %v", err)
		}
		for name, values := range sub.raw {
			checkStorable(t, "raw name", name)
			for _, v := range values {
				checkStorable(t, "raw value", v)
			}
		}
		if len(sub.files) > maxFiles {
			t.Fatalf("%d files accepted, limit %d", len(sub.files), maxFiles)
		}
		for _, file := range sub.files {
			if len(file.data) > fuzzForm.MaxFileBytes {
				t.Fatalf("file of %d bytes accepted, limit %d", len(file.data), fuzzForm.MaxFileBytes)
			}
			checkClean(t, "filename", file.filename, false)
			checkClean(t, "content type", file.contentType, false)
			checkStorable(t, "file field", file.field)
		}

		got, err := mapFields(fuzzForm, sub.raw)
		if err != nil {
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("mapFields: error %v is not a *ValidationError", err)
			}
			checkFieldErrors(t, invalid)
			return
		}
		fl := got.fields
		for _, v := range []string{fl.FirstName, fl.LastName, fl.Email, fl.EmailCanonical, fl.Phone, fl.Company,
			fl.Title, fl.City, fl.State, fl.Country, fl.LeadSource, fl.CampaignID, fl.ProductInterest, got.campaign} {
			checkClean(t, "field", v, false)
		}
		checkClean(t, "description", fl.Description, true)
		if fl.Email == "" && fl.Phone == "" {
			t.Fatal("accepted a submission with neither email nor phone")
		}
		if fl.Email != "" {
			if _, canonical, err := NormalizeEmail(fl.EmailCanonical); err != nil || canonical != fl.EmailCanonical {
				t.Fatalf("canonical email %q not stable: %q, %v", fl.EmailCanonical, canonical, err)
			}
		}
		for k, v := range got.custom {
			checkClean(t, "custom name", k, false)
			checkClean(t, "custom value", v, true)
		}
		for k, v := range got.utm {
			checkClean(t, "utm "+k, v, false)
		}
		if _, err := json.Marshal(fl); err != nil {
			t.Fatalf("fields do not encode: %v", err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ada@example.com", " Ada.Lovelace+news@GoogleMail.com ", "+tag@example.com", "a.b.c@gmail.com",
		"josé@exämple.com", "jose\u0301@example.com", "ada@example.com\r\nBcc: x@y.com", "ada\u202e@example.com",
		"@", "a@b", "a@b.c", "\xff@x.com", "0000.+@0.A0", "0.+@GMAil.Com", "İ@example.com", "ǅ@example.com", "a@1.2.3.4", "..@gmail.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		email, canonical, err := NormalizeEmail(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("error %v is not ErrInvalidEmail", err)
			}
			checkClean(t, "error", err.Error(), false)
			return
		}
		for _, v := range []string{email, canonical} {
			checkClean(t, "email", v, false)
			if strings.ContainsFunc(v, unicode.IsSpace) || strings.Count(v, "@") < 1 {
				t.Fatalf("email %q has a space or no @", v)
			}
		}
		if e2, c2, err := NormalizeEmail(email); err != nil || e2 != email || c2 != canonical {
			t.Fatalf("NormalizeEmail(%q) = %q, %q, %v; not idempotent (want %q, %q)", email, e2, c2, err, email, canonical)
		}
		if _, c2, err := NormalizeEmail(canonical); err != nil || c2 != canonical {
			t.Fatalf("canonical %q of %q is not canonical: %q, %v", canonical, s, c2, err)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range [][2]string{
		{"(415) 555-2671", "US"}, {"+44 20 7946 0958", ""}, {"06 12 34 56 78", "FR"}, {"1-800-FLOWERS", "US"},
		{"+1 202 555 0147 ext 12", "us"}, {"12", "US"}, {"+999999", "ZZ"}, {"\u202e+14155552671", "US"}, {"", "??"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		got, err := NormalizePhone(s, region)
		if err != nil {
			if !errors.Is(err, ErrInvalidPhone) {
				t.Fatalf("error %v is not ErrInvalidPhone", err)
			}
			checkClean(t, "error", err.Error(), false)
			return
		}
		number, ext, hasExt := strings.Cut(got, ";ext=")
		digits := func(s string) bool {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
		}
		if len(number) < 3 || number[0] != '+' || !digits(number[1:]) || (hasExt && !digits(ext)) {
			t.Fatalf("NormalizePhone(%q, %q) = %q, not E.164 with an optional ;ext=", s, region, got)
		}
		for _, r := range []string{region, ""} {
			if again, err := NormalizePhone(got, r); err != nil || again != got {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v; not idempotent", got, r, again, err)
			}
		}
	})
}

func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{
		"ada", "ADA LOVELACE", "o'brien", "mcdonald", "van der berg", "DeShawn", "jose\u0301", "ǆemal", "ß",
		"İSTANBUL", "a\u202eb", "  \t\r\n ", "\xff\xfe", "Mary-Jane  Watson-parker", "ΣΊΣΥΦΟΣ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeName(s)
		checkClean(t, "name", got, false)
		if strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("NormalizeName(%q) = %q: spaces not collapsed", s, got)
		}
		if again := NormalizeName(got); again != got {
			t.Fatalf("NormalizeName(%q) = %q, but NormalizeName(%q) = %q", s, got, got, again)
		}
	})
}

// checkStorable fails when s could not be stored in a Postgres text or
// jsonb value.
func checkStorable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		t.Fatalf("%s %q is not storable", what, s)
	}
}

// checkClean fails when s is not valid UTF-8 or holds control or invisible
// characters or spaces other than U+0020; multiline allows line breaks,
// tabs and other spaces.
func checkClean(t *testing.T, what, s string, multiline bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		bad := invisible(r) || (unicode.IsSpace(r) && r != ' ')
		if multiline {
			bad = invisible(r) && r != '\n' && r != '\t'
		}
		if bad {
			t.Fatalf("%s %q holds %U", what, s, r)
		}
	}
}

func checkFieldErrors(t *testing.T, err *ValidationError) {
	t.Helper()
	if len(err.Fields) == 0 {
		t.Fatal("validation error names no field")
	}
	for name, msg := range err.Fields {
		checkStorable(t, "field name", name)
		checkClean(t, "field message", msg, false)
	}
}
