# The environment's standing dashboard. Its Cloud Run panels are the console's (core/providers/dashboards.py:
# 5xx rate as 5xx / all requests, latency p50 and p99, requests per second; same metrics, aligners, reducers
# and 60 s alignment), but over every revision, grouped by revision, where the console's own dashboard
# (opsconsole-ENV, which it rewrites on each deployment) shows one row for the canary and one for the stable
# revision. Below them: instances, and Redis memory and clients.

locals {
  request_count = "metric.type=\"run.googleapis.com/request_count\" resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${var.service_name}\""
  latencies     = "metric.type=\"run.googleapis.com/request_latencies\" resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${var.service_name}\""
  rate_by_revision = {
    alignmentPeriod    = "60s"
    perSeriesAligner   = "ALIGN_RATE"
    crossSeriesReducer = "REDUCE_SUM"
    groupByFields      = ["resource.labels.revision_name"]
  }
  panels = [
    {
      title = "5xx rate by revision"
      query = {
        timeSeriesFilterRatio = {
          numerator   = { filter = "${local.request_count} metric.labels.response_code_class=\"5xx\"", aggregation = local.rate_by_revision }
          denominator = { filter = local.request_count, aggregation = local.rate_by_revision }
        }
      }
    },
    {
      title = "latency p50 by revision"
      query = {
        timeSeriesFilter = {
          filter      = local.latencies
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_PERCENTILE_50", crossSeriesReducer = "REDUCE_MAX", groupByFields = ["resource.labels.revision_name"] }
        }
      }
    },
    {
      title = "latency p99 by revision"
      query = {
        timeSeriesFilter = {
          filter      = local.latencies
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_PERCENTILE_99", crossSeriesReducer = "REDUCE_MAX", groupByFields = ["resource.labels.revision_name"] }
        }
      }
    },
    {
      title = "requests per second by revision"
      query = {
        timeSeriesFilter = { filter = local.request_count, aggregation = local.rate_by_revision }
      }
    },
    {
      title = "instances"
      query = {
        timeSeriesFilter = {
          filter      = "metric.type=\"run.googleapis.com/container/instance_count\" resource.type=\"cloud_run_revision\" resource.labels.service_name=\"${var.service_name}\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX", crossSeriesReducer = "REDUCE_SUM", groupByFields = ["metric.labels.state"] }
        }
      }
    },
    {
      title = "Redis memory usage ratio"
      query = {
        timeSeriesFilter = {
          filter      = "metric.type=\"redis.googleapis.com/stats/memory/usage_ratio\" resource.type=\"redis_instance\" resource.labels.instance_id=\"${var.redis_instance_id}\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
        }
      }
    },
    {
      title = "Redis connected clients"
      query = {
        timeSeriesFilter = {
          filter      = "metric.type=\"redis.googleapis.com/clients/connected\" resource.type=\"redis_instance\" resource.labels.instance_id=\"${var.redis_instance_id}\""
          aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
        }
      }
    },
  ]
}

resource "google_monitoring_dashboard" "service" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "agent-network ${var.environment}: ${var.service_name} and Redis"
    labels      = { agent-network = "", (var.environment) = "" }
    mosaicLayout = {
      columns = 48
      tiles = [
        for i, panel in local.panels : {
          xPos   = (i % 4) * 12
          yPos   = floor(i / 4) * 16
          width  = 12
          height = 16
          widget = {
            title   = panel.title
            xyChart = { dataSets = [{ timeSeriesQuery = panel.query, plotType = "LINE" }] }
          }
        }
      ]
    }
  })
}
