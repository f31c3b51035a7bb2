import BulkPostgres
import BulkRedshift

extension SimulatedRedshift {
  func simulateCopy(_ copy: RedshiftCopy, on connection: PostgresConnection) throws -> [RedshiftLoadRejection] {
    throw PostgresError(message: "COPY is not simulated yet")
  }
}
