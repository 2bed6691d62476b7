resource "aws_security_group" "pilot_db" {
  name   = "zyx-dev-pilot-db"
  vpc_id = "vpc-0a1b2c3d4e5f60718"
}

resource "aws_vpc_security_group_ingress_rule" "pilot_postgres" {
  security_group_id = aws_security_group.pilot_db.id
  cidr_ipv6         = "::/0"
  from_port         = 5432
  to_port           = 5432
  ip_protocol       = "tcp"
}

resource "aws_security_group_rule" "pilot_rdp" {
  type              = "ingress"
  security_group_id = aws_security_group.pilot_db.id
  from_port         = 3380
  to_port           = 3390
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
