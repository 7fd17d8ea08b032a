package capture

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"leadflow/store"
)

// Request failures the intake answers with a status of their own; field
// errors are *ValidationError.
var (
	errBodyTooLarge    = errors.New("request body too large")
	errFileTooLarge    = errors.New("file too large")
	errMalformedBody   = errors.New("malformed request body")
	errUnsupportedType = errors.New("unsupported content type")
)

// maxFiles bounds how many files one response may carry.
const maxFiles = 10

// submission is one post as it was read: every value by posted name (the
// action URL's query included) and the uploaded files.
type submission struct {
	raw   map[string][]string
	files []upload
}

type upload struct {
	field, filename, contentType string
	data                         []byte
}

// readSubmission reads the request body of a post to form. Bodies past the
// form's limits are cut off by http.MaxBytesReader, so an oversized post is
// never read whole.
func readSubmission(w http.ResponseWriter, r *http.Request, form store.Form) (submission, error) {
	sub := submission{raw: map[string][]string{}}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return sub, errUnsupportedType
	}
	maxBody := int64(form.MaxBodyBytes)
	switch mediaType {
	case "application/x-www-form-urlencoded":
		err = readURLEncoded(http.MaxBytesReader(w, r.Body, maxBody), sub.raw)
	case "application/json":
		err = readJSON(http.MaxBytesReader(w, r.Body, maxBody), sub.raw)
	case "multipart/form-data":
		if params["boundary"] == "" {
			return sub, errMalformedBody
		}
		// The whole body is bounded too: part headers and boundaries are
		// not counted against the limits below.
		limit := 2*maxBody + maxFiles*(int64(form.MaxFileBytes)+4096)
		mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, limit), params["boundary"])
		sub.files, err = readMultipart(mr, form, sub.raw)
	default:
		return sub, errUnsupportedType
	}
	if err != nil {
		return sub, err
	}
	for name, values := range r.URL.Query() {
		for _, v := range values {
			addRaw(sub.raw, name, v)
		}
	}
	return sub, nil
}

// addRaw keeps a posted value. Postgres text and jsonb cannot hold NUL or
// invalid UTF-8, so those become U+FFFD: visible, and nothing is dropped.
func addRaw(raw map[string][]string, name, value string) {
	name, value = storable(name), storable(value)
	raw[name] = append(raw[name], value)
}

func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func readURLEncoded(body io.Reader, raw map[string][]string) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return readError(err)
	}
	values, err := url.ParseQuery(string(b))
	if err != nil {
		return errMalformedBody
	}
	for name, vs := range values {
		for _, v := range vs {
			addRaw(raw, name, v)
		}
	}
	return nil
}

// readJSON reads one JSON object whose values are strings, numbers,
// booleans, nulls (taken as absent) or lists of those.
func readJSON(body io.Reader, raw map[string][]string) error {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		if errors.Is(readError(err), errBodyTooLarge) {
			return errBodyTooLarge
		}
		return errMalformedBody
	}
	if obj == nil {
		return errMalformedBody
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if errors.Is(readError(err), errBodyTooLarge) {
			return errBodyTooLarge
		}
		return errMalformedBody
	}
	bad := map[string]string{}
	for name, v := range obj {
		if list, ok := v.([]any); ok {
			for _, e := range list {
				s, ok := jsonScalar(e)
				if !ok {
					bad[storable(name)] = "must be a string, number, boolean or a list of them"
					break
				}
				addRaw(raw, name, s)
			}
			continue
		}
		if v == nil {
			continue
		}
		s, ok := jsonScalar(v)
		if !ok {
			bad[storable(name)] = "must be a string, number, boolean or a list of them"
			continue
		}
		addRaw(raw, name, s)
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	return nil
}

func jsonScalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// readMultipart reads the values and files of a multipart body. Values
// together are held to the form's body limit and each file to its file
// limit; a form with no file limit takes no files.
func readMultipart(mr *multipart.Reader, form store.Form, raw map[string][]string) ([]upload, error) {
	var files []upload
	valueBytes := int64(0)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, readError(err)
		}
		name := p.FormName()
		if p.FileName() == "" {
			remaining := int64(form.MaxBodyBytes) - valueBytes
			b, err := io.ReadAll(io.LimitReader(p, remaining+1))
			if err != nil {
				return nil, readError(err)
			}
			valueBytes += int64(len(b))
			if valueBytes > int64(form.MaxBodyBytes) {
				return nil, errBodyTooLarge
			}
			addRaw(raw, name, string(b))
			continue
		}
		field := storable(name)
		switch {
		case form.MaxFileBytes == 0:
			return nil, &ValidationError{Fields: map[string]string{field: "this form does not accept files"}}
		case len(files) == maxFiles:
			return nil, &ValidationError{Fields: map[string]string{field: fmt.Sprintf("at most %d files can be sent", maxFiles)}}
		}
		b, err := io.ReadAll(io.LimitReader(p, int64(form.MaxFileBytes)+1))
		if err != nil {
			return nil, readError(err)
		}
		if len(b) > form.MaxFileBytes {
			return nil, errFileTooLarge
		}
		files = append(files, upload{
			field:       field,
			filename:    cmp.Or(truncate(NormalizeLine(p.FileName()), maxLineLen), "upload"),
			contentType: fileContentType(p.Header.Get("Content-Type")),
			data:        b,
		})
	}
}

func fileContentType(s string) string {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || len(mt) > maxLineLen {
		return "application/octet-stream"
	}
	return mt
}

// readError tells a body cut off at its limit from a broken one.
func readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge
	}
	return errMalformedBody
}

// Posted names, lower-cased, that leadflow reads; any other name is custom
// data. The Salesforce Web-to-Lead names are among them, so a form written
// for Salesforce works unchanged.
var leadflowNames = []string{
	"first_name", "last_name", "email", "phone", "mobile", "company", "title", "city", "state",
	"country", "lead_source", "description", "product_interest", "campaign_id", "consent",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "returl",
}

// ignoredNames are Salesforce's control fields and the submit button (a
// form's button posts its label): they mean nothing here and are kept in the
// raw payload only.
var ignoredNames = []string{"oid", "orgid", "encoding", "debug", "debugemail", "captcha_settings", "submit"}

// requirableNames are the fields a form may require.
var requirableNames = []string{
	"first_name", "last_name", "email", "phone", "company", "title", "city", "state", "country",
	"description", "product_interest", "consent",
}

// maxCustomNameLen bounds a custom field's name, in characters; a longer
// name is not a field anyone designed, and is dropped.
const maxCustomNameLen = 100

// capturedFields is what a submission says once mapped and normalised.
type capturedFields struct {
	fields    Fields
	custom    map[string]string
	utm       map[string]string
	campaign  string
	returnURL string
	// postedNames are the name fields as posted and as cleaned, for the
	// spam checks: cleaning may reveal a link that invisible characters
	// split.
	postedNames []string
}

// postedValue is the first non-blank value posted for a leadflow name and
// the name it was posted under, so errors speak of the form's own field.
type postedValue struct {
	name, value string
}

