resource "aws_s3_bucket" "pilot_exports" {
  bucket = "zyx-dev-pilot-exports"
}

data "aws_iam_policy_document" "pilot_admin" {
  statement {
    effect    = "Allow"
    actions   = ["*"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "pilot_admin" {
  name   = "zyx-dev-pilot-admin"
  policy = data.aws_iam_policy_document.pilot_admin.json
}

resource "aws_iam_role_policy" "pilot_reader" {
  name = "pilot-reader"
  role = "zyx-dev-pilot"
  policy = <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "*" }
  ]
}
POLICY
}

resource "aws_db_instance" "pilot" {
  identifier        = "zyx-dev-pilot"
  engine            = "postgres"
  instance_class    = "db.t3.medium"
  allocated_storage = 20
  username          = "pilot"
  manage_master_user_password = true
}

resource "aws_ebs_volume" "pilot_data" {
  availability_zone = "ap-southeast-1a"
  size              = 100
}

resource "aws_cloudwatch_log_group" "pilot" {
  name = "/zyx/dev/pilot"
}
