package console

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/gateway"
	"github.com/keygate/keygate/backend/problem"
	"github.com/keygate/keygate/backend/routes"
	"github.com/keygate/keygate/backend/settings"
	"github.com/keygate/keygate/backend/usage"
)

// Gateway is the gateway the console reports on and, on the desktop, starts and stops;
// *gateway.Server satisfies it.
type Gateway interface {
	Status() gateway.Status
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Gateway() *gateway.Gateway
}

var _ Gateway = (*gateway.Server)(nil)

// RouteList is the answer of ListRoutes.
type RouteList struct {
	Routes []routes.Route `json:"routes"`
}

// RouteInput is a route's editable fields.
type RouteInput struct {
	Prefix      string `json:"prefix" required:"true" example:"/api"`
	Upstream    string `json:"upstream" required:"true" format:"uri" example:"http://127.0.0.1:9000"`
	StripPrefix bool   `json:"stripPrefix"`
	// OrgID binds the route to one organization; "" admits keys of any organization.
	OrgID         string `json:"orgId"`
	OpenAPISource string `json:"openapiSource"`
	// AuthRequired defaults to true.
	AuthRequired     *bool  `json:"authRequired"`
	QueryKeyParam    string `json:"queryKeyParam"`
	MaxBodyBytes     int64  `json:"maxBodyBytes" minimum:"0"`
	ValidateRequests bool   `json:"validateRequests"`
	// ConsoleSession lets pages served through the gateway use the console session on this
	// route (off by default).
	ConsoleSession bool `json:"consoleSession"`
	// Learn records the shape of the route's traffic (never its values) to infer an OpenAPI
	// document.
	Learn bool `json:"learn"`
	// Scopes are needed on every request of the route (resource:action; the key must hold
	// each), besides those the route's OpenAPI document declares per operation.
	Scopes []string `json:"scopes"`
	// IdentityJWT sends the upstream a signed X-Keygate-Jwt (ES256) with each request.
	IdentityJWT bool `json:"identityJwt"`
}

func (in RouteInput) params() routes.Params {
	return routes.Params{Prefix: in.Prefix, Upstream: in.Upstream, StripPrefix: in.StripPrefix, OrgID: in.OrgID,
		OpenAPISource: in.OpenAPISource, AuthRequired: in.AuthRequired, QueryKeyParam: in.QueryKeyParam,
		MaxBodyBytes: in.MaxBodyBytes, ValidateRequests: in.ValidateRequests, ConsoleSession: in.ConsoleSession,
		Learn: in.Learn, Scopes: in.Scopes, IdentityJWT: in.IdentityJWT}
}

// UpdateRouteInput replaces a route's editable fields.
type UpdateRouteInput struct {
	ID               string `json:"id"`
	Prefix           string `json:"prefix" required:"true" example:"/api"`
	Upstream         string `json:"upstream" required:"true" format:"uri" example:"http://127.0.0.1:9000"`
	StripPrefix      bool   `json:"stripPrefix"`
	OrgID            string `json:"orgId"`
	OpenAPISource    string `json:"openapiSource"`
	AuthRequired     *bool  `json:"authRequired"`
	QueryKeyParam    string `json:"queryKeyParam"`
	MaxBodyBytes     int64  `json:"maxBodyBytes" minimum:"0"`
	ValidateRequests bool   `json:"validateRequests"`
	// ConsoleSession lets pages served through the gateway use the console session on this
	// route (off by default).
	ConsoleSession bool `json:"consoleSession"`
	// Learn records the shape of the route's traffic (never its values) to infer an OpenAPI
	// document.
	Learn bool `json:"learn"`
	// Scopes are needed on every request of the route (resource:action; the key must hold
	// each), besides those the route's OpenAPI document declares per operation.
	Scopes []string `json:"scopes"`
	// IdentityJWT sends the upstream a signed X-Keygate-Jwt (ES256) with each request.
	IdentityJWT bool `json:"identityJwt"`
}

// RouteIDInput names a route.
type RouteIDInput struct {
	ID string `json:"id"`
}

