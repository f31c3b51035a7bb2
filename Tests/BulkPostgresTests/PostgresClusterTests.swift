import BulkTestSupport
import Testing

/// The test support's throw-away cluster, with the server libraries a benchmark asks for.
@Suite("PostgresCluster")
struct PostgresClusterTests {
  @Test("a cluster launched preloading pg_stat_statements counts each statement's calls; the default loads nothing")
  func preloadsLibraries() async throws {
    let cluster = try await PostgresCluster.launch(preloading: ["pg_stat_statements"])
    defer { cluster.remove() }
    #expect(try cluster.psql("SHOW shared_preload_libraries") == "pg_stat_statements\n")
    try cluster.psql("CREATE EXTENSION pg_stat_statements; CREATE TABLE counted (id integer)")
    try cluster.psql("INSERT INTO counted VALUES (1); INSERT INTO counted VALUES (2)")
    let calls = try cluster.psql("SELECT calls FROM pg_stat_statements WHERE query LIKE 'INSERT INTO counted%'")
    #expect(calls == "2\n")
    #expect(try await PostgresCluster.shared().psql("SHOW shared_preload_libraries") == "\n")
  }
}
