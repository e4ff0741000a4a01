package vivo

import (
	"net/http"
	"strings"

	"github.com/herald-im/herald/vendors"
)

// vivo result codes Herald branches on (VENDORS.md §1.8).
const (
	ResultOK = 0
	// ResultAuthRefused: sign, timestamp or authToken refused (treat as).
	ResultAuthRefused = 10000
	// ResultDailyCap: the app's daily push quota is spent.
	ResultDailyCap = 10070
	// ResultAppMismatch: the appId is not the token's or the regId's.
	ResultAppMismatch = 10094
	// ResultBadRegID: the regId is invalid (vendorsim's answer; treat as).
	ResultBadRegID = 10302
)

// Classify maps one answer to its class: the HTTP status and, for a
// status-200 answer, vivo's result code and desc. An auth refusal is a
// credential error here; Push refreshes the token once before it reports
// one.
func Classify(status, result int, desc string) vendors.Class {
	switch {
	case status >= 500:
		return vendors.Retryable
	case status == http.StatusTooManyRequests:
		return vendors.Throttled
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return vendors.CredentialError
	case status != http.StatusOK:
		return vendors.PayloadError
	}

	switch result {
	case ResultOK:
		return vendors.Delivered
	case ResultBadRegID:
		return vendors.TokenInvalid
	case ResultDailyCap:
		return vendors.Throttled
	case ResultAuthRefused, ResultAppMismatch:
		return vendors.CredentialError
	}
	if strings.Contains(strings.ToLower(desc), "regid") {
		return vendors.TokenInvalid // treat as: a desc naming the regId
	}
	return vendors.PayloadError
}
