variable "project_id" {
  description = "Google Cloud project that holds the registry's Cloud SQL instance."
  type        = string
}

variable "region" {
  description = "Cloud SQL region, such as us-central1."
  type        = string
}

variable "instance_name" {
  description = "Cloud SQL instance name (a deleted instance's name cannot be used again for a week)."
  type        = string
  default     = "opsconsole-registry"
}

variable "environment" {
  description = "How the instance is sized and kept: dev gets a small shared-core zonal instance, production a dedicated regional (high-availability) one."
  type        = string
  default     = "production"

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be dev, staging or production."
  }
}

variable "tier" {
  description = "Machine tier; null picks the environment's (dev db-f1-micro, staging db-g1-small, production db-custom-1-3840)."
  type        = string
  default     = null
}

variable "availability_type" {
  description = "REGIONAL (a standby in a second zone, automatic failover) or ZONAL; null picks REGIONAL in production and ZONAL otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.availability_type == null || contains(["REGIONAL", "ZONAL"], coalesce(var.availability_type, "ZONAL"))
    error_message = "availability_type must be REGIONAL, ZONAL or null."
  }
}

variable "network_id" {
  description = "Id of the existing VPC network the instance gets its private IP in (projects/PROJECT/global/networks/NAME); whoever connects must have a route into it."
  type        = string

  validation {
    condition     = can(regex("^projects/[^/]+/global/networks/[^/]+$", var.network_id))
    error_message = "network_id must be a network id: projects/PROJECT/global/networks/NAME."
  }
}

variable "create_private_service_access" {
  description = "Reserve an address range in the network and peer it with Google's service producer network. Set false when the network already has private services access (for example for Memorystore): a second connection would replace the first one's ranges."
  type        = bool
  default     = true
}

variable "private_service_access_prefix_length" {
  description = "Size of the reserved range when this module creates private services access (20 = a /20, room for other managed services)."
  type        = number
  default     = 20

  validation {
    condition     = var.private_service_access_prefix_length >= 16 && var.private_service_access_prefix_length <= 24
    error_message = "private_service_access_prefix_length must be from 16 to 24 (Cloud SQL needs at least a /24)."
  }
}

variable "operators" {
  description = "Email addresses of the on-call engineers: each becomes a Cloud SQL IAM user and may connect as themselves."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.operators : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "operators must be email addresses of Google accounts."
  }

  validation {
    condition     = alltrue([for email in var.operators : !endswith(email, ".gserviceaccount.com")])
    error_message = "operators are people; give the deployer service account as deployer_service_account."
  }
}

variable "deployer_service_account" {
  description = "Email of the service account CI deploys as (name@PROJECT.iam.gserviceaccount.com), or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.deployer_service_account == null || endswith(coalesce(var.deployer_service_account, "x"), ".gserviceaccount.com")
    error_message = "deployer_service_account must be a service account email ending in .gserviceaccount.com."
  }
}

variable "backup_start_time" {
  description = "Start of the daily backup window, HH:MM in UTC."
  type        = string
  default     = "03:00"
}

variable "retained_backups" {
  description = "Daily backups kept."
  type        = number
  default     = 14

  validation {
    condition     = var.retained_backups >= 7 && var.retained_backups <= 365
    error_message = "retained_backups must be from 7 to 365."
  }
}

variable "transaction_log_retention_days" {
  description = "Days of write-ahead log kept for point-in-time recovery (Enterprise edition allows 1 to 7)."
  type        = number
  default     = 7

  validation {
    condition     = var.transaction_log_retention_days >= 1 && var.transaction_log_retention_days <= 7
    error_message = "transaction_log_retention_days must be from 1 to 7."
  }
}

variable "maintenance_day" {
  description = "Day of the maintenance window, 1 (Monday) to 7 (Sunday)."
  type        = number
  default     = 7
}

variable "maintenance_hour" {
  description = "Hour of the maintenance window, 0 to 23 UTC."
  type        = number
  default     = 4
}

variable "labels" {
  description = "Labels added to the instance besides app, component and environment."
  type        = map(string)
  default     = {}
}
