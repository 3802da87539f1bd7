package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/mailaddr"
)

const membersUsage = `members list [--org ORG_ID] [--json]
       keygate members add --email EMAIL --role admin|developer|member [--org ORG_ID] [--name NAME] [--json]
       (a new account's password is read from stdin, or prompted for on a terminal)
       keygate members role USER admin|developer|member [--org ORG_ID] [--json]
       keygate members remove USER [--org ORG_ID] [--json]
       USER is a user id or e-mail address; ORG_ID defaults to the first organization`

// runMembers manages one organization's members with the console's member operations.
func runMembers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", membersUsage)
	}
	switch args[0] {
	case "list":
		return membersList(ctx, env, args[1:])
	case "add":
		return membersAdd(ctx, env, "members add", args[1:], false)
	case "role":
		return membersRole(ctx, env, "members role", args[1:])
	case "remove":
		return membersRemove(ctx, env, args[1:])
	}
	return usagef("unknown members command %q; usage: keygate %s", args[0], membersUsage)
}

func membersList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("members list")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "members list [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	list, err := call[console.MemberList](ctx, env, "ListMembers", console.OrgInput{Org: *org})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	tw := env.Table(env.headers("cli.members.col.user", "cli.members.col.email", "cli.keys.col.name", "cli.members.col.role",
		"cli.members.col.since")...)
	for _, m := range list.Members {
		tw.Row(m.UserID, m.Email, m.Name, string(m.Role), m.CreatedAt.Format(time.DateOnly))
	}
	return tw.Flush()
}

// membersAdd adds a user to an organization (AddMember). An existing account is invited (it
// joins when it accepts, signed in to the console); a new account needs a password, read from
// stdin; newAccount (users add) always reads one, so adding an existing account there is
// refused by the operation.
func membersAdd(ctx context.Context, env *Env, name string, args []string, newAccount bool) error {
	f := env.newFlags(name)
	email := f.String("email", "", "the user's e-mail address")
	role := f.String("role", "", "admin, developer or member")
	org := f.String("org", "", "organization id (default: the first organization)")
	display := f.String("name", "", "display name")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, name+" --email EMAIL --role ROLE [--org ORG_ID]"); err != nil {
		return err
	}
	if *email == "" || *role == "" {
		return usagef("%s needs --email and --role", name)
	}
	in := console.AddMemberInput{Org: *org, Email: *email, Name: *display, Role: *role}
	if newAccount || !userExists(ctx, env, *email) {
		if in.Password, err = readPassword(env); err != nil {
			return err
		}
	}
	m, err := call[auth.Member](ctx, env, "AddMember", in)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, m)
	}
	if m.Invited {
		fmt.Fprintln(env.Stdout, env.t("cli.members.invited", map[string]any{"Email": m.Email, "Role": string(m.Role)}))
		return nil
	}
	fmt.Fprintln(env.Stdout, env.t("cli.members.added", map[string]any{"Email": m.Email, "Role": string(m.Role), "ID": m.UserID}))
	return nil
}

// userExists reports whether an account has this address (ListUsers).
func userExists(ctx context.Context, env *Env, email string) bool {
	list, err := call[console.UserList](ctx, env, "ListUsers", console.NoInput{})
	if err != nil {
		return false
	}
	for _, u := range list.Users {
		if mailaddr.Key(u.Email) == mailaddr.Key(email) {
			return true
		}
	}
	return false
}

// userID turns a user id or e-mail address into the id the member operations take; an
// unknown one is left as given, so the operation answers NOT_FOUND.
func userID(ctx context.Context, env *Env, ref string) string {
	list, err := call[console.UserList](ctx, env, "ListUsers", console.NoInput{})
	if err != nil {
		return ref
	}
	for _, u := range list.Users {
		if u.ID == ref || mailaddr.Key(u.Email) == mailaddr.Key(ref) {
			return u.ID
		}
	}
	return ref
}

func membersRole(ctx context.Context, env *Env, name string, args []string) error {
	f := env.newFlags(name)
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, name+" USER admin|developer|member [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	m, err := call[auth.Member](ctx, env, "ChangeMemberRole", console.ChangeMemberRoleInput{Org: *org,
		UserID: userID(ctx, env, pos[0]), Role: pos[1]})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, m)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.members.role", map[string]any{"Email": m.Email, "Role": string(m.Role)}))
	return nil
}

func membersRemove(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("members remove")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "members remove USER [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	out, err := call[console.Empty](ctx, env, "RemoveMember", console.MemberInput{Org: *org, UserID: userID(ctx, env, pos[0])})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, out)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.members.removed", map[string]any{"User": pos[0]}))
	return nil
}
