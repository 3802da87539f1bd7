package console

import (
	"context"

	"github.com/keygate/keygate/backend/nodes"
)

// NodeList is the answer of ListNodes: the nodes registry, live nodes first.
type NodeList struct {
	Nodes []nodes.Node `json:"nodes"`
}

func (s *Service) listNodes(ctx context.Context, _ *Call, _ *NoInput) (NodeList, error) {
	ns, err := nodes.List(ctx, s.Store)
	if err != nil {
		return NodeList{}, err
	}
	return NodeList{Nodes: ns}, nil
}
