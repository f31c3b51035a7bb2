internal import Foundation

/// The quickstart's embedded warehouse: tables `customers` and `sales` with a few rows in the
/// tenant's SQLite file. Seeding again changes nothing that is already there.
package enum DemoWarehouse {
  /// Creates `<directory>/<tenantID>.sqlite` with the demo tables, if they are missing.
  package static func seed(directory: String, tenantID: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let connection = try SQLiteConnection(path: "\(directory)/\(tenantID).sqlite")
    try connection.execute("PRAGMA journal_mode = WAL")
    try connection.transaction {
      try connection.execute(
        """
        CREATE TABLE IF NOT EXISTS customers (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          email TEXT UNIQUE,
          created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE TABLE IF NOT EXISTS sales (
          id INTEGER PRIMARY KEY,
          customer_id INTEGER NOT NULL REFERENCES customers (id),
          amount NUMERIC NOT NULL,
          sold_at TEXT NOT NULL
        );
        INSERT OR IGNORE INTO customers (id, name, email, created_at) VALUES
          (1, 'Ada Lovelace', 'ada@example.com', '2024-01-05T09:00:00Z'),
          (2, 'Grace Hopper', 'grace@example.com', '2024-02-11T10:30:00Z'),
          (3, 'Alan Turing', 'alan@example.com', '2024-03-17T14:15:00Z');
        INSERT OR IGNORE INTO sales (id, customer_id, amount, sold_at) VALUES
          (1, 1, 120.50, '2024-04-01T12:00:00Z'),
          (2, 2, 89.99, '2024-04-02T15:20:00Z'),
          (3, 1, 42.00, '2024-04-03T08:45:00Z'),
          (4, 3, 310.25, '2024-04-04T17:05:00Z');
        """
      )
    }
  }
}
