//go:build js

package mcpoauth

func defaultTransport() RoundTripFunc { return nil }
