package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"leadflow/deploy/local"
	"leadflow/nurture"
	"leadflow/store"
)

// benchFormKey is the bench form's public key.
const benchFormKey = "bench-contact"

// benchSettings are the bench's own flags.
type benchSettings struct {
	leads, enrolments, maxPosts int
	duration, drain             time.Duration
	pacedRate, enrolmentRate    float64
	durable                     bool
}

// cmdBench measures the whole pipeline on private services: form posts over
// real HTTP, their resolution into leads, the welcome email each new lead
// gets over real SMTP, and the scheduler advancing many enrolments; it
// checks that nothing was lost or doubled and prints one Markdown table.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Logs are for trouble here: warnings unless asked otherwise.
	finish := configFlags(fs, func(k string) string {
		if v := getenv(k); v != "" || k != "LEADFLOW_LOG_LEVEL" {
			return v
		}
		return "warn"
	})
	var b benchSettings
	fs.IntVar(&b.leads, "leads", 1_000_000, "existing leads loaded before measuring (and a tenth as many contacts)")
	fs.IntVar(&b.enrolments, "enrolments", 100_000, "enrolments the scheduler advances one step (the goal is stated for 1,000,000); at most --leads")
	fs.IntVar(&b.maxPosts, "posts", 1_000_000, "most form posts in each load run")
	fs.DurationVar(&b.duration, "duration", 10*time.Second, "length of each load run")
	fs.DurationVar(&b.drain, "drain-timeout", 3*time.Minute, "longest wait for responses, emails or enrolments to be done")
	fs.Float64Var(&b.pacedRate, "paced-rate", 1000, "posts a second of the run that times submit-to-lead")
	fs.Float64Var(&b.enrolmentRate, "enrolment-rate", 1_000_000.0/600, "enrolments falling due a second (the goal's 1M in 10 min)")
	fs.BoolVar(&b.durable, "durable", true, "PostgreSQL with fsync on, as in production")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	switch {
	case b.leads < 1, b.enrolments < 1, b.maxPosts < 1, b.duration <= 0, b.drain <= 0, b.pacedRate <= 0, b.enrolmentRate <= 0:
		return errors.New("bench: --leads, --enrolments, --posts, --duration, --drain-timeout, --paced-rate and --enrolment-rate must be positive")
	case b.enrolments > b.leads:
		return fmt.Errorf("bench: --enrolments (%d) must not exceed --leads (%d): each enrolment is of a loaded lead", b.enrolments, b.leads)
	}
	log := newLogger(cfg, stderr)
	began := time.Now()
	say := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench %6.1fs: "+format+"\n", append([]any{time.Since(began).Seconds()}, a...)...)
	}

	dir, err := os.MkdirTemp("", "leadflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The private cluster may run as the postgres user, which must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	pg, err := local.StartPostgres(ctx, filepath.Join(dir, "postgres"), local.PostgresOptions{Durable: b.durable})
	if err != nil {
		return err
	}
	defer pg.Stop()
	if cfg.DatabaseURL, err = ensureDatabase(ctx, pg.URL, "leadflow"); err != nil {
		return err
	}
	rd, err := local.StartRedis(ctx, filepath.Join(dir, "redis"), local.RedisOptions{})
	if err != nil {
		return fmt.Errorf("bench needs a real Redis: %w", err)
	}
	defer rd.Stop()
	cfg.RedisURL = rd.URL
	sink, err := startBenchSink()
	if err != nil {
		return err
	}
	defer sink.close()
	cfg.SMTPURL = "smtp://" + sink.addr() + "?tls=none"
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.SecretKey = hex.EncodeToString(key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg.Addr = ln.Addr().String()
	ln.Close()
	cfg.BaseURL = "http://" + cfg.Addr
	cfg.MetricsAddr = ""

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx, nil); err != nil {
		return err
	}
	bw, err := setupBenchWorkspace(ctx, st)
	if err != nil {
		return err
	}
	people := newBenchPeople()
	say("loading %d leads and %d contacts", b.leads, b.leads/10)
	t0 := time.Now()
	enrolLeads, err := loadLeads(ctx, st, bw.ws, people, b.leads, b.enrolments)
	if err != nil {
		return err
	}
	loadTime := time.Since(t0)
	say("loaded in %s", loadTime.Round(time.Millisecond))

	// The peak resident set from here on is leadflow's serving and working
	// (with the load generator and sink beside it), not the load's.
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()

	appCtx, stopApp := context.WithCancel(ctx)
	defer stopApp()
	listening := make(chan string, 1)
	appDone := make(chan error, 1)
	go func() {
		appDone <- runWith(appCtx, cfg, log, runOptions{serve: true, work: true,
			onListen: func(addr string) { listening <- addr }})
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-appDone:
		return fmt.Errorf("leadflow did not start: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	stop := func() error {
		stopApp()
		return <-appDone
	}
	res, benchErr := runBench(ctx, st, bw, b, people, "http://"+addr+"/f/"+benchFormKey, sink, enrolLeads, say)
	res.hwm, res.rss = procStatusKB("VmHWM"), procStatusKB("VmRSS")
	if err := stop(); err != nil && benchErr == nil {
		benchErr = fmt.Errorf("leadflow: %w", err)
	}
	res.leads, res.loadTime = b.leads, loadTime
	res.print(stdout, b)
	return benchErr
}

// benchWorkspace is what the bench configured.
type benchWorkspace struct {
	ws, form, welcome, schedule uuid.UUID
}

// setupBenchWorkspace makes the bench workspace: sending settings at the
// highest send rate, the bench form, a welcome sequence on it whose first
// step emails at once, and the sequence the scheduler's enrolments wait in
// (a day's wait, then an email).
func setupBenchWorkspace(ctx context.Context, st *store.Store) (benchWorkspace, error) {
	var bw benchWorkspace
	err := st.InTx(ctx, func(q *store.Queries) error {
		ws, err := q.EnsureWorkspace(ctx, "bench")
		if err != nil {
			return err
		}
		bw.ws = ws.ID
		s := ws.WorkspaceSettings
		s.SenderName, s.SenderEmail, s.PostalAddress = "Bench Marketing", "marketing@example.com", "1 Bench Street, Springfield, USA"
		s.SendRatePerSecond = nurture.MaxSendRate
		if _, err := q.UpdateWorkspaceSettings(ctx, ws.ID, s); err != nil {
			return err
		}
		form, err := q.InsertForm(ctx, store.Form{
			WorkspaceID: ws.ID, Key: benchFormKey, Name: "Contact us", Kind: store.FormContactUs, DefaultRegion: "US",
			Campaign: "website", MaxBodyBytes: 64 << 10, ConsentText: demoConsentText,
			AllowedOrigins: []string{}, AllowedReturnURLs: []string{}, FieldMapping: map[string]string{},
		})
		if err != nil {
			return fmt.Errorf("bench form: %w", err)
		}
		bw.form = form.ID
		tmpl, err := q.InsertTemplate(ctx, store.Template{
			WorkspaceID: ws.ID, Name: "Welcome", Subject: "Welcome, {{first_name|there}}",
			HTMLBody: `<p>Hi {{first_name|there}},</p><p>Thanks for getting in touch. Our <a href="https://example.com/pricing">pricing page</a> has the details.</p>` +
				`<p>{{sender_name}}</p><p><a href="{{unsubscribe_url}}">Unsubscribe</a> · {{postal_address}}</p>`,
			TextBody: "Hi {{first_name|there}},\n\nPricing: https://example.com/pricing\n\n{{sender_name}}\nUnsubscribe: {{unsubscribe_url}}\n{{postal_address}}\n",
		})
		if err != nil {
			return err
		}
		mk := func(name string, steps []nurture.Step, forms []uuid.UUID) (uuid.UUID, error) {
			raw, _ := json.Marshal(steps)
			seq, err := q.InsertSequence(ctx, store.Sequence{
				WorkspaceID: ws.ID, Name: name, Timezone: "UTC", SendWindow: json.RawMessage(`{}`),
				ExitCriteria: slices.Clone(nurture.DefaultExitCriteria), TriggerFormIDs: forms, Steps: raw,
			})
			if err != nil {
				return uuid.Nil, err
			}
			_, err = q.SetSequenceStatus(ctx, ws.ID, seq.ID, store.SequenceActive)
			return seq.ID, err
		}
		if bw.welcome, err = mk("Welcome", []nurture.Step{
			{Key: "welcome", Type: nurture.StepEmail, TemplateID: &tmpl.ID},
			{Key: "pause", Type: nurture.StepWait, Duration: nurture.Duration(24 * time.Hour)},
			{Key: "follow_up", Type: nurture.StepEmail, TemplateID: &tmpl.ID},
		}, []uuid.UUID{form.ID}); err != nil {
			return err
		}
		bw.schedule, err = mk("Schedule", []nurture.Step{
			{Key: "pause", Type: nurture.StepWait, Duration: nurture.Duration(24 * time.Hour)},
			{Key: "follow_up", Type: nurture.StepEmail, TemplateID: &tmpl.ID},
		}, []uuid.UUID{})
		return err
	})
	return bw, err
}

// benchResult is every figure and check of a run.
type benchResult struct {
	leads    int
	loadTime time.Duration
	runs     []struct {
		conns int
		run   postRun
	}
	paced          postRun
	resolved       int
	resolvedRate   float64
	lead50, lead99 time.Duration
	emails         int
	emailRate      float64
	sent50, sent99 time.Duration
	enrolled       int
	enrolTime      time.Duration
	lag50, lag99   time.Duration
	hwm, rss       int
	checks         []benchCheck
	// skipped says why the later measures were not taken.
	skipped string
}

// benchCheck is one no-loss/no-double check: what it counted and whether it held.
type benchCheck struct {
	what string
	ok   bool
	note string
}

func (r *benchResult) check(what string, ok bool, format string, a ...any) {
	r.checks = append(r.checks, benchCheck{what: what, ok: ok, note: fmt.Sprintf(format, a...)})
}

func (r *benchResult) failed() error {
	var errs []error
	for _, c := range r.checks {
		if !c.ok {
			errs = append(errs, fmt.Errorf("%s: %s", c.what, c.note))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bench: checks failed:\n%w", errors.Join(errs...))
	}
	return nil
}

// runBench runs the measures in order: closed-loop posts at 32 and 128
// connections, a paced run at --paced-rate, the drain of their responses
// and emails, then the enrolments.
func runBench(ctx context.Context, st *store.Store, bw benchWorkspace, b benchSettings, people benchPeople, formURL string,
	sink *benchSink, enrolLeads []uuid.UUID, say func(string, ...any)) (benchResult, error) {
	var res benchResult
	p := newPoster(formURL, people, 256)
	defer p.close()
	started := time.Now()
	for _, conns := range []int{32, 128} {
		say("posting for %s on %d connections", b.duration, conns)
		run := p.closedLoop(ctx, conns, b.duration, b.maxPosts)
		res.runs = append(res.runs, struct {
			conns int
			run   postRun
		}{conns, run})
		say("%d posts answered 2xx (%.0f/s), %d other answers %v, %d failed", run.ok, run.rate(), run.refused, run.statuses, run.failed)
	}
	// submit-to-lead is timed at a rate capture can take, once the backlog
	// of the closed-loop runs has been resolved.
	resolvedRate := func(before time.Time) error {
		return st.Pool.QueryRow(ctx, `
			SELECT count(*), coalesce(count(*) / nullif(extract(epoch FROM max(processed_at) - min(received_at)), 0), 0)
			FROM responses WHERE form_id = $1 AND received_at < $2 AND status = 'processed'`, bw.form, before).Scan(&res.resolved, &res.resolvedRate)
	}
	if err := waitDone(ctx, st, "responses", b.drain, say, pendingResponses(st, bw.form)); err != nil {
		// Not lost (they are committed), but the rest cannot be measured
		// behind them: say so, with how fast they were being resolved.
		res.check("responses resolved within --drain-timeout", false, "%v", err)
		res.skipped = "not measured: the responses above were not all resolved within --drain-timeout"
		if err := resolvedRate(time.Now()); err != nil {
			return res, err
		}
		return res, res.failed()
	}
	pacedFrom := time.Now()
	say("posting at %.0f/s for %s", b.pacedRate, b.duration)
	res.paced = p.paced(ctx, b.pacedRate, 256, b.duration, b.maxPosts)
	say("%d paced posts answered 2xx (%.0f/s), %d other answers %v, %d failed", res.paced.ok, res.paced.rate(), res.paced.refused, res.paced.statuses, res.paced.failed)
	if err := waitDone(ctx, st, "responses", b.drain, say, pendingResponses(st, bw.form)); err != nil {
		res.check("responses resolved within --drain-timeout", false, "%v", err)
		res.skipped = "not measured: the paced run's responses were not all resolved within --drain-timeout"
	}
	if err := resolvedRate(pacedFrom); err != nil {
		return res, err
	}
	var l50, l99 float64
	if err := st.Pool.QueryRow(ctx, `
		SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)), 0),
		       coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)), 0)
		FROM responses WHERE form_id = $1 AND received_at >= $2`, bw.form, pacedFrom).Scan(&l50, &l99); err != nil {
		return res, err
	}
	res.lead50, res.lead99 = secs(l50), secs(l99)
	if res.skipped != "" {
		return res, res.failed()
	}
	if err := checkResponses(ctx, st, bw, p.acceptedEmails(), &res); err != nil {
		return res, err
	}
	// Every new lead's welcome email.
	if err := waitDone(ctx, st, "welcome emails", b.drain, say, func(ctx context.Context) (int, error) {
		var n int
		err := st.Pool.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM enrollments WHERE sequence_id = $1) - (SELECT count(*) FROM messages m
				JOIN enrollments e ON e.id = m.enrollment_id WHERE e.sequence_id = $1 AND m.status = 'sent')`, bw.welcome).Scan(&n)
		return n, err
	}); err != nil {
		res.check("welcome emails sent", false, "%v", err)
	}
	if err := checkEmails(ctx, st, bw, sink, started, &res); err != nil {
		return res, err
	}
	if err := benchEnrolments(ctx, st, bw, b, enrolLeads, say, &res); err != nil {
		return res, err
	}
	return res, res.failed()
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// pendingResponses counts the bench form's responses not yet resolved.
func pendingResponses(st *store.Store, form uuid.UUID) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		var n int
		err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM responses WHERE form_id = $1 AND status = 'pending'`, form).Scan(&n)
		return n, err
	}
}

// waitDone polls left until it is 0, for at most limit.
func waitDone(ctx context.Context, st *store.Store, what string, limit time.Duration, say func(string, ...any), left func(context.Context) (int, error)) error {
	deadline := time.Now().Add(limit)
	lastSaid := time.Now()
	for {
		n, err := left(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d %s still not done after %s", n, what, limit)
		}
		if time.Since(lastSaid) > 5*time.Second {
			say("waiting for %d %s", n, what)
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkResponses: every post answered 2xx is one response, and each
// response made one lead of its own (every address was new).
func checkResponses(ctx context.Context, st *store.Store, bw benchWorkspace, accepted []string, res *benchResult) error {
	rows, err := st.Pool.Query(ctx, `SELECT raw->'email'->>0 FROM responses WHERE form_id = $1`, bw.form)
	if err != nil {
		return err
	}
	byEmail := map[string]int{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		byEmail[e]++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var lost, doubled int
	for _, e := range accepted {
		switch byEmail[e] {
		case 0:
			lost++
		case 1:
		default:
			doubled++
		}
	}
	res.check("every 2xx is one response", lost == 0 && doubled == 0 && len(accepted) > 0,
		"%d posts answered 2xx, %d responses%s; %d without a response, %d with more than one",
		len(accepted), len(byEmail), extraNote(len(byEmail)-len(accepted)), lost, doubled)
	var total, processed, withLead, distinctLeads int
	if err := st.Pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE status = 'processed'), count(lead_id), count(DISTINCT lead_id)
		FROM responses WHERE form_id = $1`, bw.form).Scan(&total, &processed, &withLead, &distinctLeads); err != nil {
		return err
	}
	res.check("each response has one lead", total > 0 && processed == total && withLead == total && distinctLeads == total,
		"%d responses, %d processed, %d with a lead, %d distinct leads", total, processed, withLead, distinctLeads)
	return nil
}

// checkEmails: each new lead was enrolled once and its welcome email made
// once, and the sink received each message row once and nothing else.
// Emails/s and due-to-sent come from the sink's arrival times, due being
// the enrolment.
func checkEmails(ctx context.Context, st *store.Store, bw benchWorkspace, sink *benchSink, started time.Time, res *benchResult) error {
	var leads, enrolments int
	if err := st.Pool.QueryRow(ctx, `
		SELECT count(DISTINCT lead_id), (SELECT count(*) FROM enrollments WHERE sequence_id = $2)
		FROM responses WHERE form_id = $1`, bw.form, bw.welcome).Scan(&leads, &enrolments); err != nil {
		return err
	}
	res.check("each new lead enrolled once", leads > 0 && leads == enrolments, "%d new leads, %d enrolments", leads, enrolments)
	rows, err := st.Pool.Query(ctx, `
		SELECT m.message_id, m.status, e.created_at FROM messages m JOIN enrollments e ON e.id = m.enrollment_id
		WHERE e.sequence_id = $1`, bw.welcome)
	if err != nil {
		return err
	}
	arrived, doubled, noID := sink.snapshot()
	var msgs, sent, missing int
	var due []time.Duration
	var first, last time.Time
	for rows.Next() {
		var id, status string
		var enrolled time.Time
		if err := rows.Scan(&id, &status, &enrolled); err != nil {
			rows.Close()
			return err
		}
		msgs++
		if status == store.MessageSent {
			sent++
		}
		at, ok := arrived[strings.Trim(id, "<>")]
		if !ok {
			missing++
			continue
		}
		delete(arrived, strings.Trim(id, "<>"))
		due = append(due, at.Sub(enrolled))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	res.check("each enrolment step sent once", msgs > 0 && msgs == enrolments && sent == msgs && missing == 0 &&
		len(doubled) == 0 && len(arrived) == 0 && noID == 0,
		"%d enrolments, %d message rows, %d sent; sink: %d received, %d rows not received, %d received twice, %d unknown, %d without Message-ID",
		enrolments, msgs, sent, sink.count(), missing, len(doubled), len(arrived), noID)
	res.emails = len(due)
	if len(due) > 1 && last.After(first) {
		res.emailRate = float64(len(due)) / last.Sub(first).Seconds()
	}
	slices.Sort(due)
	res.sent50, res.sent99 = percentile(due, 0.5), percentile(due, 0.99)
	return nil
}

// benchEnrolments copies the enrolments, due at --enrolment-rate from a
// moment after the copy, and times the scheduler advancing each past its
// wait: lag is when the step ran less when it was due.
func benchEnrolments(ctx context.Context, st *store.Store, bw benchWorkspace, b benchSettings, leads []uuid.UUID, say func(string, ...any), res *benchResult) error {
	// Due from a moment after the copy commits (at the lead copy's pace and
	// then some), so none is late before it can be seen.
	lead := time.Second + time.Duration(float64(len(leads))/20000*float64(time.Second))
	first := time.Now().Add(lead)
	say("copying %d enrolments, due at %.0f/s from %s", len(leads), b.enrolmentRate, first.Format(time.TimeOnly))
	if err := loadEnrolments(ctx, st, bw.ws, bw.schedule, leads, "pause", first, b.enrolmentRate); err != nil {
		return err
	}
	if late := time.Since(first); late > 0 {
		say("the copy committed %s after the first enrolment was due: that shows as lag", late.Round(time.Millisecond))
	}
	lastDue := first.Add(time.Duration(float64(len(leads)-1) / b.enrolmentRate * float64(time.Second)))
	err := waitDone(ctx, st, "enrolments", time.Until(lastDue)+b.drain, say, func(ctx context.Context) (int, error) {
		var n int
		err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM enrollments WHERE sequence_id = $1 AND step_key = 'pause'`, bw.schedule).Scan(&n)
		return n, err
	})
	if err != nil {
		res.check("each enrolment advanced once", false, "%v", err)
	}
	var runs, distinct, advanced int
	var l50, l99, span float64
	if err := st.Pool.QueryRow(ctx, `
		SELECT count(*), count(DISTINCT s.enrollment_id),
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.at - (e.next_run_at - interval '1 day'))), 0),
			coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM s.at - (e.next_run_at - interval '1 day'))), 0),
			coalesce(extract(epoch FROM max(s.at) - $2::timestamptz), 0),
			(SELECT count(*) FROM enrollments WHERE sequence_id = $1 AND step_key = 'follow_up' AND state = 'active')
		FROM enrollment_steps s JOIN enrollments e ON e.id = s.enrollment_id
		WHERE e.sequence_id = $1 AND s.step_key = 'pause' AND s.outcome = $3`,
		bw.schedule, first, store.StepOutcomeWaiting).Scan(&runs, &distinct, &l50, &l99, &span, &advanced); err != nil {
		return err
	}
	if err == nil {
		res.check("each enrolment advanced once", runs == len(leads) && distinct == len(leads) && advanced == len(leads),
			"%d enrolments, %d runs of their step, %d distinct, %d now at the next step", len(leads), runs, distinct, advanced)
	}
	res.enrolled, res.enrolTime = advanced, secs(span)
	res.lag50, res.lag99 = secs(l50), secs(l99)
	return nil
}

// resetPeakRSS starts the kernel's peak resident set (VmHWM) again from
// now (Linux: writing 5 to clear_refs); elsewhere it does nothing.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatusKB reads a kB field of /proc/self/status; 0 where there is none.
func procStatusKB(field string) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// print writes the table and the checks.
func (r benchResult) print(w io.Writer, b benchSettings) {
	fmt.Fprintf(w, "\nleadflow bench: %s leads and %s contacts loaded in %s; runs of %s\n\n",
		thousands(r.leads), thousands(r.leads/10), r.loadTime.Round(time.Second), b.duration)
	fmt.Fprintln(w, "| measure | figure | goal |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, run := range r.runs {
		rr := run.run
		slices.Sort(rr.latencies)
		fmt.Fprintf(w, "| committed form posts, %d connections | %s/s, p50 %s, p99 %s (%s posts; %d not 2xx, %d failed) | ≥10,000/s, p99 ≤50 ms |\n",
			run.conns, thousands(int(rr.rate())), fmtMS(percentile(rr.latencies, 0.5)), fmtMS(percentile(rr.latencies, 0.99)),
			thousands(rr.ok), rr.refused, rr.failed)
	}
	fmt.Fprintf(w, "| responses resolved (during and after the runs above) | %s/s (%s responses) | ≥3,000/s |\n",
		thousands(int(r.resolvedRate)), thousands(r.resolved))
	if r.skipped != "" && r.paced.ok == 0 {
		fmt.Fprintf(w, "| submit-to-lead at %s posts/s | %s | p99 ≤1 s at 1,000 posts/s |\n", thousands(int(b.pacedRate)), r.skipped)
	} else {
		fmt.Fprintf(w, "| submit-to-lead at %s posts/s (%s/s achieved) | p50 %s, p99 %s | p99 ≤1 s at 1,000 posts/s |\n",
			thousands(int(b.pacedRate)), thousands(int(r.paced.rate())), fmtMS(r.lead50), fmtMS(r.lead99))
	}
	if r.skipped != "" {
		for _, row := range [][2]string{{"welcome emails into the SMTP sink, capture loaded", "≥3,000/s"},
			{"email due-to-sent", "p99 ≤5 s"}, {"enrolments advanced one step, due at " + thousands(int(b.enrolmentRate+0.5)) + "/s", "1,000,000 in ≤10 min"},
			{"scheduler lag", "p99 ≤5 s"}} {
			fmt.Fprintf(w, "| %s | %s | %s |\n", row[0], r.skipped, row[1])
		}
		r.printRSS(w)
		return
	}
	fmt.Fprintf(w, "| welcome emails into the SMTP sink, capture loaded | %s/s (%s emails) | ≥3,000/s |\n",
		thousands(int(r.emailRate)), thousands(r.emails))
	fmt.Fprintf(w, "| email due-to-sent | p50 %s, p99 %s | p99 ≤5 s |\n", fmtMS(r.sent50), fmtMS(r.sent99))
	rate := 0.0
	if r.enrolTime > 0 {
		rate = float64(r.enrolled) / r.enrolTime.Seconds()
	}
	fmt.Fprintf(w, "| enrolments advanced one step, due at %s/s | %s in %s (%s/s) | 1,000,000 in ≤10 min |\n",
		thousands(int(b.enrolmentRate+0.5)), thousands(r.enrolled), r.enrolTime.Round(100*time.Millisecond), thousands(int(rate)))
	fmt.Fprintf(w, "| scheduler lag | p50 %s, p99 %s | p99 ≤5 s |\n", fmtMS(r.lag50), fmtMS(r.lag99))
	r.printRSS(w)
}

func (r benchResult) printRSS(w io.Writer) {
	fmt.Fprintf(w, "| peak RSS (VmHWM) of the process | %d MB (%d MB at the end) | ≤150 MB |\n", r.hwm/1024, r.rss/1024)
	fmt.Fprintf(w, "\nServe and work run in this one process, beside the load generator and the SMTP sink: the RSS\n"+
		"is theirs together, counted from the start of serving (the lead load before it is not counted).\n\nChecks:\n")
	for _, c := range r.checks {
		verdict := "ok"
		if !c.ok {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "- %s: %s (%s)\n", c.what, verdict, c.note)
	}
}

// thousands prints n with commas: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// extraNote explains responses beyond the posts answered 2xx: posts a
// run's end cut off after their commit, before their answer.
func extraNote(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%d of posts cut off by a run's end after their commit)", n)
}
