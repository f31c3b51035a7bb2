internal import BulkCore

/// One setting of `spectra-bulk serve`: the flag that sets it, the environment variable read when
/// the flag is absent, and how a value lands in `ServerConfiguration` once checked.
///
/// The defaults are those of `ServerConfiguration()` (which takes them from `Limits`,
/// `EngineSettings`, `GRPCTransportSettings` and `HTTPConnectionSettings`); a setting given by
/// neither its flag nor its variable keeps it. `ServerConfigurationResolver` applies the settings;
/// the statics in `ServerSetting+Serve.swift` are the whole table.
package struct ServerSetting<Value> {
  /// The flag, e.g. `--grpc-port`; `nil` for a setting only the environment gives.
  package let flag: String?
  /// The environment variable, e.g. `SPECTRA_GRPC_PORT`.
  package let variable: String
  /// Reads the variable's text; `nil` (text that is not a `Value`) leaves the default, as the
  /// server always has.
  let parse: (String) -> Value?
  /// Checks a value and stores it.
  let apply: (inout ServerConfiguration, Value) throws(BulkError) -> Void
  /// The value of a configuration as `--help` shows it; `nil` when there is none to show.
  let shown: (ServerConfiguration) -> String?

  init(
    flag: String?,
    variable: String,
    parse: @escaping (String) -> Value?,
    shown: @escaping (ServerConfiguration) -> String?,
    apply: @escaping (inout ServerConfiguration, Value) throws(BulkError) -> Void
  ) {
    self.flag = flag
    self.variable = variable
    self.parse = parse
    self.shown = shown
    self.apply = apply
  }

  /// The default as `--help` shows it, e.g. `50051`; `nil` when it is worked out at start (the
  /// workers) or there is none.
  package var defaultDescription: String? { self.shown(ServerConfiguration()) }
}

extension ServerSetting where Value: LosslessStringConvertible {
  /// A setting stored as given at `keyPath`, once `check` returns `nil`; otherwise the message
  /// `check` returns (naming the flag) is thrown as `INVALID_ARGUMENT`.
  init(
    flag: String?,
    variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Value>,
    check: @escaping (Value) -> String? = { _ in nil }
  ) {
    self.init(
      flag: flag,
      variable: variable,
      parse: { Value($0) },
      shown: { "\($0[keyPath: keyPath])" },
      apply: { configuration, value throws(BulkError) in
        if let problem = check(value) { throw .invalidArgument(problem) }
        configuration[keyPath: keyPath] = value
      }
    )
  }

  /// A setting that is absent by default, stored at `keyPath` once `check` returns `nil`.
  init(
    flag: String?,
    variable: String,
    _ keyPath: WritableKeyPath<ServerConfiguration, Value?>,
    check: @escaping (Value) -> String? = { _ in nil }
  ) {
    self.init(
      flag: flag,
      variable: variable,
      parse: { Value($0) },
      shown: { $0[keyPath: keyPath].map { "\($0)" } },
      apply: { configuration, value throws(BulkError) in
        if let problem = check(value) { throw .invalidArgument(problem) }
        configuration[keyPath: keyPath] = value
      }
    )
  }
}
