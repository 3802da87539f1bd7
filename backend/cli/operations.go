package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/instance"
	"github.com/keygate/keygate/backend/problem"
)

// operations is the console's command-line executor over this run's instance. Every command
// that manages something calls an operation through it (see call), so validation, errors,
// JSON shapes and audit entries are the console's; audit entries name the actor "cli".
func (e *Env) operations(ctx context.Context) (*console.Local, error) {
	if e.ops != nil {
		return e.ops, nil
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	// The CLI prints an operation's failure itself (describe), so the console logs nothing.
	inst, err := instance.Open(ctx, instance.Options{Store: st, DataDir: e.DataDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	e.inst, e.ops = inst, inst.Console.CLI(e.lang())
	return e.ops, nil
}

// call runs the console operation name with in (a value of its input type) as the CLI.
func call[Out any](ctx context.Context, env *Env, name string, in any) (Out, error) {
	l, err := env.operations(ctx)
	if err != nil {
		var zero Out
		return zero, err
	}
	return console.Do[Out](ctx, l, name, in)
}

// describeProblem is an operation's failure as the CLI prints it: the problem's localized
// detail, or the one failing field's, or the detail and each field on its own line. A failure
// of Keygate itself shows its cause: the person at the terminal runs the machine.
func describeProblem(pe *console.ProblemError) string {
	p := pe.Problem
	if cause := errors.Unwrap(pe); cause != nil && p.Code == problem.CodeInternal {
		return sentence(cause.Error())
	}
	switch len(p.Fields) {
	case 0:
		return sentence(p.Detail)
	case 1:
		if !strings.Contains(p.Fields[0].Field, "[") {
			return sentence(p.Fields[0].Detail)
		}
		// A place inside a file (rows[3].permissions): the detail says which row, the field
		// error why.
	}
	var b strings.Builder
	b.WriteString(sentence(p.Detail))
	for _, f := range p.Fields {
		b.WriteString("\n  " + f.Field + ": " + sentence(f.Detail))
	}
	return b.String()
}
