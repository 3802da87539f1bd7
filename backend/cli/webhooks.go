package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/backend/console"
	"github.com/keygate/keygate/backend/webhooks"
)

const webhooksUsage = `webhooks add URL [--event E]... [--org ORG_ID] [--json]
       keygate webhooks list [--org ORG_ID] [--json]
       keygate webhooks remove ID [--org ORG_ID] [--json]
       keygate webhooks deliveries [--endpoint ID] [--status pending|delivered|failed|all] [--limit 50] [--org ORG_ID] [--json]
       keygate webhooks retry DELIVERY_ID [--org ORG_ID] [--json]`

// runWebhooks manages an organization's webhook endpoints. Deliveries are sent by a running
// `keygate serve` (or the desktop app): events queued by a command wait in the outbox for it.
func runWebhooks(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: keygate %s", webhooksUsage)
	}
	switch args[0] {
	case "add":
		return webhooksAdd(ctx, env, args[1:])
	case "list":
		return webhooksList(ctx, env, args[1:])
	case "remove":
		return webhooksRemove(ctx, env, args[1:])
	case "deliveries":
		return webhooksDeliveries(ctx, env, args[1:])
	case "retry":
		return webhooksRetry(ctx, env, args[1:])
	}
	return usagef("unknown webhooks command %q; usage: keygate %s", args[0], webhooksUsage)
}

func webhooksAdd(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("webhooks add")
	var events listFlag
	f.Var(&events, "event", "an event to send (repeatable; default: every event): "+strings.Join(webhooks.Events, ", "))
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "webhooks add URL [--event E]... [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	e, err := call[webhooks.CreatedEndpoint](ctx, env, "AddWebhook", console.AddWebhookInput{Org: *org, URL: pos[0], Events: events})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, e)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.webhooks.added", map[string]any{"ID": e.ID, "URL": e.URL, "Events": eventList(env, e.Events)}))
	fmt.Fprintln(env.Stdout, env.t("cli.webhooks.secret", nil))
	fmt.Fprintf(env.Stdout, "\n    %s\n\n", e.Secret)
	fmt.Fprintln(env.Stdout, env.t("cli.keys.copy_now", nil))
	return nil
}

func eventList(env *Env, events []string) string {
	if len(events) == 0 {
		return env.t("cli.webhooks.all_events", nil)
	}
	return strings.Join(events, ", ")
}

func webhooksList(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("webhooks list")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "webhooks list [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	list, err := call[console.WebhookList](ctx, env, "ListWebhooks", console.ListWebhooksInput{Org: *org})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, list)
	}
	if len(list.Endpoints) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.webhooks.none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.webhooks.col.id", "cli.webhooks.col.url", "cli.webhooks.col.events", "cli.webhooks.col.created")...)
	for _, e := range list.Endpoints {
		tw.Row(e.ID, e.URL, eventList(env, e.Events), e.CreatedAt.Format(time.DateOnly))
	}
	return tw.Flush()
}

func webhooksRemove(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("webhooks remove")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "webhooks remove ID [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	out, err := call[console.Empty](ctx, env, "RemoveWebhook", console.WebhookInput{Org: *org, ID: pos[0]})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, out)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.webhooks.removed", map[string]any{"ID": pos[0]}))
	return nil
}

func webhooksDeliveries(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("webhooks deliveries")
	endpoint := f.String("endpoint", "", "only this endpoint's deliveries")
	status := f.String("status", "all", "pending, delivered, failed or all")
	limit := f.Int("limit", 50, "how many, newest first (1 to 500)")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "webhooks deliveries [--endpoint ID] [--status S] [--limit N] [--json]"); err != nil {
		return err
	}
	page, err := call[webhooks.DeliveryPage](ctx, env, "ListWebhookDeliveries", console.ListWebhookDeliveriesInput{Org: *org,
		EndpointID: *endpoint, Status: *status, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, page)
	}
	if len(page.Deliveries) == 0 {
		fmt.Fprintln(env.Stdout, env.t("cli.webhooks.deliveries.none", nil))
		return nil
	}
	tw := env.Table(env.headers("cli.webhooks.col.id", "cli.webhooks.col.event", "cli.webhooks.col.status", "cli.webhooks.col.attempts",
		"cli.webhooks.col.answer", "cli.webhooks.col.created", "cli.webhooks.col.url")...)
	for _, d := range page.Deliveries {
		answer := "-"
		switch {
		case d.LastStatus != 0:
			answer = strconv.Itoa(d.LastStatus)
		case d.LastError != "":
			answer = d.LastError
		}
		tw.Row(d.ID, d.Event, d.Status, strconv.Itoa(d.Attempts), answer, rfc3339(d.CreatedAt), d.URL)
	}
	return tw.Flush()
}

func webhooksRetry(ctx context.Context, env *Env, args []string) error {
	f := env.newFlags("webhooks retry")
	org := f.String("org", "", "organization id (default: the first organization)")
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := parse(f, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "webhooks retry DELIVERY_ID [--org ORG_ID] [--json]"); err != nil {
		return err
	}
	d, err := call[webhooks.Delivery](ctx, env, "RetryWebhookDelivery", console.WebhookDeliveryInput{Org: *org, ID: pos[0]})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(env.Stdout, d)
	}
	fmt.Fprintln(env.Stdout, env.t("cli.webhooks.retried", map[string]any{"ID": d.ID}))
	return nil
}
