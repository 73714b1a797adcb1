package mcpoauth

// Version is the module's version; web/mcp-oauth.js carries the same
// string, and the browser tests check they agree.
const Version = "0.1.0"