// mapFields applies the form's field mapping to a submission, normalises
// what leadflow reads and validates it. Custom data is every other field
// except the honeypot and Salesforce's control fields.
func mapFields(form store.Form, raw map[string][]string) (capturedFields, error) {
	out := capturedFields{custom: map[string]string{}, utm: map[string]string{}}
	known := map[string]postedValue{}
	// Sorted, so two posted names mapped to one field resolve the same way
	// every time.
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, posted := range names {
		if posted == form.HoneypotField && posted != "" {
			continue
		}
		name := posted
		if to, ok := form.FieldMapping[posted]; ok && to != "" {
			name = to
		}
		key := strings.ToLower(name)
		switch {
		case slices.Contains(leadflowNames, key):
			if _, seen := known[key]; seen {
				continue
			}
			for _, v := range raw[posted] {
				if strings.TrimSpace(v) != "" {
					known[key] = postedValue{name: posted, value: v}
					break
				}
			}
		case slices.Contains(ignoredNames, key), name == "":
		default:
			values := make([]string, 0, len(raw[posted]))
			for _, v := range raw[posted] {
				if v = NormalizeText(v); v != "" {
					values = append(values, v)
				}
			}
			if len(values) > 0 {
				// Salesforce joins multi-select values with ";".
				out.custom[NormalizeLine(name)] = strings.Join(values, ";")
			}
		}
	}
	delete(out.custom, "")
	out.fields.CustomDropped, out.fields.CustomTruncated = capCustom(out.custom, form)

	bad := map[string]string{}
	fieldName := func(key string) string {
		if v, ok := known[key]; ok {
			return storable(v.name)
		}
		return key
	}
	line := func(key string, limit int, clean func(string) string) string {
		v := clean(known[key].value)
		if utf8.RuneCountInString(v) > limit {
			bad[fieldName(key)] = fmt.Sprintf("must be at most %d characters", limit)
		}
		return v
	}
	f := &out.fields
	f.FirstName = line("first_name", maxLineLen, NormalizeName)
	f.LastName = line("last_name", maxLineLen, NormalizeName)
	f.Company = line("company", maxLineLen, NormalizeLine)
	f.Title = line("title", maxLineLen, NormalizeLine)
	f.City = line("city", maxLineLen, NormalizeLine)
	f.State = line("state", maxLineLen, NormalizeLine)
	f.Country = line("country", maxLineLen, NormalizeLine)
	f.LeadSource = line("lead_source", maxLineLen, NormalizeLine)
	f.Description = line("description", maxDescriptionLen, NormalizeText)
	f.CampaignID = line("campaign_id", maxLineLen, NormalizeLine)
	f.ProductInterest = line("product_interest", maxLineLen, NormalizeLine)
	if v, ok := known["email"]; ok {
		email, canonical, err := NormalizeEmail(v.value)
		if err != nil {
			bad[fieldName("email")] = err.Error()
		}
		f.Email, f.EmailCanonical = email, canonical
	}
	// Salesforce forms may ask for a mobile number only.
	phoneName := "phone"
	if _, ok := known[phoneName]; !ok {
		phoneName = "mobile"
	}
	if v, ok := known[phoneName]; ok {
		phone, err := NormalizePhone(v.value, form.DefaultRegion)
		switch {
		case err == nil:
			f.Phone = phone
		case slices.Contains(form.RequiredFields, "phone") || known["email"].value == "":
			// A number the form needs, or the only way to reach the person.
			bad[fieldName(phoneName)] = err.Error()
		default:
			// An optional number that does not parse ("n/a", a number of
			// another country without its +) loses no lead: it is kept as
			// typed, unverified, and never matched on.
			f.PhoneUnverified = truncate(NormalizeLine(v.value), maxPhoneInputLen)
		}
	}
	if _, ok := known["email"]; !ok && f.Phone == "" && bad[fieldName(phoneName)] == "" {
		bad["email"] = "an email address or a phone number is required"
	}
	for _, key := range form.RequiredFields {
		if key == "phone" && known["mobile"].value != "" {
			continue
		}
		if _, ok := known[key]; !ok && bad[fieldName(key)] == "" {
			bad[key] = "is required"
		}
	}
	if isTruthy(known["consent"].value) {
		f.Consent, f.ConsentText = true, form.ConsentText
	}
	for _, key := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		// Tracking values are not the visitor's to fix: too long is cut,
		// not refused.
		if v := truncate(NormalizeLine(known[key].value), maxLineLen); v != "" {
			out.utm[key] = v
		}
	}
	out.postedNames = []string{known["first_name"].value, known["last_name"].value, f.FirstName, f.LastName}
	out.campaign = cmp.Or(f.CampaignID, form.Campaign)
	out.returnURL = strings.TrimSpace(known["returl"].value)
	if len(bad) > 0 {
		return out, &ValidationError{Fields: bad}
	}
	return out, nil
}

// capCustom holds a submission's custom fields to the form's caps: at most
// MaxCustomFields of them, the first by name, each value cut to
// MaxCustomValueChars, names longer than maxCustomNameLen dropped. It
// reports how many fields it dropped and how many values it cut. Nothing is
// refused: a visitor cannot fix a form's design, and the raw payload keeps
// every value as posted.
func capCustom(custom map[string]string, form store.Form) (dropped, truncated int) {
	maxValue := form.MaxCustomValueChars
	if maxValue <= 0 {
		maxValue = store.DefaultFormMaxCustomValueChars
	}
	kept := 0
	for _, name := range slices.Sorted(maps.Keys(custom)) {
		if kept >= form.MaxCustomFields || utf8.RuneCountInString(name) > maxCustomNameLen {
			delete(custom, name)
			dropped++
			continue
		}
		kept++
		if v := custom[name]; utf8.RuneCountInString(v) > maxValue {
			custom[name] = truncate(v, maxValue)
			truncated++
		}
	}
	return dropped, truncated
}

// isTruthy reads a checkbox or a boolean as HTML forms and scripts send it.
func isTruthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "y", "1", "checked":
		return true
	}
	return false
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
