package import BulkCore

/// Builds the `ServerConfiguration` of `spectra-bulk serve`: each setting from its flag, else its
/// environment variable, else the default. The one place the server's environment is read.
package struct ServerConfigurationResolver {
  /// The configuration so far: the defaults, with every setting given so far applied.
  package private(set) var configuration = ServerConfiguration()
  private let environment: [String: String]

  /// - Parameter environment: the process's environment (`ProcessInfo.processInfo.environment`).
  package init(environment: [String: String]) {
    self.environment = environment
  }

  /// Applies `setting` from `flag` when the flag was given, else from its environment variable;
  /// keeps the default when neither gives a value (or the variable's text is not a `Value`).
  ///
  /// - Throws: `INVALID_ARGUMENT` naming the flag when the value is out of its range.
  package mutating func set<Value>(_ setting: ServerSetting<Value>, _ flag: Value?) throws(BulkError) {
    guard let value = flag ?? self.environment[setting.variable].flatMap(setting.parse) else { return }
    try setting.apply(&self.configuration, value)
  }

  /// Applies a switch: on when its flag was given, else as its environment variable says (`1` or
  /// `true` turn it on).
  package mutating func set(_ setting: ServerSetting<Bool>, given: Bool) throws(BulkError) {
    try self.set(setting, given ? true : nil)
  }
}
