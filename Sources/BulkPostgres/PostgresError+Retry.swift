internal import BulkCore

extension PostgresError: RetryableWarehouseError {
  /// A lost or refused connection may work again later; anything else would fail the same way.
  package var isRetryable: Bool { self.isConnectionFailure }
}
