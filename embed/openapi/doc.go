// Package openapi serves the OpenAPI 3.1 document of leadflow's admin API
// (/api/v1) and its public capture endpoint (/f/{key}).
//
// Invariants:
//   - The document is a file compiled into the binary, written by hand from
//     the handlers' wire types; cmd/leadflow's tests check that it names
//     every registered route and nothing else, and that real requests and
//     answers match it.
//   - It is served without authentication: it holds no workspace data.
package openapi
