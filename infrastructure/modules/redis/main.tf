# Memorystore for Redis: reachable only from the environment's VPC (direct peering with the authorised
# network), AUTH on, and TLS between client and server. Cloud Run reaches it through Direct VPC egress.
#
# The AUTH string is Google-generated. The provider reads it into the state as a sensitive attribute
# (auth_string), so the state bucket must stay as restricted as the secret: only the deployer and operators
# read it. Terraform never writes it anywhere else; the redis-url secret's version
# is added by hand (the rediss scheme with the AUTH string, host and port), see the README.

variable "project_id" {
  description = "Google Cloud project of the instance."
  type        = string
}

variable "region" {
  description = "Region of the instance (the Cloud Run region)."
  type        = string
}

variable "name" {
  description = "Instance id."
  type        = string
}

variable "network_id" {
  description = "VPC network the instance is authorised on (projects/P/global/networks/N)."
  type        = string
}

variable "tier" {
  description = "BASIC (one node, no failover: dev) or STANDARD_HA (a replica in another zone, automatic failover)."
  type        = string

  validation {
    condition     = contains(["BASIC", "STANDARD_HA"], var.tier)
    error_message = "tier must be BASIC or STANDARD_HA."
  }
}

variable "memory_size_gb" {
  description = "Memory of the instance in GiB (1 to 300)."
  type        = number

  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300 && floor(var.memory_size_gb) == var.memory_size_gb
    error_message = "memory_size_gb must be a whole number from 1 to 300."
  }
}

variable "redis_version" {
  description = "Redis version."
  type        = string
  default     = "REDIS_7_2"
}

variable "labels" {
  description = "Labels on the instance."
  type        = map(string)
  default     = {}
}

resource "google_redis_instance" "cache" {
  project        = var.project_id
  name           = var.name
  region         = var.region
  tier           = var.tier
  memory_size_gb = var.memory_size_gb
  redis_version  = var.redis_version
  labels         = var.labels

  authorized_network = var.network_id
  connect_mode       = "DIRECT_PEERING"

  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 3
        minutes = 0
      }
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}

output "host" {
  description = "Private IP the service connects to."
  value       = google_redis_instance.cache.host
}

output "port" {
  description = "Port (TLS)."
  value       = google_redis_instance.cache.port
}

output "id" {
  description = "Instance id (projects/P/locations/R/instances/N), for monitoring filters."
  value       = google_redis_instance.cache.id
}

output "name" {
  description = "Instance name."
  value       = google_redis_instance.cache.name
}
