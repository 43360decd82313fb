// Package docs holds Yinzheng's documentation as markdown. Its only Go code
// is a test: every JSON example in README.md and docs/*.md is fed to the
// parser of the document it shows, so that an example cannot rot.
//
// Mark a ```json block with its document kind after the language
// ("```json jwk"), or precede each document of a ```jsonc block with a
// comment that starts with the kind ("// subject (issuer issue --subject)").
// Examples with placeholders ("0x…", "<JWS>") have their members and value
// types checked against the Go type; the others must parse (and, for a
// subject, validate today) as they are.
package docs
