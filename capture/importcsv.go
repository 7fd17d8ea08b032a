package capture

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"leadflow/store"
)

// Limits of an imported CSV file. A file past MaxBytes or MaxRows is refused
// as a whole; a field past MaxField makes its row invalid.
const (
	DefaultImportMaxBytes = 64 << 20
	DefaultImportMaxRows  = 1_000_000
	DefaultImportMaxField = 4 << 10
	// importMaxColumns bounds the header: a list with more columns is not a
	// contact list.
	importMaxColumns = 200
	// importMaxRawRow bounds the raw row kept for an invalid row.
	importMaxRawRow = 8 << 10
)

// ImportLimits bound one imported file; zero fields take the defaults.
type ImportLimits struct {
	MaxBytes int64
	MaxRows  int
	MaxField int
}

func (l ImportLimits) withDefaults() ImportLimits {
	l.MaxBytes = cmp.Or(l.MaxBytes, DefaultImportMaxBytes)
	l.MaxRows = cmp.Or(l.MaxRows, DefaultImportMaxRows)
	l.MaxField = cmp.Or(l.MaxField, DefaultImportMaxField)
	return l
}

// ErrImportFile marks a file refused as a whole: nothing of it is imported.
// The wrapping error says why and, where it applies, on which line.
var ErrImportFile = errors.New("import file refused")

func fileError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrImportFile, fmt.Sprintf(format, args...))
}

// The fields an import column can be mapped to: a lead's own fields as a
// form maps them. ImportIgnore drops the column.
const (
	ImportFirstName       = "first_name"
	ImportLastName        = "last_name"
	ImportFullName        = "name"
	ImportEmail           = "email"
	ImportPhone           = "phone"
	ImportCompany         = "company"
	ImportTitle           = "title"
	ImportCity            = "city"
	ImportState           = "state"
	ImportCountry         = "country"
	ImportLeadSource      = "lead_source"
	ImportDescription     = "description"
	ImportProductInterest = "product_interest"
	ImportIgnore          = ""
)

var importTargets = map[string]bool{
	ImportFirstName: true, ImportLastName: true, ImportFullName: true, ImportEmail: true,
	ImportPhone: true, ImportCompany: true, ImportTitle: true, ImportCity: true,
	ImportState: true, ImportCountry: true, ImportLeadSource: true, ImportDescription: true,
	ImportProductInterest: true,
}

// importHeaders are the column headers recognised, folded (lower case,
// letters and digits only): ours, Salesforce's report and data-loader
// exports, HubSpot's contact exports, and common spreadsheet habits.
var importHeaders = map[string]string{
	"firstname": ImportFirstName, "first": ImportFirstName, "givenname": ImportFirstName, "forename": ImportFirstName,
	"lastname": ImportLastName, "last": ImportLastName, "surname": ImportLastName, "familyname": ImportLastName,
	"name": ImportFullName, "fullname": ImportFullName, "contactname": ImportFullName, "leadname": ImportFullName,
	"email": ImportEmail, "emailaddress": ImportEmail, "email1": ImportEmail, "workemail": ImportEmail,
	"businessemail": ImportEmail, "emailid": ImportEmail,
	"phone": ImportPhone, "phonenumber": ImportPhone, "mobile": ImportPhone, "mobilephone": ImportPhone,
	"mobilephonenumber": ImportPhone, "businessphone": ImportPhone, "workphone": ImportPhone,
	"telephone": ImportPhone, "tel": ImportPhone, "cellphone": ImportPhone,
	"company": ImportCompany, "companyname": ImportCompany, "account": ImportCompany,
	"accountname": ImportCompany, "organization": ImportCompany, "organisation": ImportCompany,
	"employer": ImportCompany,
	"title":    ImportTitle, "jobtitle": ImportTitle, "position": ImportTitle,
	"city": ImportCity, "mailingcity": ImportCity, "town": ImportCity,
	"state": ImportState, "stateprovince": ImportState, "stateregion": ImportState,
	"province": ImportState, "region": ImportState, "mailingstate": ImportState,
	"mailingstateprovince": ImportState,
	"country":              ImportCountry, "countryregion": ImportCountry, "mailingcountry": ImportCountry,
	"leadsource": ImportLeadSource, "source": ImportLeadSource, "originalsource": ImportLeadSource,
	"description": ImportDescription, "notes": ImportDescription, "comments": ImportDescription,
	"productinterest": ImportProductInterest, "purchaseinterest": ImportProductInterest,
	"primarypurchaseinterest": ImportProductInterest,
}

