package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
)

const usersUsage = `users add --email EMAIL --role admin|developer|member [--org ORG_ID] [--name NAME] [--json]
       (the password is read from stdin, or prompted for on a terminal)
       keygate users list [--json]
       keygate users role USER admin|developer|member [--org ORG_ID] [--json]
       keygate users remove USER [--json]
       keygate users passwd USER|--email EMAIL [--json]    (the new password as for add; the
       account's sessions and unused reset links end)
       USER is a user id or e-mail address`

// runUsers manages accounts: the instance's users, whatever organizations they belong to.
// members manages one organization's members.
func runUsers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", usersUsage)
	}
	switch args[0] {
	case "add":
		return membersAdd(ctx, env, "users add", args[1:], true)
	case "list":
		return usersList(ctx, env, args[1:])
	case "role":
		return membersRole(ctx, env, "users role", args[1:])
	case "remove":
		return usersRemove(ctx, env, args[1:])
	case "passwd":
		return usersPasswd(ctx, env, args[1:])
	}
	return usagef("unknown users command %q; usage: keygate %s", args[0], usersUsage)
}

func usersList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("users list")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "users list [--json]"); err != nil {
		return err
	}
	list, err := call[console.UserList](ctx, env, "ListUsers", console.NoInput{})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	tw := env.Table(env.headers("cli.members.col.user", "cli.members.col.email", "cli.keys.col.name", "cli.members.col.roles",
		"cli.members.col.since")...)
	for _, u := range list.Users {
		var roles []string
		for org, r := range u.Roles {
			roles = append(roles, org+"="+string(r))
		}
		sort.Strings(roles)
		tw.Row(u.ID, u.Email, u.Name, strings.Join(roles, " "), u.CreatedAt.Format(time.DateOnly))
	}
	return tw.Flush()
}

func usersRemove(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("users remove")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "users remove USER [--json]"); err != nil {
		return err
	}
	u, err := call[auth.User](ctx, env, "RemoveUser", console.UserInput{User: pos[0]})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, u)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.users.removed", map[string]any{"Email": u.Email, "ID": u.ID}))
	return nil
}

func usersPasswd(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("users passwd")
	asJSON := f.Bool("json", false, "print JSON")
	email := f.String("email", "", "the account's e-mail address (instead of USER)")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	const usage = "users passwd USER|--email EMAIL [--json]"
	var who string
	switch {
	case *email != "" && len(pos) == 0:
		who = strings.TrimSpace(*email)
		if !strings.Contains(who, "@") {
			return usagef("--email %q is not an e-mail address; usage: keygate %s", who, usage)
		}
	case *email == "":
		if err := wantArgs(pos, 1, usage); err != nil {
			return err
		}
		who = pos[0]
	default:
		return usagef("give USER or --email, not both; usage: keygate %s", usage)
	}
	pw, err := readPassword(env)
	if err != nil {
		return err
	}
	u, err := call[auth.User](ctx, env, "SetUserPassword", console.UserPasswordInput{User: who, Password: pw})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, u)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.users.password_set", map[string]any{"Email": u.Email, "ID": u.ID}))
	return nil
}

// readPassword prompts without echo on a terminal, else reads the first line of stdin. The
// operation that takes it checks it, as the console does.
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
		return string(pw), nil
	}
	line, err := bufio.NewReader(io.LimitReader(env.Stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin (pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | keygate users add …)")
	}
	return pw, nil
}
