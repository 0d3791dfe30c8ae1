variable "name" {
  description = "Full function name, already prefixed with the environment."
  type        = string
}

variable "handler" {
  description = "Python handler, module.function."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime identifier."
  type        = string
  default     = "python3.12"
}

variable "s3_bucket" {
  description = "Bucket holding the artifact zips."
  type        = string
}

variable "s3_key" {
  description = "Key of this function's zip, <sha>/<function>.zip."
  type        = string
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 30
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256
}

variable "environment_variables" {
  description = "Environment variables; the only way the function learns resource names."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "Least-privilege policy for exactly what this function's code does."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
}

variable "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  type        = string
}

variable "reserved_concurrency" {
  description = "Reserved concurrency; -1 leaves it unreserved."
  type        = number
  default     = -1
}
