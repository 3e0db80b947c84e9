# The environment's VPC: one subnet that Cloud Run's Direct VPC egress puts its instances in, and that
# Memorystore for Redis is authorised on. Nothing in it has a public address.

variable "project_id" {
  description = "Google Cloud project of the network."
  type        = string
}

variable "region" {
  description = "Region of the subnet (the Cloud Run region)."
  type        = string
}

variable "name" {
  description = "Name of the network and its subnet."
  type        = string
}

variable "subnet_cidr" {
  description = "Primary range of the subnet. Direct VPC egress takes addresses from it: Google recommends a /26 or larger per service (about 2 addresses per instance)."
  type        = string
  default     = "10.8.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && tonumber(split("/", var.subnet_cidr)[1]) <= 26
    error_message = "subnet_cidr must be an IPv4 CIDR of /26 or larger, such as 10.8.0.0/24."
  }
}

variable "failover_region" {
  description = "Region recovery fails the service over to (the console's infrastructure.failover_region), or null. A subnet of the same name is made there: the failover copy's Direct VPC egress names the subnet, which Cloud Run looks up in the copy's own region."
  type        = string
  default     = null
}

variable "failover_subnet_cidr" {
  description = "Primary range of the failover region's subnet (/26 or larger, not overlapping subnet_cidr)."
  type        = string
  default     = "10.9.0.0/24"

  validation {
    condition     = can(cidrhost(var.failover_subnet_cidr, 0)) && tonumber(split("/", var.failover_subnet_cidr)[1]) <= 26
    error_message = "failover_subnet_cidr must be an IPv4 CIDR of /26 or larger, such as 10.9.0.0/24."
  }
}

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

# Nothing reaches into the network from outside: Cloud Run's instances only call out (to Redis), and
# Memorystore sits behind its own peering. Denied attempts are logged.
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "${var.name}-deny-ingress"
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }
  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_subnetwork" "run" {
  project                  = var.project_id
  name                     = "${var.name}-run"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  # Flow logs: who talked to whom from the service's instances (sampled, aggregated every 5 s).
  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# The same subnet in the failover region, so a region failover's copy of the service (which keeps the
# primary's network path: core/providers/cloudrun_failover.py) has somewhere to put its instances.
resource "google_compute_subnetwork" "run_failover" {
  count = var.failover_region == null ? 0 : 1

  project                  = var.project_id
  name                     = "${var.name}-run"
  region                   = var.failover_region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.failover_subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

output "network_id" {
  description = "Id of the VPC network (projects/P/global/networks/N)."
  value       = google_compute_network.vpc.id
}

output "network_name" {
  description = "Name of the VPC network."
  value       = google_compute_network.vpc.name
}

output "subnet_name" {
  description = "Name of the subnet Cloud Run's Direct VPC egress uses."
  value       = google_compute_subnetwork.run.name
}
