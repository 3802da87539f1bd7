package console

import (
	"context"
	"net/http"
	"strings"

	"github.com/keygate/keygate/backend/auth"
	"github.com/keygate/keygate/backend/i18n"
	"github.com/keygate/keygate/backend/routes"
)

// routeFilterKey carries, in a request's context, which routes the caller may see in the
// gateway document.
type routeFilterKey struct{}

// RouteVisible reports whether the caller of a request whose context passed through the
// console's /openapi/gateway.* guard may see route r. Without the guard (the CLI, the desktop
// app's own calls) every route is visible.
func RouteVisible(ctx context.Context, r routes.Route) bool {
	f, ok := ctx.Value(routeFilterKey{}).(func(routes.Route) bool)
	return !ok || f(r)
}

// guardGatewayDocument puts a session in front of the gateway document: it lists every route
// with its upstream's API, so it needs a signed-in caller (401 otherwise), and it shows only
// the routes the caller may list — all of them for a member of the instance organization
// (ListRoutes), else the routes bound to an organization the caller belongs to. The console
// document describes the console's own public API and stays open.
func (s *Service) guardGatewayDocument(next http.Handler, opts HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/openapi/gateway.") {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		lang := i18n.Match(r.Header.Get("Accept-Language"))
		var p auth.Principal
		if s.Desktop {
			p = s.localPrincipal()
		} else if tok := auth.TokenFromRequest(r, r.TLS != nil || opts.Secure); tok != "" {
			if sess, err := s.Auth.Session(ctx, tok); err == nil {
				p, _ = s.principal(ctx, sess)
			}
		}
		if p.Anonymous() {
			s.fail(w, r, errUnauthenticated, lang)
			return
		}
		inst, err := s.instanceOrg(ctx)
		if err != nil {
			s.fail(w, r, err, lang)
			return
		}
		all := p.May(auth.NeedMember, inst.ID)
		visible := func(rt routes.Route) bool {
			return all || rt.OrgID != "" && p.RoleIn(rt.OrgID) != ""
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, routeFilterKey{}, visible)))
	})
}
