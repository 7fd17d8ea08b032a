package store

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// UserAdmin is the role of a person who runs the workspace: people, API
// keys, settings. The other roles are the User* constants beside User.
const UserAdmin = "admin"

// Person is a user as the console signs them in: a user row with its
// workspace's name, password hash and sign-in state.
type Person struct {
	ID            uuid.UUID `db:"id"`
	WorkspaceID   uuid.UUID `db:"workspace_id"`
	WorkspaceName string    `db:"workspace_name"`
	Name          string    `db:"name"`
	Email         string    `db:"email"`
	Role          string    `db:"role"`
	// PasswordHash is empty while the person has no password.
	PasswordHash  string     `db:"password_hash"`
	DeactivatedAt *time.Time `db:"deactivated_at"`
	LastSignInAt  *time.Time `db:"last_sign_in_at"`
	CreatedAt     time.Time  `db:"created_at"`
}

// Active reports whether the person may sign in.
func (p Person) Active() bool { return p.DeactivatedAt == nil }

// personColumns lists Person's columns in struct order, for FROM users u
// JOIN workspaces w.
const personColumns = `u.id, u.workspace_id, w.name AS workspace_name, u.name, u.email, u.role,
	u.password_hash, u.deactivated_at, u.last_sign_in_at, u.created_at`

const personFrom = ` FROM users u JOIN workspaces w ON w.id = u.workspace_id`

// InsertPerson stores a new person (available for assignment, as every new
// user is); a zero ID is filled in. An email the workspace already has is
// ErrConflict.
func (q *Queries) InsertPerson(ctx context.Context, p Person) (Person, error) {
	if p.ID == uuid.Nil {
		p.ID = NewID()
	}
	rows, _ := q.db.Query(ctx, `
		WITH u AS (
			INSERT INTO users (id, workspace_id, name, email, role, available, password_hash)
			VALUES ($1, $2, $3, $4, $5, true, $6)
			RETURNING *)
		SELECT `+personColumns+` FROM u JOIN workspaces w ON w.id = u.workspace_id`,
		p.ID, p.WorkspaceID, p.Name, p.Email, p.Role, p.PasswordHash)
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Person])
	return out, interpret(err, "insert person")
}

// GetPerson returns a person of the workspace.
func (q *Queries) GetPerson(ctx context.Context, workspaceID, id uuid.UUID) (Person, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+personColumns+personFrom+` WHERE u.workspace_id = $1 AND u.id = $2`,
		workspaceID, id)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Person])
	return p, interpret(err, "get person")
}

// PersonByID returns a person of any workspace: a one-time token names its
// person by ID alone.
func (q *Queries) PersonByID(ctx context.Context, id uuid.UUID) (Person, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+personColumns+personFrom+` WHERE u.id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Person])
	return p, interpret(err, "person by id")
}

// PeopleByEmail returns the people with this email (any case) in every
// workspace, deactivated ones too, oldest first: sign-in names no workspace.
func (q *Queries) PeopleByEmail(ctx context.Context, email string) ([]Person, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+personColumns+personFrom+` WHERE lower(u.email) = lower($1) ORDER BY u.id`, email)
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByName[Person])
	return ps, interpret(err, "people by email")
}

// ListPeople lists the workspace's people by name, at most limit of them.
func (q *Queries) ListPeople(ctx context.Context, workspaceID uuid.UUID, limit int) ([]Person, error) {
	rows, _ := q.db.Query(ctx, `SELECT `+personColumns+personFrom+` WHERE u.workspace_id = $1
		ORDER BY lower(u.name), u.id LIMIT $2`, workspaceID, max(limit, 1))
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByName[Person])
	return ps, interpret(err, "list people")
}

// SetPersonRole changes a person's role. Their sessions read the role on
// every request, so the change holds at once.
func (q *Queries) SetPersonRole(ctx context.Context, workspaceID, id uuid.UUID, role string) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET role = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, id, role)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return interpret(err, "set person role")
}

// SetPersonPassword stores a new password hash and ends the person's other
// sessions: whoever knew the old password is signed out.
func (q *Queries) SetPersonPassword(ctx context.Context, workspaceID, id uuid.UUID, hash string) error {
	tag, err := q.db.Exec(ctx, `
		WITH ended AS (DELETE FROM sessions WHERE user_id = $2)
		UPDATE users SET password_hash = $3 WHERE workspace_id = $1 AND id = $2`, workspaceID, id, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return interpret(err, "set person password")
}

// DeactivatePerson stops a person signing in and ends their sessions, in
// one statement. Deactivating twice keeps the first time.
func (q *Queries) DeactivatePerson(ctx context.Context, workspaceID, id uuid.UUID) error {
	tag, err := q.db.Exec(ctx, `
		WITH ended AS (DELETE FROM sessions WHERE user_id = $2),
		     unused AS (DELETE FROM sign_in_tokens WHERE user_id = $2 AND used_at IS NULL)
		UPDATE users SET deactivated_at = coalesce(deactivated_at, now()), available = false
		WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return interpret(err, "deactivate person")
}

