output "connection_name" {
  description = "Instance connection name, PROJECT:REGION:INSTANCE, as the Cloud SQL connectors take it."
  value       = google_sql_database_instance.registry.connection_name
}

output "registry_url" {
  description = "The registry location the console takes (--registry, OPSCONSOLE_REGISTRY or registry in opsconsole.toml), with USER replaced by the person's IAM identity, @ written %40 (postgresql://alice%40example.com@/opsconsole?cloudsql_instance=...): each person connects as themselves, with no password."
  value       = "postgresql://USER@/${google_sql_database.opsconsole.name}?cloudsql_instance=${google_sql_database_instance.registry.connection_name}"
}

output "private_ip_address" {
  description = "The instance's private IP in the VPC (it has no public IP)."
  value       = google_sql_database_instance.registry.private_ip_address
}

output "database" {
  description = "Name of the registry's database."
  value       = google_sql_database.opsconsole.name
}

output "database_users" {
  description = "IAM identity -> the database user it logs in as (the names a GRANT of opsconsole_dev, opsconsole_staging or opsconsole_production takes)."
  value = merge(
    { for email, user in google_sql_user.operator : email => user.name },
    var.deployer_service_account == null ? {} : { (var.deployer_service_account) = google_sql_user.deployer[0].name },
  )
}
