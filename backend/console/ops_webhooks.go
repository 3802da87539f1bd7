package console

import (
	"context"
	"database/sql"
	"strings"

	"github.com/keygate/keygate/backend/audit"
	"github.com/keygate/keygate/backend/webhooks"
)

// WebhookList is an organization's endpoints.
type WebhookList struct {
	Endpoints []webhooks.Endpoint `json:"endpoints"`
}

// ListWebhooksInput names an organization.
type ListWebhooksInput struct {
	Org string `json:"org"`
}

// AddWebhookInput adds an endpoint.
type AddWebhookInput struct {
	Org string `json:"org"`
	URL string `json:"url" required:"true" example:"https://example.com/keygate-hook" doc:"An absolute http:// or https:// URL (loopback allowed), without user name or password."`
	// Events are the event types to send; empty or missing means every event.
	Events []string `json:"events" doc:"key.created, key.updated, key.disabled, key.enabled, key.revoked, key.rolled, key.expiring, key.expired, key.quota_exhausted; empty means all."`
}

// WebhookInput names an endpoint.
type WebhookInput struct {
	ID  string `json:"id"`
	Org string `json:"org"`
}

// ListWebhookDeliveriesInput selects a page of deliveries.
type ListWebhookDeliveriesInput struct {
	Org        string `json:"org"`
	EndpointID string `json:"endpointId"`
	// Status is pending, delivered, failed or all (default).
	Status string `json:"status" enum:"pending,delivered,failed,all"`
	// Limit is 1–500, default 50.
	Limit  int    `json:"limit" minimum:"0" maximum:"500"`
	Cursor string `json:"cursor"`
}

// WebhookDeliveryInput names a delivery.
type WebhookDeliveryInput struct {
	ID  string `json:"id"`
	Org string `json:"org"`
}

func (s *Service) listWebhooks(ctx context.Context, _ *Call, in *ListWebhooksInput) (WebhookList, error) {
	es, err := s.Webhooks.List(ctx, in.Org)
	return WebhookList{Endpoints: es}, err
}

func (s *Service) addWebhook(ctx context.Context, c *Call, in *AddWebhookInput) (webhooks.CreatedEndpoint, error) {
	e, err := s.Webhooks.Recording(func(ctx context.Context, tx *sql.Tx, e webhooks.Endpoint) error {
		events := "every event"
		if len(e.Events) > 0 {
			events = strings.Join(e.Events, " ")
		}
		return s.recordTx(ctx, tx, c, in.Org, audit.WebhookAdd, e.ID, e.URL+" ("+events+")")
	}).Add(ctx, webhooks.AddParams{OrgID: in.Org, URL: in.URL, Events: in.Events, CreatedBy: c.createdBy()})
	if err != nil {
		return webhooks.CreatedEndpoint{}, err
	}
	s.Audit.Committed(ctx)
	return e, nil
}

func (s *Service) removeWebhook(ctx context.Context, c *Call, in *WebhookInput) (Empty, error) {
	_, err := s.Webhooks.Recording(func(ctx context.Context, tx *sql.Tx, e webhooks.Endpoint) error {
		return s.recordTx(ctx, tx, c, in.Org, audit.WebhookRemove, e.ID, e.URL)
	}).Remove(ctx, in.Org, in.ID)
	if err != nil {
		return Empty{}, err
	}
	s.Audit.Committed(ctx)
	return Empty{}, nil
}

func (s *Service) listWebhookDeliveries(ctx context.Context, _ *Call, in *ListWebhookDeliveriesInput) (webhooks.DeliveryPage, error) {
	return s.Webhooks.Deliveries(ctx, webhooks.DeliveryFilter{OrgID: in.Org, EndpointID: in.EndpointID, Status: in.Status,
		Limit: in.Limit, Cursor: in.Cursor})
}

func (s *Service) retryWebhookDelivery(ctx context.Context, c *Call, in *WebhookDeliveryInput) (webhooks.Delivery, error) {
	d, err := s.Webhooks.RetryRecorded(ctx, in.Org, in.ID, func(ctx context.Context, tx *sql.Tx, d webhooks.Delivery) error {
		return s.recordTx(ctx, tx, c, in.Org, audit.WebhookRetry, d.ID, d.Event+" → "+d.URL)
	})
	if err != nil {
		return webhooks.Delivery{}, err
	}
	s.Audit.Committed(ctx)
	return d, nil
}
