output "service_url" {
  description = "HTTPS URL Cloud Run assigned to the service (the frontend connects with wss:// on the same host)."
  value       = google_cloud_run_v2_service.websocket.uri
}

output "service_account_email" {
  description = "Identity the revisions run as."
  value       = google_service_account.websocket.email
}

output "scaling" {
  description = "Scaling: instance bounds, the CPU utilisation target in percent, and the revision annotation that carries it (a fraction, as gcloud's --scaling-cpu-target: 0.7 for 70 %)."
  value = {
    min_instances      = var.min_instances
    max_instances      = var.max_instances
    cpu_target_percent = floor(var.cpu_utilization_target * 100 + 0.5)
    cpu_target_annotation = {
      "run.googleapis.com/scaling-cpu-target" = tostring(var.cpu_utilization_target)
    }
  }
}

output "service_name" {
  description = "Cloud Run service name."
  value       = google_cloud_run_v2_service.websocket.name
}
