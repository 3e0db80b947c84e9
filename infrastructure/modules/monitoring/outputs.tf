output "notification_channels" {
  description = "Ids of the notification channels every alert policy notifies."
  value       = local.channels
}

output "alert_policies" {
  description = "Alert policy ids by signal."
  value = {
    error_rate        = google_monitoring_alert_policy.error_rate.id
    latency           = google_monitoring_alert_policy.latency.id
    instances         = google_monitoring_alert_policy.instances.id
    redis_memory      = google_monitoring_alert_policy.redis_memory.id
    redis_connections = google_monitoring_alert_policy.redis_connections.id
  }
}

output "dashboard_id" {
  description = "The standing dashboard's id."
  value       = google_monitoring_dashboard.service.id
}
