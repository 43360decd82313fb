package oid4vpcheck

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// validDCQL is a query using every structure of §6.
const validDCQL = `{
  "credentials": [
    {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:example:pid"]},
     "multiple": false, "require_cryptographic_holder_binding": true,
     "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],
     "claims": [
       {"id": "a", "path": ["age_over_18"], "values": [true]},
       {"id": "b", "path": ["address", "street_address"]},
       {"id": "c", "path": ["nationalities", null]},
       {"id": "d", "path": ["degrees", 0, "type"], "values": ["x", 3]}
     ],
     "claim_sets": [["a"], ["b", "c", "d"]]},
    {"id": "zk-1", "format": "yinzheng-zk+groth16", "meta": {}, "multiple": true},
    {"id": "other_pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:example:pid2"]}}
  ],
  "credential_sets": [
    {"options": [["pid"], ["other_pid"]]},
    {"options": [["zk-1"]], "required": false}
  ],
  "x_future": {"anything": true}
}`

// TestDCQL: each case changes the valid query (a string replacement,
// which must apply) to break exactly one rule of §6.
func TestDCQL(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		want           error
	}{
		{"valid", "", "", nil},
		{"credentials missing", `"credentials"`, `"credential"`, ErrDCQLCredentials},
		{"credentials empty", `"credentials": [`, `"credentials": [], "x": [`, ErrDCQLCredentials},
		{"credential not an object", `"credentials": [`, `"credentials": ["pid", `, ErrDCQLCredentials},
		{"id missing", `"id": "pid", `, ``, ErrDCQLID},
		{"id empty", `"id": "pid"`, `"id": ""`, ErrDCQLID},
		{"id with a dot", `"id": "pid"`, `"id": "p.id"`, ErrDCQLID},
		{"id a number", `"id": "pid"`, `"id": 1`, ErrDCQLID},
		{"id twice", `"id": "other_pid"`, `"id": "pid"`, ErrDCQLDuplicateID},
		{"format missing", `"format": "yinzheng-zk+groth16", `, ``, ErrDCQLFormat},
		{"format empty", `"format": "yinzheng-zk+groth16"`, `"format": ""`, ErrDCQLFormat},
		{"meta missing", `, "meta": {}`, ``, ErrDCQLMeta},
		{"meta an array", `"meta": {}`, `"meta": []`, ErrDCQLMeta},
		{"vct_values missing", `{"vct_values": ["urn:example:pid2"]}`, `{}`, ErrDCQLMeta},
		{"vct_values empty", `["urn:example:pid2"]`, `[]`, ErrDCQLMeta},
		{"vct_values not strings", `["urn:example:pid2"]`, `[1]`, ErrDCQLMeta},
		{"multiple a string", `"multiple": true`, `"multiple": "true"`, ErrDCQLMultiple},
		{"holder binding a number", `"require_cryptographic_holder_binding": true`, `"require_cryptographic_holder_binding": 1`, ErrDCQLHolderBinding},
		{"trusted_authorities empty", `[{"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]`, `[]`, ErrDCQLTrustedAuthorities},
		{"trusted authority without type", `{"type": "aki", `, `{`, ErrDCQLTrustedAuthorities},
		{"trusted authority values empty", `"values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]`, `"values": []`, ErrDCQLTrustedAuthorities},
		{"claims empty", `"claims": [`, `"claims": [], "x": [`, ErrDCQLClaims},
		{"claim not an object", `"claims": [`, `"claims": [["age_over_18"], `, ErrDCQLClaims},
		{"path missing", `"path": ["age_over_18"], `, ``, ErrDCQLPath},
		{"path empty", `"path": ["age_over_18"]`, `"path": []`, ErrDCQLPath},
		{"path negative index", `"degrees", 0,`, `"degrees", -1,`, ErrDCQLPath},
		{"path fractional index", `"degrees", 0,`, `"degrees", 0.5,`, ErrDCQLPath},
		{"path with a boolean", `"degrees", 0,`, `"degrees", true,`, ErrDCQLPath},
		{"path with an object", `"degrees", 0,`, `"degrees", {},`, ErrDCQLPath},
		{"same claim twice", `"path": ["address", "street_address"]`, `"path": ["age_over_18"]`, ErrDCQLDuplicateClaim},
		{"claim id repeated", `{"id": "b",`, `{"id": "a",`, ErrDCQLClaimID},
		{"claim id malformed", `{"id": "b",`, `{"id": "b b",`, ErrDCQLClaimID},
		{"claim id missing with claim_sets", `{"id": "b", `, `{`, ErrDCQLClaimID},
		{"values empty", `"values": [true]`, `"values": []`, ErrDCQLValues},
		{"values with an object", `"values": [true]`, `"values": [{}]`, ErrDCQLValues},
		{"values with a float", `"values": [true]`, `"values": [1.5]`, ErrDCQLValues},
		{"values with null", `"values": [true]`, `"values": [null]`, ErrDCQLValues},
		{"claim_sets empty", `"claim_sets": [["a"], ["b", "c", "d"]]`, `"claim_sets": []`, ErrDCQLClaimSets},
		{"claim_sets unknown id", `["b", "c", "d"]`, `["b", "c", "e"]`, ErrDCQLClaimSets},
		{"claim_sets empty option", `["b", "c", "d"]`, `[]`, ErrDCQLClaimSets},
		{"claim_sets without claims", `"meta": {}, "multiple": true}`, `"meta": {}, "multiple": true, "claim_sets": [["a"]]}`, ErrDCQLClaimSets},
		{"credential_sets empty", `"credential_sets": [`, `"credential_sets": [], "x": [`, ErrDCQLCredentialSets},
		{"credential set without options", `{"options": [["zk-1"]], `, `{`, ErrDCQLCredentialSets},
		{"credential set unknown id", `[["pid"], ["other_pid"]]`, `[["pid"], ["nope"]]`, ErrDCQLCredentialSets},
		{"credential set empty option", `[["pid"], ["other_pid"]]`, `[["pid"], []]`, ErrDCQLCredentialSets},
		{"credential set required a string", `"required": false`, `"required": "no"`, ErrDCQLCredentialSets},
		{"duplicate member", `"meta": {}, "multiple": true}`, `"meta": {}, "multiple": true, "multiple": true}`, ErrDuplicateMember},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := validDCQL
			if c.old != "" {
				if !strings.Contains(q, c.old) {
					t.Fatalf("the case does not apply: %q", c.old)
				}
				q = strings.Replace(q, c.old, c.new, 1)
			}
			d, err := CheckDCQL(json.RawMessage(q))
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err == nil && (len(d.Credentials) != 3 || !d.Credentials[1].Multiple || len(d.CredentialSets) != 2 || d.CredentialSets[1].Required || !d.CredentialSets[0].Required) {
				t.Fatalf("query %+v", d)
			}
		})
	}
}
