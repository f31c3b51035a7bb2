import BulkProto
import BulkTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Three `spectra-bulk serve` processes sharing one PostgreSQL catalog, one S3 storage (moto) and
/// one PostgreSQL warehouse (#17 item 4): jobs created on one instance, uploaded half through a
/// second and resumed through the third, processed by all three while one is killed mid-chunk.
///
/// The other half of the item, the embedded SQLite catalog refused for a second instance on the
/// same data directory, is `DataDirectoryLockTests`.
@Suite("Three instances sharing the work", .timeLimit(.minutes(6)))
struct ThreeInstanceTests {
  typealias Client = ServerEndToEndTests.Client
  typealias Job = Spectra_Bulk_V1_Job

  static let chunkRecords = 50
  /// The record the warehouse holds at its gate: the instance that applies its chunk is stuck
  /// there, holding the chunk's lease, until the test has killed it and opens the gate.
  static let gatedID = 260

  /// A job of the test: what it uploads, and what its results must hold.
  struct Plan {
    var operation: Spectra_Bulk_V1_Operation
    var object: String
    var ids: ClosedRange<Int>
    /// A record that fails (an empty name against `NOT NULL`), uploaded last; `nil` for none.
    var failingID: Int?

    var csv: Data {
      var text = "id,name,email\n"
      for id in self.ids {
        text += "\(id),Customer \(id),c\(id)@example.com\n"
      }
      if let failingID { text += "\(failingID),,bad@example.com\n" }
      return Data(text.utf8)
    }

    var records: Int { self.ids.count + (self.failingID == nil ? 0 : 1) }

    var create: Spectra_Bulk_V1_CreateJobRequest {
      var request = Spectra_Bulk_V1_CreateJobRequest()
      request.operation = self.operation
      request.object = self.object
      if self.operation == .upsert { request.externalIDField = "id" }
      return request
    }
  }

  /// Twenty-one chunks with the gated record in chunk 5 and a failing record in the last; twelve
  /// chunks of upsert; and one chunk, slower per row, whose watchers the test follows.
  static let plans = [
    Plan(operation: .insert, object: "customers", ids: 1 ... 1_000, failingID: 999_999),
    Plan(operation: .upsert, object: "accounts", ids: 2_001 ... 2_600),
    Plan(operation: .insert, object: "customers", ids: 3_001 ... 3_050),
  ]

  /// The warehouse's tables, made slow: every row inserted waits 5 ms (20 ms for the watched
  /// job's), the gated record waits while its row is in `fleet_gate`, and an update of an
  /// account counts itself, so that an upsert applied twice shows. `customers` has no key, so a
  /// chunk inserted twice would show as repeated ids.
  static let schema = """
    CREATE SCHEMA tenant_123;
    CREATE TABLE tenant_123.customers (id bigint NOT NULL, name text NOT NULL, email text);
    CREATE TABLE tenant_123.accounts (
      id bigint PRIMARY KEY, name text NOT NULL, email text, updates integer NOT NULL DEFAULT 0
    );
    CREATE TABLE public.fleet_gate (id bigint PRIMARY KEY);
    INSERT INTO public.fleet_gate VALUES (\(gatedID));
    CREATE FUNCTION public.fleet_slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep(CASE WHEN NEW.id BETWEEN 3001 AND 3050 THEN 0.02 ELSE 0.005 END);
      WHILE EXISTS (SELECT 1 FROM public.fleet_gate WHERE id = NEW.id) LOOP
        PERFORM pg_sleep(0.05);
      END LOOP;
      RETURN NEW;
    END $$;
    CREATE FUNCTION public.fleet_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updates := OLD.updates + 1;
      RETURN NEW;
    END $$;
    CREATE TRIGGER slow BEFORE INSERT ON tenant_123.customers
      FOR EACH ROW EXECUTE FUNCTION public.fleet_slow_row();
    CREATE TRIGGER slow BEFORE INSERT ON tenant_123.accounts
      FOR EACH ROW EXECUTE FUNCTION public.fleet_slow_row();
    CREATE TRIGGER counted BEFORE UPDATE ON tenant_123.accounts
      FOR EACH ROW EXECUTE FUNCTION public.fleet_count_update();
    """

