package capture_test

import (
	"errors"
	"fmt"
	"testing"

	"leadflow/capture"
)

func ExampleNormalizeEmail() {
	email, canonical, err := capture.NormalizeEmail("  Ada.Lovelace+newsletter@GoogleMail.com ")
	fmt.Println(email, canonical, err)
	_, _, err = capture.NormalizeEmail("ada@example.com\r\nBcc: victim@example.com")
	fmt.Println(err)
	// Output:
	// ada.lovelace+newsletter@googlemail.com adalovelace@gmail.com <nil>
	// not a valid email address: contains control or invisible characters
}

func ExampleNormalizePhone() {
	fmt.Println(capture.NormalizePhone("(415) 555-2671", "US"))
	fmt.Println(capture.NormalizePhone("020 7946 0958", "GB"))
	fmt.Println(capture.NormalizePhone("12", "US"))
	// Output:
	// +14155552671 <nil>
	// +442079460958 <nil>
	//  not a valid phone number
}

func ExampleNormalizeName() {
	fmt.Println(capture.NormalizeName("  o'brien "))
	fmt.Println(capture.NormalizeName("VAN DER BERG"))
	fmt.Println(capture.NormalizeName("mcdonald"))
	fmt.Println(capture.NormalizeName("DeShawn"))
	// Output:
	// O'Brien
	// van der Berg
	// McDonald
	// DeShawn
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, email, canonical string
		err                  bool
	}{
		{in: "ada@example.com", email: "ada@example.com", canonical: "ada@example.com"},
		{in: " ADA@Example.COM\t", email: "ada@example.com", canonical: "ada@example.com"},
		{in: "ada+tag+more@example.com", email: "ada+tag+more@example.com", canonical: "ada@example.com"},
		{in: "a.d.a@example.com", email: "a.d.a@example.com", canonical: "a.d.a@example.com"},
		{in: "a.d.a+x@gmail.com", email: "a.d.a+x@gmail.com", canonical: "ada@gmail.com"},
		{in: "a.d.a@googlemail.com", email: "a.d.a@googlemail.com", canonical: "ada@gmail.com"},
		{in: "+news@example.com", email: "+news@example.com", canonical: "+news@example.com"},
		{in: "josé@exämple.com", email: "josé@exämple.com", canonical: "josé@exämple.com"},
		// Decomposed é (e + U+0301) becomes the composed one.
		{in: "jose\u0301@example.com", email: "josé@example.com", canonical: "josé@example.com"},
		{in: "o'brien@example.co.uk", email: "o'brien@example.co.uk", canonical: "o'brien@example.co.uk"},
		{in: "", err: true},
		{in: "ada", err: true},
		{in: "ada@", err: true},
		{in: "@example.com", err: true},
		{in: "ada@localhost", err: true},
		{in: "ada@127.0.0.1", err: true},
		{in: "ada@@example.com", err: true},
		{in: "a da@example.com", err: true},
		{in: ".ada@example.com", err: true},
		{in: "a..da@example.com", err: true},
		{in: "ada@example..com", err: true},
		{in: "ada@-example.com", err: true},
		{in: `"ada"@example.com`, err: true},
		{in: "Ada <ada@example.com>", err: true},
		{in: "ada@example.com\r\nBcc: x@example.com", err: true},
		{in: "ada\x00@example.com", err: true},
		{in: "ada\u202e@example.com", err: true},
		{in: "ada\u200b@example.com", err: true},
		{in: "\xffada@example.com", err: true},
	}
	for _, tt := range tests {
		email, canonical, err := capture.NormalizeEmail(tt.in)
		if tt.err {
			if !errors.Is(err, capture.ErrInvalidEmail) {
				t.Errorf("NormalizeEmail(%q) err = %v, want ErrInvalidEmail", tt.in, err)
			}
			continue
		}
		if err != nil || email != tt.email || canonical != tt.canonical {
			t.Errorf("NormalizeEmail(%q) = %q, %q, %v; want %q, %q", tt.in, email, canonical, err, tt.email, tt.canonical)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, region, want string
		err              bool
	}{
		{in: "+1 415 555 2671", region: "US", want: "+14155552671"},
		{in: "415.555.2671", region: "us", want: "+14155552671"},
		{in: "+1 (202) 555-0147 ext. 12", region: "US", want: "+12025550147;ext=12"},
		{in: "202-555-0147 x34", region: "US", want: "+12025550147;ext=34"},
		{in: "+44 20 7946 0958", region: "US", want: "+442079460958"},
		{in: "06 12 34 56 78", region: "FR", want: "+33612345678"},
		{in: "+33 6 12 34 56 78", region: "", want: "+33612345678"},
		{in: "06 12 34 56 78", region: "", err: true},
		{in: "12", region: "US", err: true},
		{in: "not a phone", region: "US", err: true},
		{in: "+1 415 555 2671\r\n", region: "US", want: "+14155552671"},
		{in: "+1 415\u202e 555 2671", region: "US", err: true},
		{in: "1234567890123456789012345678901234567890123456789012345678901234567890", region: "US", err: true},
	}
	for _, tt := range tests {
		got, err := capture.NormalizePhone(tt.in, tt.region)
		if tt.err {
			if !errors.Is(err, capture.ErrInvalidPhone) {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want ErrInvalidPhone", tt.in, tt.region, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tt.in, tt.region, got, err, tt.want)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ada", "Ada"},
		{"  ADA   LOVELACE  ", "Ada Lovelace"},
		{"mary-jane", "Mary-Jane"},
		{"o'brien", "O'Brien"},
		{"mcdonald", "McDonald"},
		{"McDonald", "McDonald"},
		{"van der berg", "van der Berg"},
		{"van Dijk", "van Dijk"},
		{"VAN", "Van"},
		{"DeShawn", "DeShawn"},
		{"josé", "José"},
		{"jose\u0301", "José"},
		{"ÉLODIE", "Élodie"},
		{"李", "李"},
		{"Ada\u202eLovelace", "AdaLovelace"},
		{"Ada\u200bLovelace", "AdaLovelace"},
		{"Ada\x00\r\nLovelace", "Ada Lovelace"},
		{"\xffAda", "Ada"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := capture.NormalizeName(tt.in); got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeLineAndText(t *testing.T) {
	t.Parallel()
	if got, want := capture.NormalizeLine("  Acme\t\tCorp\r\n Ltd\u200b "), "Acme Corp Ltd"; got != want {
		t.Errorf("NormalizeLine = %q, want %q", got, want)
	}
	if got, want := capture.NormalizeText(" Line one\r\nLine two\rLine\u0007 three\n"), "Line one\nLine two\nLine three"; got != want {
		t.Errorf("NormalizeText = %q, want %q", got, want)
	}
}
