# Change artifacts for the development pipeline (CHG-18422).
resource "aws_s3_bucket" "change_artifacts" {
  bucket = "zyx-dev-change-artifacts"

  tags = {
    Environment = "development"
    Owner       = "platform"
  }
}

resource "aws_s3_bucket_versioning" "change_artifacts" {
  bucket = aws_s3_bucket.change_artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}
