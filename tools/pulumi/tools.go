//go:build tools

// Package tools pins the Pulumi CLI that `make pulumi` builds (see build.sh). pulumi's own pkg/go.mod
// carries replace directives, which a module only honours when it is the main module, so the CLI is
// built from this small wrapper module that requires it instead of from a clone of pulumi/pulumi.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
