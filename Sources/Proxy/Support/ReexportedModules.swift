// The canonical chat types and the wire-protocol codecs are part of the gateway library's surface: code
// that imports Proxy (the CLI, tests) sees them without importing each target.
@_exported import Canonical
@_exported import Protocols