// GatewaySettings are the gateway-wide options.
type GatewaySettings struct {
	AllowedOrigins         []string `json:"allowedOrigins"`
	UpstreamTimeoutSeconds int      `json:"upstreamTimeoutSeconds" required:"true" minimum:"1" maximum:"600" doc:"1 to 600."`
	// LogRetentionDays and LogRetentionRows bound the audit log and the request log (each):
	// older rows, and rows beyond the newest that many, are deleted. 0 keeps the stored value.
	LogRetentionDays int `json:"logRetentionDays" minimum:"0" maximum:"3650" doc:"1 to 3650; default 90."`
	LogRetentionRows int `json:"logRetentionRows" minimum:"0" maximum:"10000000" doc:"1000 to 10000000; default 100000."`
	// UsageRetentionDays is how long the per-minute usage rollups are kept (apart from the
	// logs: they are small and have no row cap). 0 keeps the stored value.
	UsageRetentionDays int `json:"usageRetentionDays" minimum:"0" maximum:"3650" doc:"1 to 3650; default 90."`
}

// GatewayStatus says whether the gateway runs and whether this console may start and stop it.
type GatewayStatus struct {
	Running   bool       `json:"running"`
	URL       string     `json:"url"`
	Listen    string     `json:"listen"`
	StartedAt *time.Time `json:"startedAt"`
	// CanControl is true on the desktop, where the window starts and stops the gateway.
	CanControl bool `json:"canControl"`
}

// ListRequestsInput filters the request log.
type ListRequestsInput struct {
	Org string `json:"org"`
	// Status is a class such as 4xx or a code such as 401.
	Status string `json:"status"`
	KeyID  string `json:"keyId"`
	Route  string `json:"route"`
	// From and To bound the entries' time (RFC 3339): From inclusive, To exclusive.
	From string `json:"from" format:"date-time"`
	To   string `json:"to" format:"date-time"`
	// Limit is 1–1000, default 100.
	Limit int `json:"limit" minimum:"0" maximum:"1000"`
}

// RequestList is the answer of ListRequests, newest first.
type RequestList struct {
	Requests []gateway.Entry `json:"requests"`
}

func (s *Service) listRoutes(ctx context.Context, _ *Call, _ *NoInput) (RouteList, error) {
	rs, err := s.Routes.List(ctx)
	if rs == nil {
		rs = []routes.Route{}
	}
	return RouteList{Routes: rs}, err
}

func (s *Service) addRoute(ctx context.Context, c *Call, in *RouteInput) (routes.Route, error) {
	r, err := s.Routes.Recording(func(ctx context.Context, tx *sql.Tx, r routes.Route) error {
		return s.recordTx(ctx, tx, c, r.OrgID, audit.RouteAdd, r.ID, r.Prefix+" → "+r.Upstream)
	}).Add(ctx, in.params())
	if err != nil {
		return routes.Route{}, err
	}
	s.Audit.Committed(ctx)
	return r, nil
}

func (s *Service) updateRoute(ctx context.Context, c *Call, in *UpdateRouteInput) (routes.Route, error) {
	p := RouteInput{Prefix: in.Prefix, Upstream: in.Upstream, StripPrefix: in.StripPrefix, OrgID: in.OrgID,
		OpenAPISource: in.OpenAPISource, AuthRequired: in.AuthRequired, QueryKeyParam: in.QueryKeyParam,
		MaxBodyBytes: in.MaxBodyBytes, ValidateRequests: in.ValidateRequests, ConsoleSession: in.ConsoleSession,
		Learn: in.Learn, Scopes: in.Scopes, IdentityJWT: in.IdentityJWT}
	r, err := s.Routes.Recording(func(ctx context.Context, tx *sql.Tx, r routes.Route) error {
		return s.recordTx(ctx, tx, c, r.OrgID, audit.RouteUpdate, r.ID, r.Prefix+" → "+r.Upstream)
	}).Update(ctx, in.ID, p.params())
	if err != nil {
		return routes.Route{}, err
	}
	s.Audit.Committed(ctx)
	return r, nil
}

func (s *Service) removeRoute(ctx context.Context, c *Call, in *RouteIDInput) (Empty, error) {
	err := s.Routes.Recording(func(ctx context.Context, tx *sql.Tx, r routes.Route) error {
		return s.recordTx(ctx, tx, c, r.OrgID, audit.RouteRemove, r.ID, r.Prefix)
	}).Remove(ctx, in.ID)
	if err != nil {
		return Empty{}, err
	}
	s.Audit.Committed(ctx)
	return Empty{}, nil
}

