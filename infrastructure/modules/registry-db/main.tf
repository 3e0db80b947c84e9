# The deployment registry's shared PostgreSQL on Cloud SQL: private IP only, IAM database authentication (no
# passwords), point-in-time recovery, and one database user per on-call engineer and for the deployer.

locals {
  tiers = {
    dev        = "db-f1-micro"
    staging    = "db-g1-small"
    production = "db-custom-1-3840"
  }
  tier              = coalesce(var.tier, local.tiers[var.environment])
  availability_type = coalesce(var.availability_type, var.environment == "production" ? "REGIONAL" : "ZONAL")

  # Cloud SQL names a service account's database user by its email without ".gserviceaccount.com".
  deployer_user = var.deployer_service_account == null ? null : trimsuffix(var.deployer_service_account, ".gserviceaccount.com")

  # IAM principals that connect: people as user:, the deployer as serviceAccount:.
  members = concat(
    [for email in var.operators : "user:${email}"],
    var.deployer_service_account == null ? [] : ["serviceAccount:${var.deployer_service_account}"],
  )
  # roles/cloudsql.client opens the connection (Cloud SQL connectors), roles/cloudsql.instanceUser lets the
  # IAM identity log in to the database.
  member_roles = {
    for pair in setproduct(["roles/cloudsql.client", "roles/cloudsql.instanceUser"], local.members) :
    "${pair[0]} ${pair[1]}" => { role = pair[0], member = pair[1] }
  }
}

# Private services access: Cloud SQL's private IP comes from a range reserved in the VPC and peered with
# Google's service producer network. A network has one such connection; when it exists already (Memorystore
# uses it too), create_private_service_access = false and the instance takes an address from its ranges.
resource "google_compute_global_address" "private_services" {
  count = var.create_private_service_access ? 1 : 0

  project       = var.project_id
  name          = "${var.instance_name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_service_access_prefix_length
  network       = var.network_id
}

resource "google_service_networking_connection" "private_services" {
  count = var.create_private_service_access ? 1 : 0

  network                 = var.network_id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services[0].name]
}

resource "google_sql_database_instance" "registry" {
  #checkov:skip=CKV_GCP_79:PostgreSQL 15 is the version issue 14 settles on (community support to November 2027); a major upgrade is its own reviewed change, not a side effect of a scan.
  project             = var.project_id
  name                = var.instance_name
  region              = var.region
  database_version    = "POSTGRES_15"
  deletion_protection = true

  settings {
    tier                        = local.tier
    edition                     = "ENTERPRISE"
    availability_type           = local.availability_type
    disk_autoresize             = true
    deletion_protection_enabled = true
    user_labels = merge(var.labels, {
      app         = "opsconsole"
      component   = "deployment-registry"
      environment = var.environment
    })

    # No public IP. Only the Cloud SQL connectors and the Auth Proxy get in: they present a short-lived client
    # certificate the instance signed, which TRUSTED_CLIENT_CERTIFICATE_REQUIRED demands (a stricter
    # ENCRYPTED_ONLY); a plain psql with an IAM token is refused, so connect through cloud-sql-proxy instead.
    ip_configuration {
      ipv4_enabled       = false
      private_network    = var.network_id
      allocated_ip_range = var.create_private_service_access ? google_compute_global_address.private_services[0].name : null
      ssl_mode           = "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = var.backup_start_time
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.transaction_log_retention_days

      backup_retention_settings {
        retained_backups = var.retained_backups
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = var.maintenance_day
      hour         = var.maintenance_hour
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    # Each person and the deployer log in as their own Google identity with a short-lived token.
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }

    # What happened on the database, in Cloud Logging: connections, locks, temporary files, errors, and DDL.
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "warning"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    # Each statement's duration without its text (log_duration); never the text with its parameters for being
    # slow (log_min_duration_statement = -1): Query Insights shows slow queries normalised.
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    # Loads pgAudit; it logs once the owner runs CREATE EXTENSION pgaudit and sets pgaudit.log.
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
  }

  depends_on = [google_service_networking_connection.private_services]
}

# ABANDON: a `terraform destroy` or a renamed resource never drops the registry's history; dropping it is
# a deliberate act in the database.
resource "google_sql_database" "opsconsole" {
  project         = var.project_id
  name            = "opsconsole"
  instance        = google_sql_database_instance.registry.name
  deletion_policy = "ABANDON"
}

resource "google_sql_user" "operator" {
  for_each = toset(var.operators)

  project  = var.project_id
  instance = google_sql_database_instance.registry.name
  name     = each.value
  type     = "CLOUD_IAM_USER"
}

resource "google_sql_user" "deployer" {
  count = var.deployer_service_account == null ? 0 : 1

  project  = var.project_id
  instance = google_sql_database_instance.registry.name
  name     = local.deployer_user
  type     = "CLOUD_IAM_SERVICE_ACCOUNT"
}

resource "google_project_iam_member" "registry" {
  for_each = local.member_roles

  project = var.project_id
  role    = each.value.role
  member  = each.value.member
}
