// Package listen owns where the gateway and the console listen: the ports a user keeps as
// settings, the flags and environment variables that override them, and the checks a new port
// must pass. The hosts (`keygate serve`, the desktop app) resolve their addresses here; the
// console's ports operations change the settings.
//
// Precedence, highest first: the command-line flag (--listen, --console-listen), the
// environment variable (KEYGATE_LISTEN, KEYGATE_CONSOLE_LISTEN), the stored port (on the
// default loopback host), the default address.
package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/store"
)

// moving is held while this process moves its gateway to another port: by the console's ports
// operation from its move to the saving of the setting, and by the instance that follows the
// stored setting from reading it to its move. The follower so never reads the setting between
// a move and its saving, which would send the gateway back to the port it just left.
var moving sync.Mutex

// Moving holds the process's gateway moves (see moving) until done is called.
func Moving() (done func()) {
	moving.Lock()
	return moving.Unlock
}

// Environment variables that fix an address, below the flags.
const (
	EnvGateway = "KEYGATE_LISTEN"
	EnvConsole = "KEYGATE_CONSOLE_LISTEN"
)

// Default addresses; a stored port replaces the port and keeps the loopback host.
const (
	DefaultGateway = "127.0.0.1:8787"
	DefaultConsole = "127.0.0.1:8788"
)

// Listener names one of the two listeners.
type Listener int

// The listeners whose address is a setting.
const (
	Gateway Listener = iota
	Console
)

func (l Listener) setting() string {
	if l == Console {
		return settings.ConsolePort
	}
	return settings.GatewayPort
}

func (l Listener) def() string {
	if l == Console {
		return DefaultConsole
	}
	return DefaultGateway
}

// Field is the input field of the ports operation that sets l's port.
func (l Listener) Field() string {
	if l == Console {
		return "consolePort"
	}
	return "gatewayPort"
}

// Override is an address given by a flag or an environment variable; its zero value means none
// was given and the setting decides.
type Override struct {
	Addr string
	// By names what gave it: "--listen", "KEYGATE_LISTEN", …
	By string
}

// FromFlagOrEnv returns the flag's value when the flag was given, else the environment
// variable's when it is set, else no override.
func FromFlagOrEnv(flagName, flagValue string, flagGiven bool, envName string) Override {
	if flagGiven {
		return Override{Addr: flagValue, By: "--" + flagName}
	}
	if v := os.Getenv(envName); v != "" {
		return Override{Addr: v, By: envName}
	}
	return Override{}
}

// Choice is the address a listener uses and what chose it.
type Choice struct {
	Addr string
	// FixedBy names the flag or environment variable that set Addr; "" when the stored port or
	// the default did, which the ports operation may change.
	FixedBy string
}

// Resolve picks l's address: the override, else the stored port on the default host, else the
// default address.
func Resolve(ctx context.Context, st *store.Store, l Listener, ov Override) (Choice, error) {
	if ov.Addr != "" {
		return Choice{Addr: ov.Addr, FixedBy: ov.By}, nil
	}
	p, err := Stored(ctx, st, l)
	if err != nil {
		return Choice{}, err
	}
	if p == 0 {
		return Choice{Addr: l.def()}, nil
	}
	return Choice{Addr: WithPort(l.def(), p)}, nil
}

// Stored returns l's stored port, 0 when none is stored (or the stored value is unusable,
// which only a hand-edited database can hold).
func Stored(ctx context.Context, st *store.Store, l Listener) (int, error) {
	vals, err := settings.New(st).Get(ctx, l.setting())
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(vals[l.setting()])
	if err != nil || p < MinPort || p > MaxPort {
		return 0, nil
	}
	return p, nil
}

// SettingPort is the port the setting chooses for l: the stored one, else the default's.
func SettingPort(ctx context.Context, st *store.Store, l Listener) (int, error) {
	p, err := Stored(ctx, st, l)
	if err != nil || p != 0 {
		return p, err
	}
	return Port(l.def()), nil
}

