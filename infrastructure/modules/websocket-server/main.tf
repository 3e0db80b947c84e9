# The WebSocket server on Cloud Run (Admin API v2), its own service account, and its secrets by reference.

resource "google_service_account" "websocket" {
  project      = var.project_id
  account_id   = "${var.service_name}-run"
  display_name = "Cloud Run identity of ${var.service_name}"
}

# The service account reads exactly the secrets its environment variables name, nothing else.
resource "google_secret_manager_secret_iam_member" "websocket" {
  for_each = var.secret_env

  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.websocket.email}"
}

resource "google_cloud_run_v2_service" "websocket" {
  project             = var.project_id
  name                = var.service_name
  location            = var.region
  ingress             = var.ingress
  deletion_protection = true

  template {
    service_account = google_service_account.websocket.email
    # WebSocket connections live long: one instance holds many, and a request may last the full hour.
    max_instance_request_concurrency = 250
    timeout                          = "3600s"
    session_affinity                 = true

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    # Direct VPC egress: instances get addresses in the subnet, so private ranges (Memorystore's peered
    # range) are reached through the VPC and everything else (Firebase, Google APIs) goes out directly.
    vpc_access {
      network_interfaces {
        network    = var.vpc_network
        subnetwork = var.vpc_subnet
      }
      egress = "PRIVATE_RANGES_ONLY"
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.cpu_limit
          memory = var.memory_limit
        }
        # Connections stay open between messages, so CPU must not be throttled between requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.plain_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value.secret
              version = env.value.version
            }
          }
        }
      }

      startup_probe {
        http_get {
          path = "/healthz"
        }
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  # The console moves traffic between revisions (blue-green, canary); Terraform must not undo that.
  # The CPU utilisation target (var.cpu_utilization_target) has no field in Cloud Run's v2 API, which this
  # resource uses, and v2 rejects `run.googleapis.com/*` annotations; Cloud Run takes it as the revision
  # annotation run.googleapis.com/scaling-cpu-target through the v1 (Knative) API, which
  # cloud-run/websocket-service.yaml sets. Terraform leaves the revision annotations to that.
  lifecycle {
    ignore_changes = [traffic, template[0].containers[0].image, template[0].annotations, client, client_version]
  }

  depends_on = [google_secret_manager_secret_iam_member.websocket]
}

# Who may deploy revisions and move traffic here: the CI deployer and the environment's people
# (var.deployers). run.developer on this service only, and actAs on its runtime identity, which a revision
# needs to run as it.
resource "google_cloud_run_v2_service_iam_member" "deployer" {
  for_each = toset(var.deployers)

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.websocket.name
  role     = "roles/run.developer"
  member   = each.value
}

resource "google_service_account_iam_member" "deployer" {
  for_each = toset(var.deployers)

  service_account_id = google_service_account.websocket.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# Public on purpose: browsers open WebSocket connections directly, and the server authenticates each
# connection with a Firebase ID token. Set public = false to put it behind IAM instead.
resource "google_cloud_run_v2_service_iam_member" "public" {
  count = var.public ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.websocket.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
