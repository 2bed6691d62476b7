resource "aws_cloudwatch_log_group" "artifact_service" {
  name = "/zyx/dev/artifact-service"
}