  @Test(
    "jobs created on one instance, uploaded through the other two, run by all three while one is killed mid-chunk: every record applied once"
  )
  func shareTheWorkAndSurviveAKill() async throws {
    let cluster = try await PostgresCluster.shared()
    let database = "fleet_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    try cluster.createDatabase(database)
    try cluster.psql(Self.schema, database: database)
    let sql: @Sendable (String) throws -> [[String]] = { query in
      try cluster.psql(query, database: database).split(separator: "\n").map {
        $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
      }
    }
    let moto = try await MotoServer.launch(authentication: false)
    defer { moto.stop() }
    let bucket = "fleet-\(UUID().uuidString.prefix(8).lowercased())"
    try await Self.createBucket(bucket, on: moto)

    try await withTemporaryDirectory { directory in
      let url = cluster.url(database: database)
      let fleet = try ServerFleet(
        names: ["a", "b", "c"],
        directory: directory,
        environment: [
          "SPECTRA_DEV_TOKEN": ServerEndToEndTests.token,
          "AWS_ACCESS_KEY_ID": moto.accessKeyID,
          "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey,
        ]
      ) { name in
        [
          "--instance-id", name, "--lease-duration", "2s", "--catalog", url, "--warehouse", url,
          "--storage", "s3://\(bucket)/fleet", "--s3-endpoint", moto.endpoint, "--s3-region", "us-east-1",
          "--chunk-records", String(Self.chunkRecords), "--workers", "2", "--shutdown-grace", "10",
        ]
      }
      defer { fleet.stop(with: SIGKILL) }
      let (a, b, c) = (fleet["a"], fleet["b"], fleet["c"])

      // Created on a, the first half uploaded through b, the rest from b's acknowledged offset
      // through c: the upload moves between instances through the shared storage.
      let ids = try await ServerEndToEndTests.withClient(port: a.grpcPort) { client in
        var ids: [String] = []
        for plan in Self.plans {
          ids.append(try await client.createJob(plan.create, metadata: ServerEndToEndTests.auth).jobID)
        }
        return ids
      }
      for (plan, id) in zip(Self.plans, ids) {
        let bytes = plan.csv
        let acknowledged = try await ServerEndToEndTests.withClient(port: b.grpcPort) { client in
          try await UploadCrashTests.upload(
            client,
            jobID: id,
            bytes: bytes.prefix(bytes.count / 2),
            from: 0,
            pieceSize: 4_096
          )
          .bytesUploaded
        }
        #expect(acknowledged == Int64(bytes.count / 2))
        let whole = try await ServerEndToEndTests.withClient(port: c.grpcPort) { client in
          try await UploadCrashTests.upload(client, jobID: id, bytes: bytes, from: Int(acknowledged), pieceSize: 4_096)
            .bytesUploaded
        }
        #expect(whole == Int64(bytes.count))
        let seenByA = try await Self.job(id, port: a.grpcPort)
        #expect(seenByA.bytesUploaded == Int64(bytes.count))
        #expect(seenByA.state == .open)
      }

      // A watch of the one-chunk job on every instance, each open (its first update read)
      // before the jobs are closed.
      let watched = ids[2]
      var watches: [String: Task<Result<[Job], any Error>, Never>] = [:]
      defer { for watch in watches.values { watch.cancel() } }
      for instance in fleet.instances {
        let (opened, watch) = Self.watch(watched, port: instance.grpcPort)
        for await _ in opened {}
        watches[instance.name] = watch
      }
      try await ServerEndToEndTests.withClient(port: c.grpcPort) { client in
        for id in ids {
          var close = Spectra_Bulk_V1_UpdateJobStateRequest()
          close.jobID = id
          close.state = .uploadComplete
          _ = try await client.updateJobState(close, metadata: ServerEndToEndTests.auth)
        }
      }

      // The instance applying the gated chunk holds its lease until it is killed.
      let gatedJob = ids[0]
      let gatedChunk = (Self.gatedID - 1) / Self.chunkRecords
      let killed = try await Self.poll("a live lease on chunk \(gatedChunk) of job \(gatedJob)", fleet: fleet) {
        try sql(
          """
          SELECT holder FROM spectra.leases
          WHERE job_id = '\(gatedJob)' AND chunk = \(gatedChunk) AND expires_at > now()
          """
        ).first?.first
      }
      try #require(fleet.instances.contains { $0.name == killed }, "the lease's holder \(killed) is no instance")
      #expect(fleet.kill(killed) == 128 + SIGKILL)
      // What it held when it died stays in the catalog until the leases expire.
      let heldAtDeath = try sql(
        "SELECT job_id, chunk FROM spectra.leases WHERE holder = '\(killed)' AND chunk >= 0 ORDER BY job_id, chunk"
      )
      #expect(heldAtDeath.contains([gatedJob, String(gatedChunk)]), "\(heldAtDeath)")
      _ = try sql("DELETE FROM public.fleet_gate")

      let survivors = fleet.instances.filter { $0.name != killed }
      var finished: [Job] = []
      for id in ids {
        finished.append(try await Self.finished(id, port: survivors[0].grpcPort))
      }
      for (plan, job) in zip(Self.plans, finished) {
        #expect(job.state == .jobComplete, "\(job.jobID): \(job.errorMessage)\n\(fleet.logTails())")
        #expect(job.numberRecordsProcessed == Int64(plan.records))
        #expect(job.numberRecordsFailed == (plan.failingID == nil ? 0 : 1))
      }

      // Every record applied once: in the tables, and in exactly one result set.
      #expect(try sql("SELECT count(*), count(DISTINCT id) FROM tenant_123.customers") == [["1050", "1050"]])
      #expect(try sql("SELECT count(*), sum(updates) FROM tenant_123.accounts") == [["600", "0"]])
      try await ServerEndToEndTests.withClient(port: survivors[1].grpcPort) { client in
        for (plan, job) in zip(Self.plans, finished) {
          let successful = try await Self.results(job.jobID, .successful, client: client)
          #expect(successful.ids.sorted() == Array(plan.ids), "\(job.jobID): successful results")
          if plan.operation == .upsert { #expect(successful.column("_created").allSatisfy { $0 == "true" }) }
          let failed = try await Self.results(job.jobID, .failed, client: client)
          #expect(failed.ids == (plan.failingID.map { [$0] } ?? []), "\(job.jobID): failed results")
          #expect(try await Self.results(job.jobID, .unprocessed, client: client).ids.isEmpty)
        }
      }

      // The work was spread: each chunk recorded once, by at least two instances overall, and the
      // killed instance's gated chunk by another.
      let chunks = try sql("SELECT job_id, chunk, holder, completed FROM spectra.chunks ORDER BY job_id, chunk")
      for job in finished {
        let rows = chunks.filter { $0[0] == job.jobID }
        #expect(rows.map { Int($0[1]) } == Array(0 ..< Int(job.numberChunks)), "\(job.jobID): \(rows)")
        #expect(rows.allSatisfy { $0[3] == "t" }, "\(job.jobID): \(rows)")
      }
      let holders = Set(chunks.map { $0[2] })
      #expect(holders.count >= 2, "chunks recorded by \(holders) only: \(chunks)")
      let gatedRow = chunks.first { $0[0] == gatedJob && $0[1] == String(gatedChunk) }
      #expect(gatedRow != nil && gatedRow?[2] != killed, "the gated chunk: \(gatedRow ?? [])")

      // A survivor that ran no chunk of the watched job saw its progress all the same.
      let ranWatched = Set(chunks.filter { $0[0] == watched }.map { $0[2] })
      let onlookers = survivors.filter { !ranWatched.contains($0.name) }
      #expect(!onlookers.isEmpty, "every survivor ran a chunk of \(watched): \(chunks)")
      for onlooker in onlookers {
        let watch = try #require(watches[onlooker.name])
        let updates = try await watch.value.get()
        #expect(updates.contains { $0.state == .inProgress }, "\(onlooker.name) saw \(updates.map(\.state))")
        let last = try #require(updates.last)
        #expect(last.state == .jobComplete)
        #expect(last.numberRecordsProcessed == Int64(Self.plans[2].records))
        #expect(last.numberRecordsFailed == 0)
      }

      let statuses = fleet.stop()
      for survivor in survivors {
        #expect(statuses[survivor.name] == 0, "\(survivor.name) stopped with \(statuses)\n\(fleet.logTails())")
      }
    }
  }

  /// Creates `bucket` with a plain request (this moto checks no signatures).
  static func createBucket(_ bucket: String, on moto: MotoServer) async throws {
    var request = URLRequest(url: URL(string: "\(moto.endpoint)/\(bucket)")!)
    request.httpMethod = "PUT"
    let (_, response) = try await URLSession.shared.data(for: request)
    try #require((response as? HTTPURLResponse)?.statusCode == 200)
  }

  /// The job `id` as instance `port` reads it.
  static func job(_ id: String, port: Int) async throws -> Job {
    try await ServerEndToEndTests.withClient(port: port) { client in
      var request = Spectra_Bulk_V1_GetJobRequest()
      request.jobID = id
      return try await client.getJob(request, metadata: ServerEndToEndTests.auth)
    }
  }

  /// Watches job `id` on instance `port` until its state is terminal (or the instance is
  /// killed); `opened` ends once the first update (the job as the watch began) is read.
  static func watch(
    _ id: String,
    port: Int
  ) -> (opened: AsyncStream<Void>, watch: Task<Result<[Job], any Error>, Never>) {
    let (opened, continuation) = AsyncStream.makeStream(of: Void.self)
    let watch = Task { () -> Result<[Job], any Error> in
      defer { continuation.finish() }
      do {
        return .success(
          try await ServerEndToEndTests.withClient(port: port) { client in
            var request = Spectra_Bulk_V1_WatchJobRequest()
            request.jobID = id
            return try await client.watchJob(request, metadata: ServerEndToEndTests.auth) { response in
              var updates: [Job] = []
              for try await update in response.messages {
                updates.append(update)
                continuation.finish()
                if Self.isTerminal(update.state) { break }
              }
              return updates
            }
          }
        )
      } catch {
        return .failure(error)
      }
    }
    return (opened, watch)
  }

  /// Job `id` once terminal, followed with `WatchJob` on instance `port`.
  static func finished(_ id: String, port: Int) async throws -> Job {
    let (_, watch) = Self.watch(id, port: port)
    let updates = try await watch.value.get()
    return try #require(updates.last)
  }

  static func isTerminal(_ state: Spectra_Bulk_V1_JobState) -> Bool {
    [.jobComplete, .failed, .aborted].contains(state)
  }

  /// A result set as CSV rows under its header.
  struct ResultRows {
    var header: [String]
    var rows: [[String]]

    /// The values of `column`, one per record.
    func column(_ name: String) -> [String] {
      guard let index = self.header.firstIndex(of: name) else { return [] }
      return self.rows.map { $0[index] }
    }

    /// The `id` of each record; its column follows `_record` and `_created` or `_error`, whose
    /// message may hold commas, so it is counted from the end.
    var ids: [Int] {
      guard let index = self.header.firstIndex(of: "id") else { return [] }
      let fromEnd = self.header.count - index
      return self.rows.compactMap { Int($0[$0.count - fromEnd]) }
    }
  }

  /// All of job `id`'s result set `set`, in one call.
  static func results(_ id: String, _ set: Spectra_Bulk_V1_ResultSet, client: Client) async throws -> ResultRows {
    var request = Spectra_Bulk_V1_GetJobResultsRequest()
    request.jobID = id
    request.resultSet = set
    let text = try await client.getJobResults(request, metadata: ServerEndToEndTests.auth) { response in
      var data = Data()
      for try await chunk in response.messages { data.append(chunk.data) }
      return String(decoding: data, as: UTF8.self)
    }
    let lines = text.split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    return ResultRows(header: lines.first ?? [], rows: Array(lines.dropFirst()))
  }

  /// The value `probe` finds in the catalog, asked every 50 ms for at most two minutes.
  static func poll<T>(_ what: String, fleet: ServerFleet, _ probe: () throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
      if let found = try probe() { return found }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw NotSeen(what: what, logs: fleet.logTails())
  }

  /// What ``poll(_:fleet:_:)`` waited for in vain, with the instances' logs.
  struct NotSeen: Error, CustomStringConvertible {
    var what: String
    var logs: String
    var description: String { "no \(self.what) within two minutes\n\(self.logs)" }
  }
}
