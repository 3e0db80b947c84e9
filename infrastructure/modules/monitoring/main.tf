# Alerting and a dashboard for one environment: the WebSocket server's 5xx rate, p99 latency and instance
# count, and Redis memory and connections, each notifying Slack (and PagerDuty where on-call is paged).
#
# The notification channels' tokens come from Secret Manager (data sources). Cloud Monitoring needs the token
# itself, so it passes through Terraform as a sensitive label and is kept in the (restricted) state; it is in
# no file and no variable. Add the versions before the first apply:
#   gcloud secrets versions add monitoring-slack-token --data-file=-      (Slack app OAuth token, xoxb-...)
#   gcloud secrets versions add monitoring-pagerduty-key --data-file=-    (PagerDuty integration key)

locals {
  run_filter   = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\""
  redis_filter = "resource.type=\"redis_instance\" AND resource.labels.instance_id=\"${var.redis_instance_id}\""
  channels = concat(
    [for c in google_monitoring_notification_channel.slack : c.id],
    [for c in google_monitoring_notification_channel.pagerduty : c.id],
  )
  labels = {
    environment = var.environment
    service     = var.service_name
  }
}

data "google_secret_manager_secret_version" "slack_token" {
  count = var.slack_channel_name == null ? 0 : 1

  project = var.project_id
  secret  = var.slack_token_secret
}

data "google_secret_manager_secret_version" "pagerduty_key" {
  count = var.pagerduty_enabled ? 1 : 0

  project = var.project_id
  secret  = var.pagerduty_key_secret
}

resource "google_monitoring_notification_channel" "slack" {
  count = var.slack_channel_name == null ? 0 : 1

  project      = var.project_id
  display_name = "Slack ${var.slack_channel_name} (${var.environment})"
  type         = "slack"
  labels = {
    channel_name = var.slack_channel_name
  }
  sensitive_labels {
    auth_token = data.google_secret_manager_secret_version.slack_token[0].secret_data
  }
  user_labels = local.labels
}

resource "google_monitoring_notification_channel" "pagerduty" {
  count = var.pagerduty_enabled ? 1 : 0

  project      = var.project_id
  display_name = "PagerDuty on-call (${var.environment})"
  type         = "pagerduty"
  sensitive_labels {
    service_key = data.google_secret_manager_secret_version.pagerduty_key[0].secret_data
  }
  user_labels = local.labels
}

resource "google_monitoring_alert_policy" "error_rate" {
  project               = var.project_id
  display_name          = "${var.service_name} ${var.environment}: 5xx rate above ${var.error_rate_threshold * 100} %"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = local.labels

  conditions {
    display_name = "5xx responses / all responses"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_filter} AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_filter}"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_rate_threshold
      duration           = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "The WebSocket server in ${var.environment} answers more than ${var.error_rate_threshold * 100} % of requests with 5xx. Check `opsconsole status ${var.environment}`; during a deployment, `opsconsole rollback ${var.environment}`."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "latency" {
  project               = var.project_id
  display_name          = "${var.service_name} ${var.environment}: p99 latency above ${var.latency_p99_threshold_ms} ms"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = local.labels

  conditions {
    display_name = "p99 request latency"
    condition_threshold {
      # A WebSocket connection is one request as long as it stays open (its 101 response), so only the
      # HTTP requests that end (health checks, the upgrade refused, plain HTTP) are measured.
      filter          = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_filter} AND metric.labels.response_code_class!=\"1xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.latency_p99_threshold_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }

  documentation {
    content   = "p99 latency of the WebSocket server in ${var.environment} is above ${var.latency_p99_threshold_ms} ms."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "instances" {
  project               = var.project_id
  display_name          = "${var.service_name} ${var.environment}: instances near the maximum of ${var.max_instances}"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = local.labels

  conditions {
    display_name = "instance count"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/container/instance_count\" AND ${local.run_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = floor(var.max_instances * var.instance_ratio_threshold)
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  documentation {
    content   = "The WebSocket server in ${var.environment} runs more than ${var.instance_ratio_threshold * 100} % of its ${var.max_instances} instances: new connections queue or fail with 429 once it reaches them."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "redis_memory" {
  project               = var.project_id
  display_name          = "Redis ${var.environment}: memory above ${var.redis_memory_ratio_threshold * 100} %"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = local.labels

  conditions {
    display_name = "memory usage ratio"
    condition_threshold {
      filter          = "metric.type=\"redis.googleapis.com/stats/memory/usage_ratio\" AND ${local.redis_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.redis_memory_ratio_threshold
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Memorystore in ${var.environment} uses more than ${var.redis_memory_ratio_threshold * 100} % of its memory; keys are evicted next."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "redis_connections" {
  project               = var.project_id
  display_name          = "Redis ${var.environment}: more than ${var.redis_connections_threshold} clients"
  combiner              = "OR"
  notification_channels = local.channels
  user_labels           = local.labels

  conditions {
    display_name = "connected clients"
    condition_threshold {
      filter          = "metric.type=\"redis.googleapis.com/clients/connected\" AND ${local.redis_filter}"
      comparison      = "COMPARISON_GT"
      threshold_value = var.redis_connections_threshold
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Memorystore in ${var.environment} has more than ${var.redis_connections_threshold} connected clients."
    mime_type = "text/markdown"
  }
}
