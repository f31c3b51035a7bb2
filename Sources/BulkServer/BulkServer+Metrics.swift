internal import BulkHTTP
package import Prometheus

extension BulkServer {
  /// Creates the process's Prometheus registry and bootstraps swift-metrics with it; call once,
  /// before anything records a metric, and pass the registry to `init(…metrics:…)`.
  package static func bootstrapMetrics() -> PrometheusCollectorRegistry {
    HTTPSurface.bootstrapMetrics()
  }
}
