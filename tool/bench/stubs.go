package bench

import (
	"context"
	"errors"
)

var errNotYet = errors.New("not implemented yet")

func runFreshness(ctx context.Context, r *runner) error { return errNotYet }
func runPeers(ctx context.Context, r *runner) error     { return errNotYet }
