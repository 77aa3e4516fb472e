/**
 * The load balancer: a public ALB with HTTPS (an ACM certificate for the environment's domain,
 * validated through DNS in its Route 53 zone, unless config names an existing certificate), HTTP
 * redirected to HTTPS, a target group per service with health checks tuned for fast rollouts, path
 * rules, and the domain's alias record.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsSettings, ServiceSettings } from "./settings.ts";

/** TLS 1.3 and 1.2 only. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Inputs of {@link LoadBalancer}. */
export interface LoadBalancerArgs {
  readonly domain: AwsSettings["domain"];
  readonly tuning: AwsSettings["loadBalancer"];
  readonly services: readonly ServiceSettings[];
  readonly vpcId: pulumi.Input<string>;
  readonly publicSubnetIds: pulumi.Input<string[]>;
  readonly securityGroupId: pulumi.Input<string>;
}

/** ALB, listeners, target groups, certificate and DNS of the environment. */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly loadBalancer: aws.lb.LoadBalancer;
  /** Each service with its target group, in config order. */
  readonly targets: readonly {
    readonly service: ServiceSettings;
    readonly targetGroup: aws.lb.TargetGroup;
  }[];
  /** The HTTPS listener and its rules: a service may only start once these route to it. */
  readonly routing: readonly pulumi.Resource[];

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:LoadBalancer", name, {}, opts);
    const parent = { parent: this };
    const { domain, tuning } = args;
    const zone = aws.route53.getZoneOutput({ name: domain.hostedZone, privateZone: false }, parent);

    this.loadBalancer = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: "application",
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [args.securityGroupId],
        idleTimeout: tuning.idleTimeoutSeconds,
        dropInvalidHeaderFields: true,
      },
      parent,
    );

    this.targets = args.services.map((svc) => ({
      service: svc,
      targetGroup: new aws.lb.TargetGroup(
        `${name}-${svc.name}`,
        {
          targetType: "ip",
          protocol: "HTTP",
          port: svc.containerPort,
          vpcId: args.vpcId,
          deregistrationDelay: tuning.deregistrationDelaySeconds,
          healthCheck: {
            enabled: true,
            protocol: "HTTP",
            path: svc.healthCheckPath,
            matcher: "200-399",
            interval: tuning.healthCheckIntervalSeconds,
            timeout: tuning.healthCheckTimeoutSeconds,
            healthyThreshold: tuning.healthyThreshold,
            unhealthyThreshold: tuning.unhealthyThreshold,
          },
        },
        parent,
      ),
    }));

    const certificateArn = domain.certificateArn ?? this.validatedCertificate(name, domain.name, zone.zoneId);

    new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [
          { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
        ],
      },
      parent,
    );
    const defaultGroup = this.targets.find((t) => t.service.pathPatterns.length === 0)?.targetGroup;
    const https = new aws.lb.Listener(
      `${name}-https`,
      {
        loadBalancerArn: this.loadBalancer.arn,
        port: 443,
        protocol: "HTTPS",
        sslPolicy: SSL_POLICY,
        certificateArn,
        defaultActions: [
          defaultGroup
            ? { type: "forward", targetGroupArn: defaultGroup.arn }
            : {
                type: "fixed-response",
                fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" },
              },
        ],
      },
      parent,
    );
    const rules = this.targets.flatMap(({ service: svc, targetGroup: group }, i) => {
      if (svc.pathPatterns.length === 0) return [];
      return [
        new aws.lb.ListenerRule(
          `${name}-${svc.name}`,
          {
            listenerArn: https.arn,
            priority: 100 + i,
            actions: [{ type: "forward", targetGroupArn: group.arn }],
            conditions: [{ pathPattern: { values: [...svc.pathPatterns] } }],
          },
          parent,
        ),
      ];
    });
    this.routing = [https, ...rules];

    new aws.route53.Record(
      `${name}-alias`,
      {
        zoneId: zone.zoneId,
        name: domain.name,
        type: "A",
        aliases: [
          { name: this.loadBalancer.dnsName, zoneId: this.loadBalancer.zoneId, evaluateTargetHealth: true },
        ],
      },
      parent,
    );
    this.registerOutputs({ dnsName: this.loadBalancer.dnsName });
  }

  /** An ACM certificate for `domainName`, validated by a DNS record in the zone. */
  private validatedCertificate(
    name: string,
    domainName: string,
    zoneId: pulumi.Input<string>,
  ): pulumi.Output<string> {
    const parent = { parent: this };
    const certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      { domainName, validationMethod: "DNS" },
      parent,
    );
    const option = certificate.domainValidationOptions.apply((options) => {
      const first = options[0];
      return {
        name: first?.resourceRecordName ?? "",
        type: first?.resourceRecordType ?? "CNAME",
        value: first?.resourceRecordValue ?? "",
      };
    });
    const record = new aws.route53.Record(
      `${name}-certificate-validation`,
      {
        zoneId,
        name: option.name,
        type: option.type,
        records: [option.value],
        ttl: 60,
        allowOverwrite: true,
      },
      parent,
    );
    return new aws.acm.CertificateValidation(
      `${name}-certificate`,
      { certificateArn: certificate.arn, validationRecordFqdns: [record.fqdn] },
      parent,
    ).certificateArn;
  }
}
