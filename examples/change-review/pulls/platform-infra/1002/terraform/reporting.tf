resource "aws_s3_bucket" "reports" {
  bucket = "zyx-dev-reports"
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
  }
}

data "aws_iam_policy_document" "report_reader" {
  statement {
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
  }
}

resource "aws_iam_policy" "report_reader" {
  name   = "zyx-dev-report-reader"
  policy = data.aws_iam_policy_document.report_reader.json
}

resource "aws_security_group" "reporting" {
  name   = "zyx-dev-reporting"
  vpc_id = "vpc-0a1b2c3d4e5f60718"

  ingress {
    description = "HTTPS from the corporate network"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.8.0.0/22"]
  }
}

resource "aws_cloudwatch_log_group" "reporting" {
  name              = "/zyx/dev/reporting"
  retention_in_days = 90
}

resource "aws_ebs_volume" "reporting_cache" {
  availability_zone = "ap-southeast-1a"
  size              = 50
  encrypted         = true
}