// foldHeader is how headers are compared: "E-mail Address" and
// "email_address" are both "emailaddress".
func foldHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SuggestImportMapping maps each header to the field it most likely holds,
// header -> field; unrecognised headers map to ImportIgnore. When two
// headers suggest the same field the first keeps it.
func SuggestImportMapping(header []string) map[string]string {
	m := make(map[string]string, len(header))
	taken := map[string]bool{}
	for _, h := range header {
		f := importHeaders[foldHeader(h)]
		if f == "" && strings.Contains(foldHeader(h), "email") {
			f = ImportEmail
		}
		if f != "" && taken[f] {
			f = ImportIgnore
		}
		taken[f] = f != ""
		if _, dup := m[h]; !dup {
			m[h] = f
		}
	}
	return m
}

// ImportMapping is a file's resolved mapping: the field of each column.
type ImportMapping struct {
	Header  []string
	Columns []string // Columns[i] is the field of Header[i], or ImportIgnore
}

// ImportColumn is one column of a file and the field it is mapped to
// (empty: ignored): the form a mapping is stored and shown in, in the
// file's column order.
type ImportColumn struct {
	Column string `json:"column"`
	Field  string `json:"field"`
}

// List returns the mapping column by column.
func (m ImportMapping) List() []ImportColumn {
	out := make([]ImportColumn, len(m.Header))
	for i, h := range m.Header {
		out[i] = ImportColumn{Column: h, Field: m.Columns[i]}
	}
	return out
}

// resolveMapping applies override (header -> field, "" to ignore) to the
// suggestion for header and checks the result: every override names a
// column of the file and a known field, no field is mapped twice, and an
// email or a phone column is mapped.
func resolveMapping(header []string, override map[string]string) (ImportMapping, error) {
	suggested := SuggestImportMapping(header)
	byFold := make(map[string]string, len(header))
	for _, h := range header {
		if _, ok := byFold[foldHeader(h)]; !ok {
			byFold[foldHeader(h)] = h
		}
	}
	fields := map[string]string{}
	keys := make([]string, 0, len(override))
	for k := range override {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h, ok := byFold[foldHeader(k)]
		if !ok {
			fields["mapping."+k] = "no such column in the file"
			continue
		}
		f := strings.TrimSpace(override[k])
		if f == "ignore" {
			f = ImportIgnore
		}
		if f != ImportIgnore && !importTargets[f] {
			fields["mapping."+k] = fmt.Sprintf("unknown field %q", f)
			continue
		}
		// An override takes its field from whichever column suggested it.
		if f != ImportIgnore {
			for col, g := range suggested {
				if g == f {
					suggested[col] = ImportIgnore
				}
			}
		}
		suggested[h] = f
	}
	if len(fields) > 0 {
		return ImportMapping{}, &ValidationError{Fields: fields}
	}
	m := ImportMapping{Header: header, Columns: make([]string, len(header))}
	seen := map[string]string{}
	seenHeader := map[string]bool{}
	hasContact := false
	for i, h := range header {
		if seenHeader[h] {
			continue // a repeated header: the first column holds its field
		}
		seenHeader[h] = true
		f := suggested[h]
		if f != ImportIgnore {
			if other, ok := seen[f]; ok {
				fields["mapping."+h] = fmt.Sprintf("field %q is already mapped from %q", f, other)
				continue
			}
			seen[f] = h
		}
		m.Columns[i] = f
		hasContact = hasContact || f == ImportEmail || f == ImportPhone
	}
	if len(fields) > 0 {
		return ImportMapping{}, &ValidationError{Fields: fields}
	}
	if !hasContact {
		return ImportMapping{}, &ValidationError{Fields: map[string]string{
			"mapping": "no column is mapped to email or phone: map one (e.g. {\"E-mail\": \"email\"})",
		}}
	}
	return m, nil
}

