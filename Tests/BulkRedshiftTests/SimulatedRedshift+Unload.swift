import BulkPostgres
import BulkRedshift

extension SimulatedRedshift {
  func simulateUnload(_ unload: RedshiftUnload, on connection: PostgresConnection) throws {
    throw PostgresError(message: "UNLOAD is not simulated yet")
  }
}
