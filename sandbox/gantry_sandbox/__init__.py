"""gantry sandbox: moto plus a behaviour layer emulating ECS/ELB/RDS/CloudWatch dynamics.

See ../SPEC.md for the rules implemented here.
"""

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