// ImportRow is one data row of an imported file.
type ImportRow struct {
	// Line is the file line the row starts on (the header is line 1).
	Line int
	// Values are the row's mapped values, field -> value, trimmed.
	Values map[string]string
	// Raw is the row as read, header -> value.
	Raw map[string]string
	// Invalid says why the row cannot be imported; empty when it can.
	Invalid string
}

// ImportReader streams the rows of a CSV file: memory stays flat whatever
// the file's length, bounded by the longest record.
type ImportReader struct {
	csv     *csv.Reader
	counter *limitedReader
	limits  ImportLimits
	mapping ImportMapping
	comma   rune
	rows    int
}

// limitedReader fails once more than max bytes have been read.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

var errTooLarge = errors.New("too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, errTooLarge
	}
	if rem := l.max + 1 - l.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, errTooLarge
	}
	return n, err
}

// NewImportReader reads and checks the header of a CSV file and resolves
// its mapping (the suggestion with override applied). It fails with an
// ErrImportFile or a *ValidationError before any row is read: a file whose
// header is unusable imports nothing.
func NewImportReader(r io.Reader, limits ImportLimits, override map[string]string) (*ImportReader, error) {
	limits = limits.withDefaults()
	counter := &limitedReader{r: r, max: limits.MaxBytes}
	br := bufio.NewReaderSize(counter, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	first, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, errTooLarge) {
			return nil, fileError("the file is larger than %d bytes", limits.MaxBytes)
		}
		return nil, fmt.Errorf("read import header: %w", err)
	}
	if len(bytes.TrimSpace(first)) == 0 {
		return nil, fileError("the file is empty")
	}
	if bytes.IndexByte(first, 0) >= 0 {
		return nil, fileError("the file is binary, not CSV text")
	}
	comma := detectDelimiter(first)
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	ir := &ImportReader{csv: cr, counter: counter, limits: limits, comma: comma}
	header, err := cr.Read()
	if err != nil {
		return nil, ir.readError(err, 1)
	}
	if len(header) > importMaxColumns {
		return nil, fileError("line 1: %d columns, at most %d", len(header), importMaxColumns)
	}
	hdr := make([]string, len(header))
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, fileError("line 1: the header is not valid UTF-8 (save the file as UTF-8)")
		}
		if len(h) > 200 {
			return nil, fileError("line 1: column %d's header is longer than 200 bytes", i+1)
		}
		hdr[i] = strings.TrimSpace(h)
	}
	m, err := resolveMapping(hdr, override)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImportFile, err)
	}
	ir.mapping = m
	return ir, nil
}