func (s *Service) getGatewaySettings(ctx context.Context, _ *Call, _ *NoInput) (GatewaySettings, error) {
	st, err := s.Routes.Settings(ctx)
	if err != nil {
		return GatewaySettings{}, err
	}
	r, err := audit.LoadRetention(ctx, s.Store)
	if err != nil {
		return GatewaySettings{}, err
	}
	ud, err := usage.LoadRetention(ctx, s.Store)
	if err != nil {
		return GatewaySettings{}, err
	}
	return GatewaySettings{AllowedOrigins: st.AllowedOrigins, UpstreamTimeoutSeconds: int(st.UpstreamTimeout / time.Second),
		LogRetentionDays: r.Days, LogRetentionRows: r.Rows, UsageRetentionDays: ud}, nil
}

func (s *Service) updateGatewaySettings(ctx context.Context, c *Call, in *GatewaySettings) (GatewaySettings, error) {
	if in.UpstreamTimeoutSeconds < 1 || in.UpstreamTimeoutSeconds > 600 {
		return GatewaySettings{}, routes.ErrInvalidTimeout
	}
	r, err := audit.LoadRetention(ctx, s.Store)
	if err != nil {
		return GatewaySettings{}, err
	}
	if in.LogRetentionDays != 0 {
		r.Days = in.LogRetentionDays
	}
	if in.LogRetentionRows != 0 {
		r.Rows = in.LogRetentionRows
	}
	if err := r.Validate(); err != nil {
		return GatewaySettings{}, err
	}
	ud, err := usage.LoadRetention(ctx, s.Store)
	if err != nil {
		return GatewaySettings{}, err
	}
	if in.UsageRetentionDays != 0 {
		if in.UsageRetentionDays < usage.MinRetentionDays || in.UsageRetentionDays > usage.MaxRetentionDays {
			return GatewaySettings{}, usage.ErrInvalidRetention
		}
		ud = in.UsageRetentionDays
	}
	origins := in.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	// The gateway's settings, the two retentions and their audit entry are one transaction.
	st, values, err := routes.SettingsValues(routes.Settings{AllowedOrigins: origins,
		UpstreamTimeout: time.Duration(in.UpstreamTimeoutSeconds) * time.Second})
	if err != nil {
		return GatewaySettings{}, err
	}
	logValues, err := audit.RetentionValues(r)
	if err != nil {
		return GatewaySettings{}, err
	}
	usageValues, err := usage.RetentionValues(ud)
	if err != nil {
		return GatewaySettings{}, err
	}
	maps.Copy(values, logValues)
	maps.Copy(values, usageValues)
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return GatewaySettings{}, err
	}
	out := GatewaySettings{AllowedOrigins: st.AllowedOrigins, UpstreamTimeoutSeconds: int(st.UpstreamTimeout / time.Second),
		LogRetentionDays: r.Days, LogRetentionRows: r.Rows, UsageRetentionDays: ud}
	err = settings.New(s.Store).SetRecorded(ctx, values, func(ctx context.Context, tx *sql.Tx) error {
		return s.recordTx(ctx, tx, c, inst.ID, audit.SettingsUpdate, "gateway",
			"allowed origins "+joinOrNone(out.AllowedOrigins)+", upstream timeout "+(time.Duration(out.UpstreamTimeoutSeconds)*time.Second).String()+
				fmt.Sprintf(", logs kept %d days / %d rows, usage kept %d days", r.Days, r.Rows, ud))
	})
	if err != nil {
		return GatewaySettings{}, err
	}
	s.Audit.Committed(ctx)
	return out, nil
}

func joinOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	out := ss[0]
	for _, s := range ss[1:] {
		out += " " + s
	}
	return out
}

func (s *Service) gatewayStatus() GatewayStatus {
	if s.Gateway == nil {
		return GatewayStatus{}
	}
	st := s.Gateway.Status()
	return GatewayStatus{Running: st.Running, URL: st.URL, Listen: st.Listen, StartedAt: st.StartedAt, CanControl: s.Desktop}
}

func (s *Service) getGatewayStatus(context.Context, *Call, *NoInput) (GatewayStatus, error) {
	return s.gatewayStatus(), nil
}

func (s *Service) startGateway(ctx context.Context, c *Call, _ *NoInput) (GatewayStatus, error) {
	if s.Gateway == nil {
		return GatewayStatus{}, &Error{Status: 400, Code: problem.CodeUnsupported, Msg: "problem.UNSUPPORTED.mode.detail"}
	}
	if !s.Gateway.Status().Running {
		if err := s.Gateway.Start(context.WithoutCancel(ctx)); err != nil {
			return GatewayStatus{}, &Error{Status: 409, Code: problem.CodeConflict, Msg: "problem.CONFLICT.gateway_start.detail",
				Data: map[string]any{"Reason": err.Error()}, Err: err}
		}
		inst, _ := s.instanceOrg(ctx)
		s.record(ctx, c, inst.ID, audit.GatewayStart, "gateway", s.Gateway.Status().Listen)
	}
	s.rememberGatewayWanted(ctx, true)
	return s.gatewayStatus(), nil
}

