package bench

import (
	"context"
	"errors"
)

type stackState struct{}

func (s *stackState) close() {}

var errNotYet = errors.New("not implemented yet")

func runSink(ctx context.Context, r *runner) error      { return errNotYet }
func runCatchup(ctx context.Context, r *runner) error   { return errNotYet }
func runRebuild(ctx context.Context, r *runner) error   { return errNotYet }
func runFreshness(ctx context.Context, r *runner) error { return errNotYet }
func runPeers(ctx context.Context, r *runner) error     { return errNotYet }
