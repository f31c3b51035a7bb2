import BulkCore
import BulkPostgres
import Foundation
import Logging
import Testing

@Suite("SQLDialect")
struct SQLDialectTests {
  static let table = TableDescription(
    name: "orders",
    columns: [
      ColumnDescription(name: "id", declaredType: "integer", type: .integer, nullable: false, hasDefault: false),
      ColumnDescription(
        name: "name",
        declaredType: "character varying(40)",
        type: .text,
        nullable: true,
        hasDefault: false
      ),
      ColumnDescription(
        name: "amount",
        declaredType: "numeric(12,2)",
        type: .decimal,
        nullable: true,
        hasDefault: false
      ),
    ],
    primaryKey: ["id"],
    uniqueColumns: ["id"]
  )

  static func shape(_ operation: BulkCore.Operation, key: String = "id") throws -> ChunkShape {
    try ChunkShape(
      work: ChunkWork(
        jobID: "job-1",
        chunk: 0,
        operation: operation,
        table: Self.table,
        keyColumn: operation == .insert ? "" : key,
        columns: ["id", "name", "amount"],
        records: []
      ),
      schema: "acme"
    )
  }

  @Test("identifiers are quoted with embedded quotes doubled; literals double quotes and backslashes")
  func quoting() {
    #expect(Identifier.quoted("orders") == #""orders""#)
    #expect(Identifier.quoted(#"x"; DROP TABLE y; --"#) == #""x""; DROP TABLE y; --""#)
    #expect(SQLDialect.qualified("Tenant A", "Order Lines") == #""Tenant A"."Order Lines""#)
    #expect(SQLDialect.literal(#"s3://bucket/o'brien\x.csv"#) == #"'s3://bucket/o''brien\\x.csv'"#)
  }

