package oid4vpcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// FormatSDJWTVC is the Credential Format Identifier of IETF SD-JWT VC
// (Appendix B.3.1), whose meta and presentations the checker knows.
const FormatSDJWTVC = "dc+sd-jwt"

// DCQL is a checked DCQL query (§6).
type DCQL struct {
	Credentials    []CredentialQuery
	CredentialSets []CredentialSet
}

// CredentialQuery is one checked Credential Query (§6.1).
type CredentialQuery struct {
	ID       string
	Format   string
	Multiple bool
	// HolderBinding is require_cryptographic_holder_binding (default
	// true).
	HolderBinding bool
	Meta          json.RawMessage
}

// CredentialSet is one checked Credential Set Query (§6.2).
type CredentialSet struct {
	Options  [][]string
	Required bool
}

func (q *DCQL) query(id string) *CredentialQuery {
	for i := range q.Credentials {
		if q.Credentials[i].ID == id {
			return &q.Credentials[i]
		}
	}
	return nil
}

// unbound reports whether a query accepts a presentation without holder
// binding.
func (q *DCQL) unbound() bool {
	for _, c := range q.Credentials {
		if !c.HolderBinding {
			return true
		}
	}
	return false
}

// CheckDCQL validates a DCQL query (§6): its structure, ids and
// references. Unknown properties are ignored (§6).
func CheckDCQL(raw json.RawMessage) (*DCQL, error) {
	top, err := parseObject(raw, ErrParameterType)
	if err != nil {
		return nil, fmt.Errorf("dcql_query: %w", err)
	}
	list, ok := array(top["credentials"])
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%w: credentials", ErrDCQLCredentials)
	}
	q := &DCQL{}
	for i, el := range list {
		if kind(el) != "object" {
			return nil, fmt.Errorf("%w: credentials[%d] is not an object", ErrDCQLCredentials, i)
		}
		c, err := checkCredentialQuery(el)
		if err != nil {
			return nil, fmt.Errorf("credentials[%d]: %w", i, err)
		}
		if q.query(c.ID) != nil {
			return nil, fmt.Errorf("%w: %q", ErrDCQLDuplicateID, c.ID)
		}
		q.Credentials = append(q.Credentials, *c)
	}
	if top.has("credential_sets") {
		sets, ok := array(top["credential_sets"])
		if !ok || len(sets) == 0 {
			return nil, fmt.Errorf("%w: not a non-empty array", ErrDCQLCredentialSets)
		}
		for i, el := range sets {
			s, err := parseObject(el, ErrDCQLCredentialSets)
			if err != nil {
				return nil, fmt.Errorf("credential_sets[%d]: %w", i, err)
			}
			opts, ok := array(s["options"])
			if !ok || len(opts) == 0 {
				return nil, fmt.Errorf("%w: [%d] options is not a non-empty array", ErrDCQLCredentialSets, i)
			}
			set := CredentialSet{}
			for _, o := range opts {
				ids, ok := stringArray(o)
				if !ok {
					return nil, fmt.Errorf("%w: [%d] an option is not a non-empty array of ids", ErrDCQLCredentialSets, i)
				}
				for _, id := range ids {
					if q.query(id) == nil {
						return nil, fmt.Errorf("%w: [%d] names %q, no credential query", ErrDCQLCredentialSets, i, id)
					}
				}
				set.Options = append(set.Options, ids)
			}
			if set.Required, err = s.boolean("required", true, ErrDCQLCredentialSets); err != nil {
				return nil, err
			}
			q.CredentialSets = append(q.CredentialSets, set)
		}
	}
	return q, nil
}