// Save stores the given ports (0 leaves one as it is) in one transaction.
func Save(ctx context.Context, st *store.Store, gateway, console int) error {
	return SaveRecorded(ctx, st, gateway, console, nil)
}

// SaveRecorded is Save, recorded by rec in the transaction that stores the ports (see
// settings.Store.SetRecorded).
func SaveRecorded(ctx context.Context, st *store.Store, gateway, console int, rec settings.Recorder) error {
	vals := map[string]string{}
	if gateway != 0 {
		vals[settings.GatewayPort] = strconv.Itoa(gateway)
	}
	if console != 0 {
		vals[settings.ConsolePort] = strconv.Itoa(console)
	}
	if len(vals) == 0 && rec == nil {
		return nil
	}
	return settings.New(st).SetRecorded(ctx, vals, rec)
}

// Bounds of a port.
const (
	MinPort = 1
	MaxPort = 65535
)

// Errors a new port can meet; each is a *problem.Invalid naming the field (errors.Is sees
// these sentinels behind it).
var (
	ErrInvalidPort = errors.New("port out of range")
	ErrPortTaken   = errors.New("port taken")
	ErrPortDenied  = errors.New("port not permitted")
	ErrPortFixed   = errors.New("port fixed by a flag or environment variable")
	ErrSamePort    = errors.New("gateway and console ports are the same")
)

// CheckPort refuses a port outside 1–65535 for l's field.
func CheckPort(l Listener, port int) error {
	if port < MinPort || port > MaxPort {
		return &problem.Invalid{Field: l.Field(), Code: "range", Msg: "validation.port.range",
			Data: map[string]any{"Min": MinPort, "Max": MaxPort}, Err: ErrInvalidPort,
			Text: fmt.Sprintf("%s must be %d to %d", l.Field(), MinPort, MaxPort)}
	}
	return nil
}

// Fixed is the error for a change of a port that a flag or environment variable sets.
func Fixed(l Listener, by string) error {
	return &problem.Invalid{Field: l.Field(), Code: "fixed", Msg: "validation.port.fixed", Data: map[string]any{"By": by},
		Err: ErrPortFixed, Text: fmt.Sprintf("%s is set by %s; change or remove that to change it here", l.Field(), by)}
}

// Same is the error for a port that the other listener uses.
func Same(l Listener, port int) error {
	return &problem.Invalid{Field: l.Field(), Code: "conflict", Msg: "validation.port.same", Data: map[string]any{"Port": port},
		Err: ErrSamePort, Text: fmt.Sprintf("the gateway and the console cannot both listen on port %d", port)}
}

// Unusable turns the error of binding addr into the field's error: the port is taken, not
// permitted, or otherwise unusable.
func Unusable(l Listener, addr string, err error) error {
	port := Port(addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return &problem.Invalid{Field: l.Field(), Code: "taken", Msg: "validation.port.taken", Data: map[string]any{"Port": port},
			Err: errors.Join(ErrPortTaken, err), Text: fmt.Sprintf("port %d is in use by another program", port)}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &problem.Invalid{Field: l.Field(), Code: "denied", Msg: "validation.port.denied", Data: map[string]any{"Port": port},
			Err: errors.Join(ErrPortDenied, err), Text: fmt.Sprintf("this system does not let Keygate listen on port %d", port)}
	}
	return &problem.Invalid{Field: l.Field(), Code: "unusable", Msg: "validation.port.unusable", Data: map[string]any{"Port": port},
		Err: err, Text: fmt.Sprintf("cannot listen on port %d: %v", port, err)}
}

// CheckFree binds addr and lets it go: a port another program holds is refused now rather than
// when the listener moves.
func CheckFree(l Listener, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return Unusable(l, addr, err)
	}
	return ln.Close()
}

// WithPort returns addr with its port replaced.
func WithPort(addr string, port int) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Port returns addr's port, 0 when it has none.
func Port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