  @Test(
    "cast types drop lengths so that the column's own limit applies",
    arguments: [
      ("integer", "integer"),
      ("character varying(12)", "character varying"),
      ("character(3)", "bpchar"),
      ("numeric(12,2)", "numeric"),
      ("numeric(5, -2)", "numeric"),
      ("timestamp(3) with time zone", "timestamp with time zone"),
      ("bit(4)", "bit varying"),
      ("character varying(5)[]", "character varying[]"),
      ("character(2)[][]", "bpchar[][]"),
      (#"acme."Mood(1)""#, #"acme."Mood(1)""#),
      ("interval day to second(3)", "interval day to second"),
    ]
  )
  func castType(declared: String, cast: String) {
    #expect(SQLDialect.castType(declared) == cast)
  }

  @Test("redshift:// URLs select Redshift and reach libpq as postgresql://")
  func urls() {
    #expect(
      SQLDialect.resolve(url: "redshift://loader@cluster.example:5439/dev", fallback: .postgres)
        == ("postgresql://loader@cluster.example:5439/dev", .redshift)
    )
    #expect(
      SQLDialect.resolve(url: "postgresql://postgres@127.0.0.1:5432/db", fallback: .postgres)
        == ("postgresql://postgres@127.0.0.1:5432/db", .postgres)
    )
    #expect(SQLDialect.resolve(url: "host=db dbname=x", fallback: .redshift) == ("host=db dbname=x", .redshift))
  }

  @Test("the PostgreSQL staging statements")
  func postgresStaging() throws {
    let update = PostgresChunkStatements(shape: try Self.shape(.update))
    #expect(
      update.createStaging
        == #"CREATE TEMPORARY TABLE "_spectra_staging" (_n bigint NOT NULL, _round integer NOT NULL DEFAULT 1, c0 integer, c1 text, c2 text) ON COMMIT DROP"#
    )
    #expect(update.copyIntoStaging == #"COPY pg_temp."_spectra_staging" (_n, c0, c1, c2) FROM STDIN"#)
    #expect(update.analyzeStaging == #"ANALYZE pg_temp."_spectra_staging" (_n, _round, c0)"#)
    #expect(
      update.markRounds
        == #"UPDATE pg_temp."_spectra_staging" AS s SET _round = d.round FROM (SELECT _n, row_number() OVER (PARTITION BY c0 ORDER BY _n) AS round FROM pg_temp."_spectra_staging") AS d WHERE s._n = d._n AND d.round > 1 RETURNING s._n, s._round"#
    )
    let insert = PostgresChunkStatements(shape: try Self.shape(.insert))
    #expect(insert.copyIntoTarget == #"COPY "acme"."orders" ("id", "name", "amount") FROM STDIN"#)
    #expect(insert.markRounds == nil)
    #expect(insert.analyzeStaging == #"ANALYZE pg_temp."_spectra_staging" (_n, _round)"#)
    #expect(insert.createStaging.contains("c0 text, c1 text, c2 text"))
  }

  @Test(
    "the PostgreSQL set-based statements",
    arguments: [
      (
        BulkCore.Operation.insert,
        #"INSERT INTO "acme"."orders" ("id", "name", "amount") SELECT s.c0::integer, s.c1::character varying, s.c2::numeric FROM pg_temp."_spectra_staging" AS s WHERE s._round = $1 AND s._n >= $2 AND s._n < $3 ORDER BY s._n"#
      ),
      (
        .update,
        #"UPDATE "acme"."orders" AS t SET "name" = s.c1::character varying, "amount" = s.c2::numeric FROM pg_temp."_spectra_staging" AS s WHERE t."id" = s.c0 AND s._round = $1 AND s._n >= $2 AND s._n < $3 RETURNING s._n"#
      ),
      (
        .delete,
        #"DELETE FROM "acme"."orders" AS t USING pg_temp."_spectra_staging" AS s WHERE t."id" = s.c0 AND s._round = $1 AND s._n >= $2 AND s._n < $3 RETURNING s._n"#
      ),
      (
        .upsert,
        #"WITH applied AS (INSERT INTO "acme"."orders" AS t ("id", "name", "amount") SELECT s.c0, s.c1::character varying, s.c2::numeric FROM pg_temp."_spectra_staging" AS s WHERE s._round = $1 AND s._n >= $2 AND s._n < $3 ORDER BY s._n ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "amount" = EXCLUDED."amount" RETURNING t."id" AS key, t.xmax = 0 AS created) SELECT s._n, a.created FROM applied AS a JOIN pg_temp."_spectra_staging" AS s ON s.c0 = a.key WHERE s._round = $1 AND s._n >= $2 AND s._n < $3"#
      ),
    ]
  )
  func postgresApply(operation: BulkCore.Operation, sql: String) throws {
    #expect(PostgresChunkStatements(shape: try Self.shape(operation)).apply == sql)
  }

  @Test("the Redshift staging table, typed like the target, its COPY from S3 and its checks")
  func redshiftStaging() throws {
    let statements = RedshiftChunkStatements(shape: try Self.shape(.upsert))
    #expect(
      statements.createStaging
        == #"CREATE TEMPORARY TABLE "_spectra_staging" (_n BIGINT NOT NULL, c0 integer, c1 character varying(40), c2 numeric(12,2))"#
    )
    #expect(
      statements.copyIntoStaging(
        manifestURL: "s3://spectra-staging/acme/job-1/load/chunk-0-1f/manifest",
        access: "IAM_ROLE 'arn:aws:iam::123456789012:role/SpectraLoader'",
        maxErrors: 500
      )
        == #"COPY "_spectra_staging" (_n, c0, c1, c2) FROM 's3://spectra-staging/acme/job-1/load/chunk-0-1f/manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/SpectraLoader' MANIFEST CSV GZIP NULL AS '\\N' MAXERROR 500 DATEFORMAT 'auto' TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF"#
    )
    #expect(
      statements.matchedRecords
        == #"SELECT s._n FROM "_spectra_staging" AS s WHERE EXISTS (SELECT 1 FROM "acme"."orders" WHERE "acme"."orders"."id" = s.c0) ORDER BY s._n"#
    )
    #expect(
      statements.repeatedKeys
        == #"SELECT d._n, d.first FROM (SELECT s._n, MIN(s._n) OVER (PARTITION BY s.c0) AS first FROM "_spectra_staging" AS s WHERE s.c0 IS NOT NULL) AS d WHERE d._n > d.first ORDER BY d._n"#
    )
    #expect(statements.nullRecords(column: 1) == #"SELECT _n FROM "_spectra_staging" WHERE c1 IS NULL ORDER BY _n"#)
    #expect(statements.removeRecords([3, 5]) == #"DELETE FROM "_spectra_staging" WHERE _n IN (3, 5)"#)
    #expect(statements.dropStaging == #"DROP TABLE IF EXISTS "_spectra_staging""#)
    let insert = RedshiftChunkStatements(shape: try Self.shape(.insert))
    #expect(insert.matchedRecords == nil)
    #expect(insert.repeatedKeys == nil)
  }

  @Test(
    "the Redshift MERGE, UPDATE … FROM, DELETE … USING and INSERT … SELECT",
    arguments: [
      (
        BulkCore.Operation.upsert,
        #"MERGE INTO "acme"."orders" USING "_spectra_staging" AS s ON "acme"."orders"."id" = s.c0 WHEN MATCHED THEN UPDATE SET "name" = s.c1, "amount" = s.c2 WHEN NOT MATCHED THEN INSERT ("id", "name", "amount") VALUES (s.c0, s.c1, s.c2)"#
      ),
      (
        .update,
        #"UPDATE "acme"."orders" SET "name" = s.c1, "amount" = s.c2 FROM "_spectra_staging" AS s WHERE "acme"."orders"."id" = s.c0"#
      ),
      (
        .delete,
        #"DELETE FROM "acme"."orders" USING "_spectra_staging" AS s WHERE "acme"."orders"."id" = s.c0"#
      ),
      (
        .insert,
        #"INSERT INTO "acme"."orders" ("id", "name", "amount") SELECT s.c0, s.c1, s.c2 FROM "_spectra_staging" AS s"#
      ),
    ]
  )
  func redshiftApply(operation: BulkCore.Operation, sql: String) throws {
    #expect(RedshiftChunkStatements(shape: try Self.shape(operation)).apply == sql)
  }

  @Test("the ledger statements of both dialects")
  func ledger() {
    let postgres = LedgerStatements(schema: "acme", dialect: .postgres)
    #expect(
      postgres.create
        == #"CREATE TABLE IF NOT EXISTS "acme"."_spectra_ledger" (job_id text NOT NULL, chunk integer NOT NULL, outcomes bytea NOT NULL, committed_at timestamp with time zone NOT NULL DEFAULT now(), PRIMARY KEY (job_id, chunk))"#
    )
    #expect(
      postgres.claimChunk
        == #"INSERT INTO "acme"."_spectra_ledger" (job_id, chunk, outcomes) VALUES ($1, $2::integer, ''::bytea) ON CONFLICT (job_id, chunk) DO NOTHING RETURNING chunk"#
    )
    #expect(
      postgres.recordChunk
        == #"UPDATE "acme"."_spectra_ledger" SET outcomes = pg_catalog.decode($3, 'hex'), committed_at = pg_catalog.now() WHERE job_id = $1 AND chunk = $2::integer"#
    )
    let redshift = LedgerStatements(schema: "acme", dialect: .redshift)
    #expect(
      redshift.create
        == #"CREATE TABLE IF NOT EXISTS "acme"."_spectra_ledger" (job_id VARCHAR(256) NOT NULL, chunk INTEGER NOT NULL, part INTEGER NOT NULL, outcomes VARCHAR(65535) NOT NULL, committed_at TIMESTAMP NOT NULL, PRIMARY KEY (job_id, chunk, part))"#
    )
    #expect(redshift.claimChunk == #"LOCK "acme"."_spectra_ledger""#)
    #expect(
      redshift.jobOutcomes
        == #"SELECT chunk, outcomes FROM "acme"."_spectra_ledger" WHERE job_id = $1 ORDER BY chunk, part"#
    )
    #expect(
      redshift.recordChunk
        == #"INSERT INTO "acme"."_spectra_ledger" (job_id, chunk, part, outcomes, committed_at) VALUES ($1, $2::integer, $3::integer, $4, $5::timestamp)"#
    )
  }

  @Test("a PostgreSQL warehouse on a Redshift URL sends loads to the Redshift warehouse, before it connects")
  func redshiftApplyNeedsS3() async throws {
    let warehouse = PostgresWarehouse(
      url: "redshift://loader@127.0.0.1:1/dev",
      poolSize: 1,
      logger: Logger(label: "test")
    )
    defer { warehouse.shutdown() }
    #expect(warehouse.dialect == .redshift)
    let work = ChunkWork(
      jobID: "job-1",
      chunk: 0,
      operation: .insert,
      table: Self.table,
      keyColumn: "",
      columns: ["id"],
      records: [ChunkRecord(number: 1, values: [.integer(1)])]
    )
    let error = await #expect(throws: PostgresError.self) {
      try await warehouse.apply(work, tenant: Tenant(id: "acme"))
    }
    #expect(error?.message.contains("--redshift-s3-prefix") == true)
    #expect(error?.isConnectionFailure == false)
  }
}
