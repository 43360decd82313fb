// Package wire re-exports the documents of the public package
// github.com/yinzheng-id/yinzheng/wire, where they are defined, for the
// packages that still import this path (the verifier). New code imports the
// public package; this one can go once nothing imports it.
package wire

import "github.com/yinzheng-id/yinzheng/wire"

// Version is the format version every document carries.
const Version = wire.Version

// Presentation types.
const (
	TypeZK    = wire.TypeZK
	TypeSDJWT = wire.TypeSDJWT
)

// The documents, defined in package github.com/yinzheng-id/yinzheng/wire.
type (
	HolderRequest = wire.HolderRequest
	Bundle        = wire.Bundle
	BundleZK      = wire.BundleZK
	BundlePath    = wire.BundlePath
	Request       = wire.Request
	Predicates    = wire.Predicates
	SDJWTRequest  = wire.SDJWTRequest
	Presentation  = wire.Presentation
)
