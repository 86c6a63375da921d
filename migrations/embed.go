// Package migrations holds the numbered SQL files that build the Rolodex
// schema. store.Migrate applies them in name order, each in a transaction.
package migrations

import "embed"

//go:embed *.sql
var FS embed.FS