func checkCredentialQuery(raw json.RawMessage) (*CredentialQuery, error) {
	o, err := parseObject(raw, ErrDCQLCredentials)
	if err != nil {
		return nil, err
	}
	c := &CredentialQuery{}
	id, ok, err := o.str("id")
	if err != nil || !ok || !dcqlID.MatchString(id) {
		return nil, fmt.Errorf("%w: %s", ErrDCQLID, o["id"])
	}
	c.ID = id
	if c.Format, ok, err = o.str("format"); err != nil || !ok || c.Format == "" {
		return nil, fmt.Errorf("%w: credential query %s", ErrDCQLFormat, id)
	}
	if kind(o["meta"]) != "object" {
		return nil, fmt.Errorf("%w: credential query %s: meta is required and an object", ErrDCQLMeta, id)
	}
	meta, err := parseObject(o["meta"], ErrDCQLMeta)
	if err != nil {
		return nil, err
	}
	c.Meta = o["meta"]
	if c.Format == FormatSDJWTVC {
		// Appendix B.3.5: vct_values REQUIRED, a non-empty array of
		// strings.
		if _, ok := stringArray(meta["vct_values"]); !ok {
			return nil, fmt.Errorf("%w: credential query %s: a %s meta needs vct_values, a non-empty array of strings", ErrDCQLMeta, id, FormatSDJWTVC)
		}
	}
	if c.Multiple, err = o.boolean("multiple", false, ErrDCQLMultiple); err != nil {
		return nil, err
	}
	if c.HolderBinding, err = o.boolean("require_cryptographic_holder_binding", true, ErrDCQLHolderBinding); err != nil {
		return nil, err
	}
	if o.has("trusted_authorities") {
		tas, ok := array(o["trusted_authorities"])
		if !ok || len(tas) == 0 {
			return nil, fmt.Errorf("%w: credential query %s", ErrDCQLTrustedAuthorities, id)
		}
		for i, el := range tas {
			ta, err := parseObject(el, ErrDCQLTrustedAuthorities)
			if err != nil {
				return nil, err
			}
			typ, ok, err := ta.str("type")
			if err != nil || !ok || typ == "" {
				return nil, fmt.Errorf("%w: credential query %s: [%d] type", ErrDCQLTrustedAuthorities, id, i)
			}
			if _, ok := stringArray(ta["values"]); !ok {
				return nil, fmt.Errorf("%w: credential query %s: [%d] values is not a non-empty array of strings", ErrDCQLTrustedAuthorities, id, i)
			}
		}
	}
	claimIDs := map[string]bool{}
	hasSets := o.has("claim_sets")
	if o.has("claims") {
		claims, ok := array(o["claims"])
		if !ok || len(claims) == 0 {
			return nil, fmt.Errorf("%w: credential query %s", ErrDCQLClaims, id)
		}
		paths := map[string]bool{}
		for i, el := range claims {
			cl, err := parseObject(el, ErrDCQLClaims)
			if err != nil {
				return nil, fmt.Errorf("credential query %s: claims[%d]: %w", id, i, err)
			}
			p, err := checkPath(cl["path"])
			if err != nil {
				return nil, fmt.Errorf("credential query %s: claims[%d]: %w", id, i, err)
			}
			if paths[p] {
				return nil, fmt.Errorf("%w: credential query %s: path %s", ErrDCQLDuplicateClaim, id, p)
			}
			paths[p] = true
			if cl.has("id") {
				cid, _, err := cl.str("id")
				if err != nil || !dcqlID.MatchString(cid) || claimIDs[cid] {
					return nil, fmt.Errorf("%w: credential query %s: %s", ErrDCQLClaimID, id, cl["id"])
				}
				claimIDs[cid] = true
			} else if hasSets {
				return nil, fmt.Errorf("%w: credential query %s: claims[%d] has no id but claim_sets is present", ErrDCQLClaimID, id, i)
			}
			if cl.has("values") {
				if err := checkValues(cl["values"]); err != nil {
					return nil, fmt.Errorf("credential query %s: claims[%d]: %w", id, i, err)
				}
			}
		}
	}
	if hasSets {
		if !o.has("claims") {
			return nil, fmt.Errorf("%w: credential query %s: claim_sets without claims", ErrDCQLClaimSets, id)
		}
		sets, ok := array(o["claim_sets"])
		if !ok || len(sets) == 0 {
			return nil, fmt.Errorf("%w: credential query %s: not a non-empty array", ErrDCQLClaimSets, id)
		}
		for _, s := range sets {
			ids, ok := stringArray(s)
			if !ok {
				return nil, fmt.Errorf("%w: credential query %s: an option is not a non-empty array of claim ids", ErrDCQLClaimSets, id)
			}
			for _, cid := range ids {
				if !claimIDs[cid] {
					return nil, fmt.Errorf("%w: credential query %s: names unknown claim %q", ErrDCQLClaimSets, id, cid)
				}
			}
		}
	}
	return c, nil
}

// checkPath checks a claims path pointer (§7) and returns its canonical
// JSON for duplicate detection.
func checkPath(raw json.RawMessage) (string, error) {
	els, ok := array(raw)
	if !ok || len(els) == 0 {
		return "", fmt.Errorf("%w: not a non-empty array", ErrDCQLPath)
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, el := range els {
		if i > 0 {
			b.WriteByte(',')
		}
		switch kind(el) {
		case "string":
			var s string
			_ = json.Unmarshal(el, &s)
			enc, _ := json.Marshal(s)
			b.Write(enc)
		case "null":
			b.WriteString("null")
		case "number":
			n, err := strconv.ParseUint(string(bytes.TrimSpace(el)), 10, 63)
			if err != nil {
				return "", fmt.Errorf("%w: %s is not a non-negative integer", ErrDCQLPath, el)
			}
			b.WriteString(strconv.FormatUint(n, 10))
		default:
			return "", fmt.Errorf("%w: %s is not a string, null or index", ErrDCQLPath, el)
		}
	}
	b.WriteByte(']')
	return b.String(), nil
}

// checkValues (§6.3): a non-empty array of strings, integers or booleans.
func checkValues(raw json.RawMessage) error {
	els, ok := array(raw)
	if !ok || len(els) == 0 {
		return fmt.Errorf("%w: not a non-empty array", ErrDCQLValues)
	}
	for _, el := range els {
		switch kind(el) {
		case "string", "boolean":
		case "number":
			if _, err := strconv.ParseInt(string(bytes.TrimSpace(el)), 10, 64); err != nil {
				return fmt.Errorf("%w: %s is not an integer", ErrDCQLValues, el)
			}
		default:
			return fmt.Errorf("%w: %s is not a string, integer or boolean", ErrDCQLValues, el)
		}
	}
	return nil
}
