package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/orgs"
)

const usersUsage = `users add --email EMAIL --role admin|developer|member [--org ORG_ID] [--name NAME] [--json]
       (the password is read from stdin, or prompted for on a terminal)
       keygate users list [--org ORG_ID] [--json]`

func runUsers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", usersUsage)
	}
	switch args[0] {
	case "add":
		return usersAdd(ctx, env, args[1:])
	case "list":
		return usersList(ctx, env, args[1:])
	}
	return usagef("unknown users command %q; usage: keygate %s", args[0], usersUsage)
}

func usersAdd(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("users add")
	email := f.String("email", "", "the user's e-mail address")
	role := f.String("role", "", "admin, developer or member")
	org := f.String("org", "", "organization id (default: the first organization)")
	name := f.String("name", "", "display name")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "users add --email EMAIL --role ROLE [--org ORG_ID]"); err != nil {
		return err
	}
	if *email == "" || *role == "" {
		return usagef("users add needs --email and --role")
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return usagef("%v", err)
	}
	if _, err := auth.ValidEmail(*email); err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	orgSvc := orgs.New(st, nil)
	def, err := orgSvc.EnsureDefault(ctx)
	if err != nil {
		return err
	}
	orgID := *org
	if orgID == "" {
		orgID = def.ID
	} else if _, err := orgSvc.Get(ctx, orgID); err != nil {
		return fmt.Errorf("organization %s: %w", orgID, err)
	}
	pw, err := readPassword(env)
	if err != nil {
		return err
	}
	as, err := auth.New(st)
	if err != nil {
		return err
	}
	u, err := as.CreateUser(ctx, auth.NewUser{Email: *email, Name: *name, Password: pw, OrgID: orgID, Role: r})
	if err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	log := audit.New(st, nil)
	for _, e := range []audit.Entry{
		{Actor: audit.ActorCLI, OrgID: orgID, Action: audit.UserCreate, Target: u.ID, Detail: u.Email},
		{Actor: audit.ActorCLI, OrgID: orgID, Action: audit.MemberAdd, Target: u.ID, Detail: u.Email + " as " + string(r)},
	} {
		if err := log.Record(ctx, e); err != nil {
			fmt.Fprintf(env.Stderr, "keygate: warning: %v\n", err)
		}
	}
	if *asJSON {
		return writeJSON(env.Stdout, map[string]any{"user": u, "orgId": orgID, "role": r})
	}
	fmt.Fprintf(env.Stdout, "Added %s as %s of organization %s (%s).\n", u.Email, r, orgID, u.ID)
	return nil
}

// readPassword prompts without echo on a terminal, else reads the first line of stdin.
func readPassword(env *Env) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, "Password: ")
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(env.Stderr, "Password again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(pw) != string(again) {
			return "", errors.New("the passwords do not match")
		}
		return string(pw), auth.ValidPassword(string(pw))
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin (pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | keygate users add …)")
	}
	return pw, auth.ValidPassword(pw)
}

func usersList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("users list")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "users list [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	st, err := env.Store(ctx)
	if err != nil {
		return err
	}
	orgID := *org
	if orgID == "" {
		def, err := orgs.New(st, nil).EnsureDefault(ctx)
		if err != nil {
			return err
		}
		orgID = def.ID
	}
	as, err := auth.New(st)
	if err != nil {
		return err
	}
	ms, err := as.Members(ctx, orgID)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, ms)
	}
	tw := env.Table("USER", "EMAIL", "NAME", "ROLE", "SINCE")
	for _, m := range ms {
		tw.Row(m.UserID, m.Email, m.Name, string(m.Role), m.CreatedAt.Format(time.DateOnly))
	}
	return tw.Flush()
}
