//go:build wireinject

// The injectors Wire turns into wire_gen.go. Regenerate with
//
//	go generate ./adapters/profile/...

package profile

import (
	"context"

	"github.com/google/wire"
)

func injectAWS(ctx context.Context, c AWSConfig) (*Stack, func(), error) {
	panic(wire.Build(AWSSet))
}

func injectGCP(ctx context.Context, c GCPConfig) (*Stack, func(), error) {
	panic(wire.Build(GCPSet))
}

func injectOnPrem(ctx context.Context, c OnPremConfig) (*Stack, func(), error) {
	panic(wire.Build(OnPremSet))
}

func injectLocal(ctx context.Context, c LocalConfig) (*Stack, func(), error) {
	panic(wire.Build(LocalSet))
}
