/// A throw-away cluster could not be created, started, stopped or queried.
package struct PostgresClusterError: Error, CustomStringConvertible {
  /// What failed, with the standard error of the command that failed.
  package var message: String

  /// An error saying `message`.
  package init(message: String) {
    self.message = message
  }

  /// The message.
  package var description: String { self.message }
}