// detectDelimiter picks ';' or ',' by which the header line has more of,
// outside quotes: spreadsheets in much of Europe save CSV with semicolons.
func detectDelimiter(b []byte) rune {
	var commas, semis int
	quoted := false
	for _, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n' || c == '\r':
			if semis > commas {
				return ';'
			}
			return ','
		case c == ',':
			commas++
		case c == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

// Mapping is the file's resolved mapping.
func (ir *ImportReader) Mapping() ImportMapping { return ir.mapping }

// Delimiter is the field separator detected from the header.
func (ir *ImportReader) Delimiter() rune { return ir.comma }

// Next returns the next row, io.EOF after the last. A row the file cannot be
// read past (invalid UTF-8, broken quoting, the file too large or too long)
// is an ErrImportFile naming the line; a row that merely cannot be imported
// is returned with Invalid set.
func (ir *ImportReader) Next() (ImportRow, error) {
	for {
		rec, err := ir.csv.Read()
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote) {
			// The reader has moved past the line: the row alone is bad.
			ir.rows++
			if ir.rows > ir.limits.MaxRows {
				return ImportRow{}, fileError("line %d: more than %d rows", pe.StartLine, ir.limits.MaxRows)
			}
			return ImportRow{Line: pe.StartLine, Raw: map[string]string{}, Invalid: "a quote inside an unquoted value"}, nil
		}
		if err != nil {
			return ImportRow{}, ir.readError(err, 2)
		}
		line, _ := ir.csv.FieldPos(0)
		if blank(rec) {
			continue
		}
		ir.rows++
		if ir.rows > ir.limits.MaxRows {
			return ImportRow{}, fileError("line %d: more than %d rows", line, ir.limits.MaxRows)
		}
		for _, v := range rec {
			if !utf8.ValidString(v) {
				return ImportRow{}, fileError("line %d: not valid UTF-8 (save the file as UTF-8)", line)
			}
		}
		return ir.row(line, rec), nil
	}
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// row builds a row from a record, checking its values.
func (ir *ImportReader) row(line int, rec []string) ImportRow {
	row := ImportRow{Line: line, Values: map[string]string{}, Raw: make(map[string]string, len(rec))}
	size := 0
	for i, v := range rec {
		h := fmt.Sprintf("column %d", i+1)
		if i < len(ir.mapping.Header) && ir.mapping.Header[i] != "" {
			h = ir.mapping.Header[i]
		}
		if size+len(v) <= importMaxRawRow {
			row.Raw[h] = v
			size += len(v)
		}
		if len(v) > ir.limits.MaxField && row.Invalid == "" {
			row.Invalid = fmt.Sprintf("%s is longer than %d bytes", h, ir.limits.MaxField)
		}
		if i >= len(ir.mapping.Columns) {
			if strings.TrimSpace(v) != "" && row.Invalid == "" {
				row.Invalid = fmt.Sprintf("%d values, the header has %d columns", len(rec), len(ir.mapping.Columns))
			}
			continue
		}
		if f := ir.mapping.Columns[i]; f != ImportIgnore {
			if v = strings.TrimSpace(v); v != "" {
				row.Values[f] = v
			}
		}
	}
	if row.Invalid == "" && row.Values[ImportEmail] == "" && row.Values[ImportPhone] == "" {
		row.Invalid = "no email and no phone"
	}
	return row
}

func (ir *ImportReader) readError(err error, line int) error {
	if errors.Is(err, errTooLarge) {
		return fileError("the file is larger than %d bytes", ir.limits.MaxBytes)
	}
	if errors.Is(err, io.EOF) {
		if line <= 1 && ir.mapping.Header == nil {
			return fileError("the file is empty")
		}
		return io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fileError("line %d: %v", pe.StartLine, pe.Err)
	}
	return fmt.Errorf("read import file: %w", err)
}

// importFields normalises a valid row's values as a form's fields would be:
// a row whose email or phone does not parse is invalid, and the reason is
// returned instead.
func importFields(values map[string]string) (Fields, string) {
	f := Fields{
		FirstName:       NormalizeName(values[ImportFirstName]),
		LastName:        NormalizeName(values[ImportLastName]),
		Company:         NormalizeLine(values[ImportCompany]),
		Title:           NormalizeLine(values[ImportTitle]),
		City:            NormalizeLine(values[ImportCity]),
		State:           NormalizeLine(values[ImportState]),
		Country:         NormalizeLine(values[ImportCountry]),
		LeadSource:      NormalizeLine(values[ImportLeadSource]),
		Description:     NormalizeText(values[ImportDescription]),
		ProductInterest: NormalizeLine(values[ImportProductInterest]),
	}
	if full := NormalizeName(values[ImportFullName]); full != "" && f.FirstName == "" && f.LastName == "" {
		if i := strings.LastIndexByte(full, ' '); i > 0 {
			f.FirstName, f.LastName = full[:i], full[i+1:]
		} else {
			f.LastName = full
		}
	}
	if e := values[ImportEmail]; e != "" {
		email, canonical, err := NormalizeEmail(e)
		if err != nil {
			return Fields{}, "email: " + err.Error()
		}
		f.Email, f.EmailCanonical = email, canonical
	}
	if p := values[ImportPhone]; p != "" {
		phone, err := NormalizePhone(p, regionOf(f.Country))
		switch {
		case err == nil:
			f.Phone = phone
		case f.Email != "":
			f.PhoneUnverified = NormalizeLine(p)
		default:
			return Fields{}, "phone: " + err.Error()
		}
	}
	return f, ""
}

// regionOf is how a phone number without a leading + is read: the row's
// country when it is a two-letter region code, else the default region.
func regionOf(country string) string {
	if r := strings.ToUpper(country); phonenumbers.GetSupportedRegions()[r] {
		return r
	}
	return store.DefaultFormRegion
}