// rememberGatewayWanted keeps, on the desktop, whether the window's user wants the gateway
// running, so that the next start of the app does what they last did (AutostartGateway). A
// failure to write it is logged, not answered: the gateway did start or stop.
func (s *Service) rememberGatewayWanted(ctx context.Context, running bool) {
	if !s.Desktop {
		return
	}
	if err := settings.New(s.Store).Set(context.WithoutCancel(ctx), map[string]string{settings.DesktopGatewayAutostart: strconv.FormatBool(running)}); err != nil && s.Logger != nil {
		s.Logger.Warn("remember the gateway's state", "err", err)
	}
}

// AutostartGateway starts the desktop's gateway as the app opens, unless its user stopped it
// the last time (the window's Stop button turns the autostart off, Start turns it on again). It
// reports whether the gateway runs; a gateway that cannot start (its port is taken) stays
// stopped with the error, and the window shows it stopped.
func (s *Service) AutostartGateway(ctx context.Context) (bool, error) {
	if s.Gateway == nil || !s.Desktop {
		return false, nil
	}
	vals, err := settings.New(s.Store).Get(ctx, settings.DesktopGatewayAutostart)
	if err != nil {
		return false, err
	}
	if vals[settings.DesktopGatewayAutostart] == "false" {
		return false, nil
	}
	if err := s.Gateway.Start(context.WithoutCancel(ctx)); err != nil {
		return false, fmt.Errorf("start the gateway: %w", err)
	}
	return true, nil
}

func (s *Service) stopGateway(ctx context.Context, c *Call, _ *NoInput) (GatewayStatus, error) {
	if s.Gateway == nil {
		return GatewayStatus{}, &Error{Status: 400, Code: problem.CodeUnsupported, Msg: "problem.UNSUPPORTED.mode.detail"}
	}
	if s.Gateway.Status().Running {
		if err := s.Gateway.Stop(ctx); err != nil {
			return GatewayStatus{}, err
		}
		inst, _ := s.instanceOrg(ctx)
		s.record(ctx, c, inst.ID, audit.GatewayStop, "gateway", "")
	}
	s.rememberGatewayWanted(ctx, false)
	return s.gatewayStatus(), nil
}

// listRequests reads the in-process gateway's recent entries, then older ones from the store.
// Requests no organization can be told from (no or a bad credential) name no user or key, and
// only admins of the instance organization see them.
func (s *Service) listRequests(ctx context.Context, c *Call, in *ListRequestsInput) (RequestList, error) {
	f, err := requestFilter(in.Org, in.Status, in.KeyID, in.Route, in.From, in.To, in.Limit)
	if err != nil {
		return RequestList{}, err
	}
	inst, err := s.instanceOrg(ctx)
	if err != nil {
		return RequestList{}, err
	}
	f.IncludeAnonymous = c.Principal.RoleIn(inst.ID) == auth.RoleAdmin
	limit := in.Limit
	if limit == 0 {
		limit = 100
	}
	out := []gateway.Entry{}
	// An entry may be both in memory and already persisted. The request id alone does not tell
	// (a client may send the same X-Request-Id every time); with its millisecond, method, path
	// and status it does.
	key := func(e gateway.Entry) string {
		return e.RequestID + " " + strconv.FormatInt(e.Time.UnixMilli(), 10) + " " + e.Method + " " +
			strconv.Itoa(e.Status) + " " + e.Path
	}
	seen := map[string]bool{}
	if s.Gateway != nil && s.Gateway.Gateway() != nil {
		out = s.Gateway.Gateway().Requests(f)
		for _, e := range out {
			seen[key(e)] = true
		}
	}
	if len(out) < limit {
		stored, err := gateway.QueryRequests(ctx, s.Store, f, s.Keys)
		if err != nil {
			return RequestList{}, err
		}
		for _, e := range stored {
			if len(out) == limit {
				break
			}
			if !seen[key(e)] {
				out = append(out, e)
			}
		}
	}
	return RequestList{Requests: out}, nil
}
