package console

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/listen"
)

// PortInfo is one listener's port.
type PortInfo struct {
	// Port is the port the setting chooses (the stored one, else the default): what a user edits.
	Port int `json:"port"`
	// Listen is the address in use now; "" when this host has no such listener (the desktop's
	// console, which the window calls in-process; the command line).
	Listen string `json:"listen"`
	// FixedBy names the flag or environment variable that sets the address instead of the
	// setting ("--listen", "KEYGATE_LISTEN", …); "" when the setting applies.
	FixedBy string `json:"fixedBy"`
	// Pending is true when Port is not the port in use yet: it applies at the next start.
	Pending bool `json:"pending"`
}

// Ports are the gateway's and the console's ports.
type Ports struct {
	Gateway PortInfo `json:"gateway"`
	Console PortInfo `json:"console"`
}

// PortsInput changes the ports; 0 keeps one as it is.
type PortsInput struct {
	GatewayPort int `json:"gatewayPort" minimum:"0" maximum:"65535" doc:"1 to 65535; 0 keeps it. The gateway moves at once."`
	ConsolePort int `json:"consolePort" minimum:"0" maximum:"65535" doc:"1 to 65535; 0 keeps it. Applies when keygate serve next starts."`
}

// mover is a gateway that can change its listen address while it runs (*gateway.Server).
type mover interface {
	Move(ctx context.Context, addr string) error
}

func (s *Service) getPorts(ctx context.Context, _ *Call, _ *NoInput) (Ports, error) {
	return s.ports(ctx)
}

func (s *Service) ports(ctx context.Context) (Ports, error) {
	gp, err := listen.SettingPort(ctx, s.Store, listen.Gateway)
	if err != nil {
		return Ports{}, err
	}
	cp, err := listen.SettingPort(ctx, s.Store, listen.Console)
	if err != nil {
		return Ports{}, err
	}
	out := Ports{Gateway: PortInfo{Port: gp}, Console: PortInfo{Port: cp}}
	if c := s.Listen.Gateway; c != nil && s.Gateway != nil {
		out.Gateway.Listen, out.Gateway.FixedBy = s.Gateway.Status().Listen, c.FixedBy
		out.Gateway.Pending = c.FixedBy == "" && listen.Port(out.Gateway.Listen) != gp
	}
	if c := s.Listen.Console; c != nil {
		out.Console.Listen, out.Console.FixedBy = c.Addr, c.FixedBy
		out.Console.Pending = c.FixedBy == "" && listen.Port(c.Addr) != cp
	}
	return out, nil
}

// inUse is the port a listener answers on now, else the one its setting chooses.
func (p PortInfo) inUse() int {
	if p.Listen != "" {
		return listen.Port(p.Listen)
	}
	return p.Port
}

// updatePorts checks the new ports (range, not fixed by a flag or variable, not the other
// listener's, free), moves the running gateway to its new port, and only then stores them: a
// port that cannot be used changes nothing.
func (s *Service) updatePorts(ctx context.Context, c *Call, in *PortsInput) (Ports, error) {
	var errs []error
	if in.GatewayPort != 0 {
		errs = append(errs, listen.CheckPort(listen.Gateway, in.GatewayPort))
	}
	if in.ConsolePort != 0 {
		errs = append(errs, listen.CheckPort(listen.Console, in.ConsolePort))
	}
	if err := errors.Join(errs...); err != nil {
		return Ports{}, err
	}
	cur, err := s.ports(ctx)
	if err != nil {
		return Ports{}, err
	}
	gp, cp := cur.Gateway.Port, cur.Console.Port
	if in.GatewayPort != 0 {
		gp = in.GatewayPort
	}
	if in.ConsolePort != 0 {
		cp = in.ConsolePort
	}
	newG, newC := gp != cur.Gateway.Port, cp != cur.Console.Port
	if !newG && !newC {
		return cur, nil
	}
	inst, err := s.instanceOrg(ctx) // before anything moves
	if err != nil {
		return Ports{}, err
	}
	if newG && cur.Gateway.FixedBy != "" {
		return Ports{}, listen.Fixed(listen.Gateway, cur.Gateway.FixedBy)
	}
	if newC && cur.Console.FixedBy != "" {
		return Ports{}, listen.Fixed(listen.Console, cur.Console.FixedBy)
	}
	// The two must differ both as settings and against what the other answers on now.
	consoleAt, gatewayAt := cp, gp
	if cur.Console.FixedBy != "" {
		consoleAt = cur.Console.inUse()
	}
	if cur.Gateway.FixedBy != "" {
		gatewayAt = cur.Gateway.inUse()
	}
	switch {
	case newG && (gp == consoleAt || gp == cur.Console.inUse()):
		return Ports{}, listen.Same(listen.Gateway, gp)
	case newC && (cp == gatewayAt || cp == cur.Gateway.inUse()):
		return Ports{}, listen.Same(listen.Console, cp)
	}
	// The console does not move while it runs (its page would lose its address): its new port
	// must be free now, and is taken up at the next start.
	if newC && cp != cur.Console.inUse() {
		if err := listen.CheckFree(listen.Console, listen.WithPort(listen.DefaultConsole, cp)); err != nil {
			return Ports{}, err
		}
	}
	// From the move to the saving, the instance does not follow the setting (listen.Moving).
	defer listen.Moving()()
	var moved mover
	if newG && gp != cur.Gateway.inUse() {
		addr := listen.WithPort(listen.DefaultGateway, gp)
		if m, ok := s.Gateway.(mover); ok && s.Listen.Gateway != nil {
			if err := m.Move(context.WithoutCancel(ctx), addr); err != nil {
				return Ports{}, listen.Unusable(listen.Gateway, addr, err)
			}
			moved = m
		} else if err := listen.CheckFree(listen.Gateway, addr); err != nil {
			return Ports{}, err
		}
	}
	save := func(changed bool, p int) int {
		if changed {
			return p
		}
		return 0
	}
	// The ports are stored with their audit entry, in one transaction. The entry names them
	// as the answer will: the settings now stored, and whether the console's waits.
	detail := fmt.Sprintf("gateway port %d, console port %d", gp, cp)
	if lc := s.Listen.Console; lc != nil && lc.FixedBy == "" && listen.Port(lc.Addr) != cp {
		detail += " (the console's from the next start)"
	}
	if err := listen.SaveRecorded(ctx, s.Store, save(newG, gp), save(newC, cp), func(ctx context.Context, tx *sql.Tx) error {
		return s.recordTx(ctx, tx, c, inst.ID, audit.SettingsUpdate, "ports", detail)
	}); err != nil {
		if moved != nil {
			if berr := moved.Move(context.WithoutCancel(ctx), cur.Gateway.Listen); berr != nil {
				s.Logger.Error("gateway could not move back after the port was not saved", "err", berr)
			}
		}
		return Ports{}, err
	}
	s.Audit.Committed(ctx)
	return s.ports(ctx)
}