// ReactivatePerson lets a deactivated person sign in again.
func (q *Queries) ReactivatePerson(ctx context.Context, workspaceID, id uuid.UUID) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET deactivated_at = NULL WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return interpret(err, "reactivate person")
}

// The purposes of a one-time token.
const (
	TokenSignIn = "sign_in"
	TokenReset  = "reset"
	TokenInvite = "invite"
)

// SignInToken is a one-time token, without its secret.
type SignInToken struct {
	UserID    uuid.UUID  `db:"user_id"`
	Purpose   string     `db:"purpose"`
	Next      string     `db:"next"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt time.Time  `db:"expires_at"`
	UsedAt    *time.Time `db:"used_at"`
}

const signInTokenColumns = `user_id, purpose, next, created_at, expires_at, used_at`

// InsertSignInToken stores a token by the SHA-256 of its secret, and drops
// the person's tokens that have been dead (used or expired) for a day.
func (q *Queries) InsertSignInToken(ctx context.Context, t SignInToken, secret string) error {
	sum := sha256.Sum256([]byte(secret))
	_, err := q.db.Exec(ctx, `
		WITH dead AS (DELETE FROM sign_in_tokens WHERE user_id = $2
		              AND (expires_at < now() - interval '1 day' OR used_at < now() - interval '1 day'))
		INSERT INTO sign_in_tokens (token_hash, user_id, purpose, next, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, sum[:], t.UserID, t.Purpose, t.Next, t.ExpiresAt)
	return interpret(err, "insert sign-in token")
}

// UseSignInToken spends the token whose secret this is, if it has one of
// purposes, is unused, unexpired and its person active; any other token is
// ErrNotFound. Two concurrent uses: one wins.
func (q *Queries) UseSignInToken(ctx context.Context, secret string, purposes []string) (SignInToken, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `
		UPDATE sign_in_tokens t SET used_at = now()
		FROM users u
		WHERE t.token_hash = $1 AND t.purpose = ANY ($2) AND t.used_at IS NULL AND t.expires_at > now()
			AND u.id = t.user_id AND u.deactivated_at IS NULL
		RETURNING t.user_id, t.purpose, t.next, t.created_at, t.expires_at, t.used_at`, sum[:], purposes)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SignInToken])
	return t, interpret(err, "use sign-in token")
}

// PeekSignInToken returns the token whose secret this is, if usable now,
// without spending it: the page a link opens asks before it signs in, so a
// mail scanner that follows links spends nothing.
func (q *Queries) PeekSignInToken(ctx context.Context, secret string, purposes []string) (SignInToken, error) {
	sum := sha256.Sum256([]byte(secret))
	rows, _ := q.db.Query(ctx, `SELECT `+signInTokenColumns+` FROM sign_in_tokens
		WHERE token_hash = $1 AND purpose = ANY ($2) AND used_at IS NULL AND expires_at > now()`, sum[:], purposes)
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[SignInToken])
	return t, interpret(err, "peek sign-in token")
}
