variable "project_id" {
  description = "Google Cloud project that runs the WebSocket server."
  type        = string
}

variable "region" {
  description = "Cloud Run region, such as us-central1."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service name."
  type        = string
}

variable "image" {
  description = "Container image of the WebSocket server (the deploy pipeline moves revisions; this is the first one)."
  type        = string
}

variable "min_instances" {
  description = "Instances kept warm at all times; production needs at least 2 for high availability."
  type        = number
  default     = 2

  validation {
    condition     = var.min_instances >= 0 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number of instances, 0 or more."
  }
}

variable "max_instances" {
  description = "Upper bound of instances the autoscaler may start."
  type        = number
  default     = 20

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number from 1 to 1000."
  }
}

variable "cpu_utilization_target" {
  description = "CPU utilisation the autoscaler aims for, as a fraction (0.7 = 70 %; Cloud Run accepts 10 % to 95 %). Applied as the revision annotation run.googleapis.com/scaling-cpu-target (see main.tf and cloud-run/websocket-service.yaml); exported in the scaling output."
  type        = number
  default     = 0.7

  validation {
    condition     = var.cpu_utilization_target >= 0.1 && var.cpu_utilization_target <= 0.95
    error_message = "cpu_utilization_target must be a fraction from 0.1 to 0.95 (0.7 means 70 %)."
  }
}

variable "cpu_limit" {
  description = "CPU limit per instance, such as 1 or 2."
  type        = string
  default     = "1"
}

variable "memory_limit" {
  description = "Memory limit per instance, such as 512Mi."
  type        = string
  default     = "512Mi"
}

variable "ingress" {
  description = "Who may reach the service: browsers connect directly, so all traffic by default."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition = contains([
      "INGRESS_TRAFFIC_ALL",
      "INGRESS_TRAFFIC_INTERNAL_ONLY",
      "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    ], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "public" {
  description = "Let unauthenticated browsers open WebSocket connections (the server checks Firebase ID tokens itself)."
  type        = bool
  default     = true
}

variable "plain_env" {
  description = "Environment variables that are not secret (such as FIREBASE_PROJECT_ID)."
  type        = map(string)
  default     = {}
}

variable "secret_env" {
  description = "Environment variables read from Secret Manager: variable name -> secret id and version (never a value)."
  type = map(object({
    secret  = string
    version = string
  }))
  default = {}
}

variable "vpc_network" {
  description = "VPC network of Direct VPC egress (name or id): the one Memorystore is authorised on."
  type        = string
}

variable "vpc_subnet" {
  description = "Subnet of Direct VPC egress; instances take their addresses from it."
  type        = string
}

variable "deployers" {
  description = "IAM members who may deploy revisions and move traffic (roles/run.developer on the service, roles/iam.serviceAccountUser on its runtime service account): the CI deployer and the environment's people."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.deployers : can(regex("^(user|group|serviceAccount|principal|principalSet):", m))])
    error_message = "deployers must be IAM members such as group:operations@example.com or serviceAccount:NAME@PROJECT.iam.gserviceaccount.com (never allUsers)."
  }
}
