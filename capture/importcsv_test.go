package capture_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/capture"
)

func TestSuggestImportMappingRecognisesCRMExports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header []string
		want   map[string]string
	}{
		{"salesforce", []string{"First Name", "Last Name", "Email", "Company", "Phone", "Title", "Lead Source", "Mailing Country"},
			map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Company": "company",
				"Phone": "phone", "Title": "title", "Lead Source": "lead_source", "Mailing Country": "country"}},
		{"hubspot", []string{"First Name", "Last Name", "Email Address", "Company Name", "Phone Number", "Job Title", "Record ID"},
			map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email Address": "email",
				"Company Name": "company", "Phone Number": "phone", "Job Title": "title", "Record ID": ""}},
		{"case and spacing", []string{" FIRSTNAME ", "e-mail", "phone_number", "companyname"},
			map[string]string{" FIRSTNAME ": "first_name", "e-mail": "email", "phone_number": "phone", "companyname": "company"}},
		{"first of two emails wins", []string{"Email", "Secondary Email"},
			map[string]string{"Email": "email", "Secondary Email": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, capture.SuggestImportMapping(tt.header)); diff != "" {
				t.Errorf("mapping (-want +got):\n%s", diff)
			}
		})
	}
}

// readAll reads every row of a file, or the error that stopped it.
func readAll(t *testing.T, data string, override map[string]string) ([]capture.ImportRow, error) {
	t.Helper()
	rd, err := capture.NewImportReader(strings.NewReader(data), capture.ImportLimits{}, override)
	if err != nil {
		return nil, err
	}
	var rows []capture.ImportRow
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
}

func TestImportReaderBOMSemicolonsQuotedNewlines(t *testing.T) {
	t.Parallel()
	data := "\ufeffFirst Name;Last Name;Email;Notes\r\n" +
		"Ana;Lopez;ana@example.com;\"met at booth 4;\nwants a demo\"\r\n" +
		";;;\r\n" +
		"Bo;Li;;no contact\r\n"
	rows, err := readAll(t, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []capture.ImportRow{
		{Line: 2, Values: map[string]string{"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.com",
			"description": "met at booth 4;\nwants a demo"},
			Raw: map[string]string{"First Name": "Ana", "Last Name": "Lopez", "Email": "ana@example.com", "Notes": "met at booth 4;\nwants a demo"}},
		{Line: 5, Values: map[string]string{"first_name": "Bo", "last_name": "Li", "description": "no contact"},
			Raw:     map[string]string{"First Name": "Bo", "Last Name": "Li", "Email": "", "Notes": "no contact"},
			Invalid: "no email and no phone"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestImportReaderRefusesBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		override   map[string]string
		want       string
	}{
		{"empty", "", nil, "the file is empty"},
		{"binary", "\x00\x01\x02PK\x03\x04", nil, "binary"},
		{"no email or phone column", "First Name,Company\nAna,Acme\n", nil, "no column is mapped to email or phone"},
		{"invalid utf-8 names the line", "Email,Name\na@example.com,Ana\nb@example.com,\xff\xfe\n", nil, "line 3: not valid UTF-8"},
		{"unterminated quote", "Email,Name\n\"a@example.com,Ana\n", nil, "line 2"},
		{"mapping names a missing column", "Email\na@example.com\n", map[string]string{"Phone": "phone"}, "no such column"},
		{"mapping names an unknown field", "Email,X\na@example.com,1\n", map[string]string{"X": "salary"}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAll(t, tt.data, tt.override)
			if !errors.Is(err, capture.ErrImportFile) {
				t.Fatalf("err = %v, want ErrImportFile", err)
			}
			var ve *capture.ValidationError
			msg := err.Error()
			if errors.As(err, &ve) {
				for k, v := range ve.Fields {
					msg += " " + k + ": " + v
				}
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("err = %q, want it to say %q", msg, tt.want)
			}
		})
	}
}

func TestImportReaderMappingOverride(t *testing.T) {
	t.Parallel()
	rows, err := readAll(t, "Contact,Mail,Firma\nAna Lopez,ana@example.com,Acme\n",
		map[string]string{"mail": "email", "Firma": "company", "contact": "name"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "Ana Lopez", "email": "ana@example.com", "company": "Acme"}
	if diff := cmp.Diff(want, rows[0].Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestImportReaderLimits(t *testing.T) {
	t.Parallel()
	data := "Email,Notes\na@example.com,short\nb@example.com," + strings.Repeat("x", 100) + "\n"
	rd, err := capture.NewImportReader(strings.NewReader(data), capture.ImportLimits{MaxField: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var invalid []string
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		invalid = append(invalid, r.Invalid)
	}
	if diff := cmp.Diff([]string{"", "Notes is longer than 50 bytes"}, invalid); diff != "" {
		t.Errorf("invalid (-want +got):\n%s", diff)
	}
	_, err = capture.NewImportReader(strings.NewReader(data), capture.ImportLimits{MaxBytes: 10}, nil)
	if !errors.Is(err, capture.ErrImportFile) || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Errorf("10-byte limit: err = %v", err)
	}
	rd, err = capture.NewImportReader(strings.NewReader(data), capture.ImportLimits{MaxRows: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); !errors.Is(err, capture.ErrImportFile) || !strings.Contains(err.Error(), "more than 1 rows") {
		t.Errorf("row limit: err = %v", err)
	}
}

func FuzzImportCSV(f *testing.F) {
	f.Add([]byte("\ufeffFirst Name;Email\nAna;ana@example.com\n"), "")
	f.Add([]byte("Email,Phone\n\"a@b.c\nx\",+14155550100\n"), `{"Phone":"phone"}`)
	f.Add([]byte("Email\na\"b@c\n\"unterminated\n"), "")
	f.Add([]byte{0xef, 0xbb, 0xbf, 0xff, ',', '\n'}, "")
	f.Fuzz(func(t *testing.T, data []byte, mapping string) {
		var override map[string]string
		if mapping != "" {
			override = map[string]string{}
			for _, kv := range strings.Split(mapping, "|") {
				k, v, _ := strings.Cut(kv, "=")
				override[k] = v
			}
		}
		rd, err := capture.NewImportReader(bytes.NewReader(data), capture.ImportLimits{MaxBytes: 1 << 16, MaxRows: 100, MaxField: 64}, override)
		if err != nil {
			if !errors.Is(err, capture.ErrImportFile) {
				t.Fatalf("header error %v is not ErrImportFile", err)
			}
			return
		}
		for range 200 {
			r, err := rd.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, capture.ErrImportFile) {
					t.Fatalf("row error %v is neither EOF nor ErrImportFile", err)
				}
				return
			}
			if r.Invalid == "" && r.Values["email"] == "" && r.Values["phone"] == "" {
				t.Fatalf("line %d valid without email or phone: %v", r.Line, r.Values)
			}
			for _, v := range r.Values {
				if len(v) > 64 && r.Invalid == "" {
					t.Fatalf("line %d: a %d-byte value passed the 64-byte cap", r.Line, len(v))
				}
			}
		}
		t.Fatal("more than 100 rows read past the row limit")
	})
}
