# Lets the CI role publish change artifacts.
resource "aws_iam_policy" "artifact_writer" {
  name        = "zyx-dev-artifact-writer"
  description = "CI publishes change artifacts"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ArtifactWrite"
        Effect   = "Allow"
        Action   = ["s3:*"]
        Resource = [aws_s3_bucket.change_artifacts.arn, "${aws_s3_bucket.change_artifacts.arn}/*"]
      }
    ]
  })
}
